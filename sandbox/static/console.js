/* Proctor console: polls the console JSON API every 2 s and renders the tables. */
(function () {
  'use strict';
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  // The violation buttons: the same presets as the stand-in SDK's widget (server-side list).
  var PRESETS = JSON.parse(document.getElementById('violation-presets').textContent);
  var statusLine = document.getElementById('status');
  var last = {};

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'onclick') node.addEventListener('click', attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  function api(method, path, body) {
    return fetch('/console/api' + path, {
      method: method,
      credentials: 'same-origin',
      headers: Object.assign({ 'X-CSRF-Token': csrf }, body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.statusText);
        return data;
      });
    });
  }

  function act(method, path, body) {
    api(method, path, body).then(refresh).catch(function (e) { statusLine.textContent = 'Error: ' + e.message; });
  }

  function editing(table) {
    return table.contains(document.activeElement) && /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName);
  }

  function fill(id, rows, render) {
    var table = document.getElementById(id);
    var key = JSON.stringify(rows);
    if (last[id] === key || editing(table)) return;
    last[id] = key;
    var body = table.tBodies[0];
    body.replaceChildren.apply(body, rows.map(render));
  }

  function metricsText(m) {
    if (!m) return '';
    return Object.keys(m).filter(function (k) { return m[k] > 0; }).map(function (k) { return k + '=' + m[k]; }).join(' ') || 'all 0';
  }

  function sessionRow(s) {
    var id = encodeURIComponent(s.identifier);
    var actions = [];
    if (s.status === 'created' || s.status === 'started') {
      actions.push(el('button', { type: 'button', text: 'End session', onclick: function () { act('POST', '/sessions/' + id + '/stop', {}); } }));
    }
    if (s.status === 'started') {
      PRESETS.forEach(function (v) {
        actions.push(el('button', { type: 'button', text: v.label, onclick: function () { act('POST', '/sessions/' + id + '/violation', { metric: v.metric, value: v.value }); } }));
      });
      actions.push(el('button', { type: 'button', text: 'Clear', onclick: function () { act('POST', '/sessions/' + id + '/violation', { clear: true }); } }));
    }
    if (['stopped', 'accepted', 'rejected'].indexOf(s.status) >= 0) {
      var select = el('select', { 'aria-label': 'Conclusion' }, [el('option', { value: 'accepted', text: 'accepted' }), el('option', { value: 'rejected', text: 'rejected' })]);
      var comment = el('input', { placeholder: 'Comment', 'aria-label': 'Comment', value: s.comment || '' });
      actions.push(select, comment, el('button', { type: 'button', text: 'Set conclusion', onclick: function () {
        act('POST', '/sessions/' + id + '/conclusion', { status: select.value, comment: comment.value });
      } }));
    }
    var d = s.lastDelivery;
    var hook = d ? d.state + ' (' + d.attempts.map(function (a) { return a.status || 'error'; }).join(', ') + ')' : (s.api ? 'none yet' : 'no api URL');
    return el('tr', { 'data-identifier': s.identifier }, [
      el('td', {}, [el('a', { href: s.report, text: s.identifier })]),
      el('td', { text: (s.nickname || '') + ' (' + s.username + ')' }),
      el('td', { text: s.subject || '' }),
      el('td', { text: s.status + (s.stoppedBy ? ' by ' + s.stoppedBy + (s.proctor ? ' ' + s.proctor : '') : '') }),
      el('td', { text: s.score === null ? '' : String(s.score) }),
      el('td', { text: metricsText(s.metrics) + (Object.keys(s.injected).length ? ' [injected ' + metricsText(s.injected) + ']' : '') }),
      el('td', {}, actions),
      el('td', { text: hook })
    ]);
  }

  function deliveryRow(d) {
    var tries = el('ol', { class: 'tries' }, d.attempts.map(function (a) {
      return el('li', { text: a.at + ': ' + (a.status !== null ? 'HTTP ' + a.status : a.error) + ' (' + a.ms + ' ms) ' + (a.body || '') });
    }));
    return el('tr', {}, [
      el('td', { text: String(d.id) }), el('td', { text: d.kind }), el('td', { text: d.subject }),
      el('td', { text: d.payload.status || (d.payload.conclusion !== undefined ? 'conclusion ' + d.payload.conclusion : '') }),
      el('td', { text: d.url }),
      el('td', { text: d.state + (d.nextAt ? ', next try ' + d.nextAt : '') }),
      el('td', {}, [tries])
    ]);
  }

  function constructorRow(s) {
    var id = encodeURIComponent(s.sessionId);
    var actions = [];
    if (s.state === 'started') {
      actions.push(el('button', { type: 'button', text: 'Add warning', onclick: function () { act('POST', '/constructor/sessions/' + id + '/warning', { type: 'face_not_found' }); } }));
    }
    if (s.state === 'finished') {
      var select = el('select', { 'aria-label': 'Conclusion' }, [el('option', { value: 'accepted', text: 'accepted' }), el('option', { value: 'rejected', text: 'rejected' })]);
      var comment = el('input', { placeholder: 'Comment', 'aria-label': 'Comment' });
      actions.push(select, comment, el('button', { type: 'button', text: 'Set conclusion', onclick: function () {
        act('POST', '/constructor/sessions/' + id + '/conclusion', { conclusion: select.value, comment: comment.value });
      } }));
    }
    return el('tr', {}, [
      el('td', { text: s.sessionId }), el('td', { text: s.examName || '' }), el('td', { text: s.userId || '' }),
      el('td', { text: s.status }), el('td', { text: (s.conclusion || '') + (s.comment ? ': ' + s.comment : '') }),
      el('td', {}, actions)
    ]);
  }

  function callRow(c) {
    return el('tr', {}, [el('td', { text: c.at }), el('td', { text: c.kind }), el('td', { text: c.sessionId }),
      el('td', { text: c.authOk ? 'ok' : 'no' }), el('td', { text: c.outcome })]);
  }

  function refresh() {
    return Promise.all([api('GET', '/sessions'), api('GET', '/deliveries'), api('GET', '/constructor/sessions'),
      api('GET', '/constructor/calls'), api('GET', '/faults')])
      .then(function (r) {
        fill('sessions', r[0], sessionRow);
        fill('deliveries', r[1], deliveryRow);
        fill('csessions', r[2], constructorRow);
        fill('calls', r[3].slice(-50).reverse(), callRow);
        document.getElementById('faults-now').textContent = 'pending: ' +
          (r[4].finish.map(function (f) { return f.kind + (f.seconds ? ' ' + f.seconds + 's' : '') + ' x' + f.count; }).join(', ') || 'none');
        statusLine.textContent = 'Updated ' + new Date().toLocaleTimeString();
      })
      .catch(function (e) { statusLine.textContent = 'Error: ' + e.message; });
  }

  var faultsForm = document.getElementById('faults');
  faultsForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    act('POST', '/faults', { finish: faultsForm.elements.finish.value });
  });
  faultsForm.querySelectorAll('button[data-preset]').forEach(function (b) {
    b.addEventListener('click', function () { act('POST', '/faults', { finish: b.getAttribute('data-preset') }); });
  });

  refresh();
  setInterval(refresh, 2000);
})();
