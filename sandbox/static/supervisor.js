/*
 * Stand-in Supervisor SDK (proctoring sandbox). Plain ES2017, no build step.
 *
 * Same public API as the real supervisor.js: new Supervisor({url, el, css, store, theme}),
 * init({provider, token}), start(), stop(), close(), logout(), on/off(event | [events], fn);
 * events: start, stop, metrics, chat (never fired here), fail.
 * The camera is simulated: metric values come from the sandbox's "inject violation"
 * control (on the page or in the proctor console), never from a real webcam.
 */
(function (global) {
  'use strict';

  var loaderScript = document.currentScript;
  var METRIC_CODES = ['b1', 'b2', 'b3', 'c1', 'c2', 'c3', 'c4', 'c5', 'k1',
    'm1', 'm2', 'n1', 'n2', 's1', 's2'];
  var VIOLATIONS = [
    { label: 'Face not visible', metric: 'c2', value: 80 },
    { label: 'Second person', metric: 'c3', value: 70 },
    { label: 'Noise', metric: 'm2', value: 60 }
  ];
  var STYLE_ID = 'supervisor-sandbox-style';
  var CSS = [
    '.sv-overlay{position:fixed;inset:0;background:rgba(20,24,32,.72);z-index:2147483000;',
    'display:flex;align-items:center;justify-content:center;font:15px/1.4 system-ui,sans-serif}',
    '.sv-dialog{background:#fff;color:#111;max-width:30em;padding:1.4em 1.6em;border-radius:10px;',
    'box-shadow:0 8px 30px rgba(0,0,0,.4)}',
    '.sv-dialog h2{margin:0 0 .6em;font-size:1.2em}',
    '.sv-dialog button{font:inherit;padding:.45em 1.2em;margin-top:.8em;cursor:pointer}',
    '.sv-widget{position:fixed;right:12px;bottom:12px;z-index:2147482000;background:#fff;color:#111;',
    'border:1px solid #bbb;border-radius:10px;padding:8px;font:12px/1.3 system-ui,sans-serif;',
    'box-shadow:0 2px 10px rgba(0,0,0,.25);width:190px}',
    '.sv-camera{width:64px;height:64px;border-radius:50%;margin:0 auto 6px;display:flex;',
    'align-items:center;justify-content:center;font-size:20px;font-weight:bold;color:#fff;',
    'background:#2e7d32}',
    '.sv-camera.sv-violated{background:#c62828}',
    '.sv-widget fieldset{border:1px solid #ddd;margin:0;padding:4px}',
    '.sv-widget button{font:inherit;margin:2px;cursor:pointer}',
    '.sv-ok{color:#2e7d32}'
  ].join('');

  // Reason phrases as browsers show them (servers may send none, or upper case).
  var STATUS_TEXT = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

  function HttpError(status, statusText, message, body) {
    var err = new Error(status + ' ' + (STATUS_TEXT[status] || statusText) + ': ' + message);
    err.status = status;
    err.body = body || null;
    return err;
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'onclick') node.addEventListener('click', attrs[key]);
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function resolveToken(token) {
    // The real SDK accepts a string, a Promise, or a function returning either.
    var value = typeof token === 'function' ? token() : token;
    return Promise.resolve(value);
  }

  class Supervisor {
    constructor(options) {
      var opts = options || {};
      var base = opts.url || (loaderScript ? new URL(loaderScript.src).origin : location.origin);
      this.url = String(base).replace(/\/+$/, '');
      this.el = opts.el || null;
      this.css = opts.css || null;
      this.store = opts.store || null;
      this.theme = opts.theme || null;
      this._handlers = {};
      this._access = null;
      this._session = null;
      this._referrer = null;
      this._initialized = false;
      this._started = false;
      this._ended = false;
      this._timers = [];
      this._ui = {};
    }

    on(events, fn) {
      [].concat(events).forEach(function (name) {
        (this._handlers[name] = this._handlers[name] || []).push(fn);
      }, this);
      return this;
    }

    off(events, fn) {
      [].concat(events).forEach(function (name) {
        if (!fn) { delete this._handlers[name]; return; }
        this._handlers[name] = (this._handlers[name] || []).filter(function (h) { return h !== fn; });
      }, this);
      return this;
    }

    _emit(name, data) {
      (this._handlers[name] || []).slice().forEach(function (fn) {
        try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }

    async _api(method, path, body, bearer) {
      var response;
      try {
        response = await fetch(this.url + path, {
          method: method,
          mode: 'cors',
          credentials: 'omit',
          headers: Object.assign({ Authorization: 'Bearer ' + (bearer || this._access) },
            body ? { 'Content-Type': 'application/json' } : {}),
          body: body ? JSON.stringify(body) : undefined
        });
      } catch (e) {
        var err = new Error('NoConnection: ' + e.message);
        err.name = 'NoConnection';
        throw err;
      }
      var data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (!response.ok) {
        var message = (data && data.error) || response.statusText;
        var error = HttpError(response.status, response.statusText, message, data);
        if (data && data.name) { error.name = data.name; error.message = message; }
        if (data && data.superseded) this._superseded();
        throw error;
      }
      return data;
    }

    async init(options) {
      var opts = options || {};
      var provider = opts.provider || 'jwt';
      this.close();
      this._initialized = false;
      this._ended = false;
      var token = await resolveToken(opts.token);
      var data = await this._api('POST', '/api/auth/' + encodeURIComponent(provider), null, String(token || ''));
      this._access = data.token;
      this._session = data.session;
      this._period = Math.max(0.1, Number(data.metricsPeriod) || 10);
      this._referrer = this._referrerOverride || data.referrer || null;
      this._injectStyle();
      // A resumed, already started session has passed the preliminary steps before.
      if (data.session.status === 'created') {
        var steps = data.prechecks || [];
        for (var i = 0; i < steps.length; i++) {
          if (steps[i] === 'rules') await this._rulesStep();
          if (steps[i] === 'equipment') await this._equipmentStep();
        }
      }
      this._initialized = true;
      this._poll();
      return this._session;
    }

    async start() {
      if (!this._initialized) throw new Error('Uninitialized');
      var data;
      try {
        data = await this._api('POST', '/api/sessions/' + this._session.id + '/start');
      } catch (e) {
        this._emit('fail', e);
        throw e;
      }
      this._session = data.session;
      this._started = true;
      if (!this._polling) this._poll();  // after close(), a later start() continues
      this._drawWidget();
      this._every(this._period * 1000, this._sendMetrics.bind(this));
      this._emit('start', this._session);
      this._sendMetrics();
      return this._session;
    }

    async stop() {
      if (!this._initialized) throw new Error('Uninitialized');
      this._ended = true;  // our own end: no "finished" dialog
      var data = await this._api('POST', '/api/sessions/' + this._session.id + '/stop');
      this._session = data.session;
      this._teardown();
      this._emit('stop', this._session);
      return this._session;
    }

    close() {
      this._teardown();
      this._started = false;
    }

    async logout() {
      this.close();
      this._initialized = false;
      this._access = null;
      return { referer: this._referrer || null };
    }

    // ---- internals --------------------------------------------------------

    _every(ms, fn) {
      this._timers.push(setInterval(fn, ms));
    }

    _teardown() {
      this._timers.forEach(clearInterval);
      this._timers = [];
      this._polling = false;
      if (this._ui.widget) this._ui.widget.remove();
      this._ui.widget = null;
    }

    _injectStyle() {
      if (!document.getElementById(STYLE_ID)) {
        document.head.appendChild(el('style', { id: STYLE_ID, text: CSS }));
      }
      if (this.css && !document.querySelector('link[data-supervisor-css]')) {
        document.head.appendChild(el('link', { rel: 'stylesheet', href: this.css, 'data-supervisor-css': '' }));
      }
    }

    _overlay(title, body, buttonLabel, role) {
      var self = this;
      return new Promise(function (resolve) {
        var button = buttonLabel ? el('button', { type: 'button', text: buttonLabel }) : null;
        var dialog = el('div', { class: 'sv-dialog', role: role || 'dialog', 'aria-modal': 'true',
          'aria-labelledby': 'sv-title' }, [el('h2', { id: 'sv-title', text: title })].concat(body, button ? [button] : []));
        var overlay = el('div', { class: 'sv-overlay' }, [dialog]);
        document.body.appendChild(overlay);
        if (button) {
          button.addEventListener('click', function () { overlay.remove(); resolve(); });
          button.focus();
        } else {
          resolve(overlay);
        }
        self._ui.lastOverlay = overlay;
      });
    }

    _rulesStep() {
      var rules = ['Stay alone in the room and keep your face in the camera.',
        'Do not talk, use a phone, or open other windows.',
        'The session is recorded and may be reviewed by a proctor.'];
      return this._overlay('Proctoring rules', [
        el('ul', {}, rules.map(function (r) { return el('li', { text: r }); }))
      ], 'I agree');
    }

    async _equipmentStep() {
      var list = el('ul', {});
      var overlay = await this._overlay('Equipment check', [list], null);
      var items = ['Webcam', 'Microphone', 'Network', 'Browser'];
      for (var i = 0; i < items.length; i++) {
        await delay(125);
        list.appendChild(el('li', {}, [document.createTextNode(items[i] + ': '),
          el('span', { class: 'sv-ok', text: 'OK' })]));
      }
      await delay(100);
      overlay.remove();
    }

    _drawWidget() {
      if (this._ui.widget) return;
      var self = this;
      var camera = el('div', { class: 'sv-camera', role: 'img', 'aria-label': 'Camera', 'data-score': '', text: '…' });
      var buttons = VIOLATIONS.map(function (v) {
        return el('button', { type: 'button', text: v.label, onclick: function () { self._inject(v.metric, v.value); } });
      });
      buttons.push(el('button', { type: 'button', text: 'Clear', onclick: function () { self._inject(null); } }));
      var widget = el('div', { class: 'sv-widget', id: 'supervisor-widget', role: 'region', 'aria-label': 'Proctoring' }, [
        camera,
        el('fieldset', {}, [el('legend', { text: 'Sandbox: inject violation' })].concat(buttons))
      ]);
      (this.el || document.body).appendChild(widget);
      this._ui.widget = widget;
      this._ui.camera = camera;
    }

    async _inject(metric, value) {
      var body = metric ? { metric: metric, value: value } : { clear: true };
      try {
        await this._api('POST', '/api/sessions/' + this._session.id + '/violation', body);
        await this._sendMetrics();
      } catch (e) {
        this._emit('fail', e);
      }
    }

    _baseline() {
      // A little noise so a quiet session still looks alive; far below any violation.
      var values = {};
      METRIC_CODES.forEach(function (code) { values[code] = 0; });
      values.c2 = Math.floor(Math.random() * 4);
      values.m2 = Math.floor(Math.random() * 4);
      return values;
    }

    async _sendMetrics() {
      if (!this._started || this._ended || !this._session) return;
      var data;
      try {
        data = await this._api('POST', '/api/sessions/' + this._session.id + '/metrics', { metrics: this._baseline() });
      } catch (e) {
        if (!this._ended) this._emit('fail', e);
        return;
      }
      if (data.metrics && !this._ended) {
        var event = { metrics: data.metrics, peak: data.peak, score: data.score,
          threshold: data.threshold, violated: data.violated };
        if (this._ui.camera) {
          this._ui.camera.textContent = String(data.score);
          this._ui.camera.setAttribute('data-score', String(data.score));
          this._ui.camera.classList.toggle('sv-violated', !!data.violated);
        }
        this._emit('metrics', event);
      }
      this._checkEnd(data.session);
    }

    _poll() {
      var self = this;
      var busy = false;
      this._polling = true;
      this._every(1000, async function () {
        if (busy || self._ended || !self._session) return;
        busy = true;
        try {
          var data = await self._api('GET', '/api/sessions/' + self._session.id);
          if (data.superseded) self._superseded();
          else self._checkEnd(data.session);
        } catch (e) {
          // A missed poll is harmless; the next one tries again.
        } finally {
          busy = false;
        }
      });
    }

    _checkEnd(session) {
      if (!session || this._ended) return;
      var ended = ['stopped', 'skipped', 'accepted', 'rejected'].indexOf(session.status) >= 0;
      this._session = session;
      if (!ended || !this._started) return;
      // Ended by a proctor or by the system: the real SDK shows its own dialog.
      this._ended = true;
      this._teardown();
      this._emit('stop', session);
      var text = session.proctor
        ? 'The proctor ' + session.proctor + ' has ended your proctoring session.'
        : 'Your proctoring session was ended automatically (' + (session.stoppedBy || 'system') + ').';
      var referrer = this._referrer || '/';
      this._overlay('Session finished', [el('p', { text: text })], 'OK', 'alertdialog').then(function () {
        global.location.href = referrer;
      });
    }

    _superseded() {
      if (this._ended) return;
      this._ended = true;
      this._teardown();
      this._overlay('This page was opened elsewhere', [
        el('p', { text: 'The proctoring session continues in another tab or window. Close this one.' })
      ], null, 'alertdialog');
    }
  }

  global.Supervisor = Supervisor;

  // Auto-start by data attributes: <script src=".../sdk/supervisor.js" data-supervisor="start|init" ...>
  if (loaderScript && loaderScript.dataset && loaderScript.dataset.supervisor) {
    var mode = loaderScript.dataset.supervisor;
    var auto = new Supervisor({ url: new URL(loaderScript.src).origin });
    auto._referrerOverride = loaderScript.dataset.referrer || null;
    global.supervisor = auto;
    var run = function () {
      auto.init({ provider: loaderScript.dataset.provider || 'jwt', token: loaderScript.dataset.token })
        .then(function () { return mode === 'start' ? auto.start() : null; })
        .catch(function (e) { auto._emit('fail', e); });
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
    else run();
  }
})(window);
