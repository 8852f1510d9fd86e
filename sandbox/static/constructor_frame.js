/* Constructor proctor frame: poll the session; once finished, send the top window on. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('frame-data').textContent);
  var status = document.getElementById('frame-status');
  var timer = setInterval(function () {
    fetch(data.state, { credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || state.status === 'started' || state.status === 'created') return;
        clearInterval(timer);
        var target = state.finishUrl || data.finishUrl;
        if (target) { window.top.location.href = target; return; }
        var frame = document.getElementById('test-frame');
        if (frame) frame.remove();
        status.hidden = false;
        status.textContent = 'Test finished';
      })
      .catch(function () { /* try again on the next tick */ });
  }, 1000);
})();
