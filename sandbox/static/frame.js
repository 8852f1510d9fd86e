/* Token-link mode: run the SDK around the test page shown in an IFRAME. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('link-data').textContent);
  var status = document.getElementById('frame-status');
  var frame = document.getElementById('test-frame');
  var finish = document.getElementById('finish');
  var supervisor = new Supervisor({ url: location.origin });
  window.supervisor = supervisor;

  supervisor.init({ provider: data.provider, token: data.token })
    .then(function () { return supervisor.start(); })
    .then(function () {
      if (!data.url) { status.textContent = 'The token names no url to show.'; return; }
      status.hidden = true;
      frame.src = data.url;  // the test is shown only once proctoring has started
      frame.hidden = false;
      finish.disabled = false;
    })
    .catch(function (err) { status.textContent = 'Proctoring could not start: ' + err.message; });

  finish.addEventListener('click', function () {
    finish.disabled = true;
    supervisor.stop()
      .then(function () { return supervisor.logout(); })
      .then(function (result) { location.href = result.referer || data.referrer || '/'; })
      .catch(function (err) { status.hidden = false; status.textContent = 'Finish failed: ' + err.message; finish.disabled = false; });
  });
})();
