/*
 * Token-link page: runs init() then start() and nothing else. A room with a `url` makes
 * the SDK's start() cover this page with the test in its own frame, with Finish in its
 * bar (the stand-in and the vendor's build alike), so this page draws no frame of its
 * own: it only says what is happening, and what to do when proctoring cannot start.
 */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('link-data').textContent);
  var status = document.getElementById('frame-status');
  var advice = document.getElementById('frame-advice');
  var back = document.getElementById('frame-back');
  // The SDK's named errors (contract §1.1): the student's equipment, which they can fix.
  var EQUIPMENT = ['Unsupported', 'WrongSize', 'NoRecorder', 'NoPicture', 'NoVideo', 'LowVolume',
    'NoAudio', 'NoCapture', 'Multiscreen', 'NoScreen', 'NoConnection', 'RtcError'];

  function fail(message, what) {
    status.textContent = message;
    advice.textContent = what;
    advice.hidden = false;
    if (data.referrer) {
      back.href = data.referrer;
      back.hidden = false;
    }
  }

  if (!data.url) {
    fail('This link names no test page (the token has no url).',
      'Go back to the portal and open the test through the proctoring service again.');
    return;
  }
  if (typeof Supervisor !== 'function') {
    fail('Proctoring could not start: the proctoring script did not load.',
      'Allow scripts from this site (a blocker may have stopped it), then reload this page.');
    return;
  }
  var supervisor = new Supervisor({ url: location.origin });
  window.supervisor = supervisor;  // for the browser's console, as on the portal's debug panel

  supervisor.init({ provider: data.provider, token: data.token })
    .then(function () { return supervisor.start(); })
    .then(function () { status.textContent = 'Proctoring started: the test is shown over this page.'; })
    .catch(function (err) {
      var equipment = EQUIPMENT.indexOf(err && err.name) >= 0;
      fail('Proctoring could not start: ' + ((err && err.message) || String(err)),
        equipment ? 'Fix the problem above (camera, microphone, screen or network), then reload this page.'
          : 'Reload this page; if it fails again, go back to the portal and open the test through the ' +
            'proctoring service again (each link works for a few minutes only).');
    });
})();
