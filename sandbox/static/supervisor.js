/*
 * Stand-in Supervisor SDK (proctoring sandbox). Plain ES2017, no build step.
 *
 * A client of the real SDK's wire protocol (contract §1.6), so a page that works with it
 * works with the vendor's own build, and a page that would break there breaks here:
 * - REST over fetch with `Authorization: Bearer <token>`; only HTTP 200 is success, any
 *   other answer rejects with a bare Error(statusText || "Request error");
 * - socket.io over a websocket only (the client is vendored in vendor/socket.io.min.js and
 *   served concatenated before this file); the page's `start` and `stop` events come only
 *   from the socket's `room:start` and `room:stop`; nothing is ever polled over HTTP;
 * - metrics are computed in a Web Worker made from a blob: URL, and with no socket the
 *   "no network" metric n1 is 100, as in the real build;
 * - no `fail` event and no data-attribute auto-start (the 3.20.5 build has neither);
 * - a `url` in the room (token links) makes start() cover the page with that URL in a
 *   full-page IFRAME; with the room's `finish` add-on a bar above it has Home page (reload
 *   the URL) and Finish, which asks "Finish the session?" (Yes/No) and on Yes runs stop()
 *   (no logout(): the real build does not call it there) and sends the browser to
 *   `user.referer` (else `/`). Any end of the session (stop, close, the server's
 *   room:stop, another tab) removes the frame.
 * The widget (the camera and the score) docks in the bottom-right corner of `el`'s page and
 * has a collapse toggle; it starts collapsed on small viewports (phones, 200% zoom). A page
 * that reserves the widget's measured size keeps its content clear of it.
 * Sandbox-only extensions: the violation buttons of the widget (`config.sandbox.violations`,
 * POST /api/sandbox/violation), `sandbox:inject` socket events, and the equipment check's
 * simulated failure (`config.sandbox.startError`).
 *
 * One state machine; every public method checks the state:
 *   idle -> initializing -> ready -> starting -> started -> stopping -> stopped
 *   started -> ended (the server's room:stop)     started -> superseded (another tab)
 *   started -> ready (close())                    any -> loggedOut (logout())
 */
(function (global) {
  'use strict';

  var io = global.io;  // socket.io-client, concatenated before this file

  var STATE = {
    IDLE: 'idle', INITIALIZING: 'initializing', READY: 'ready', STARTING: 'starting',
    STARTED: 'started', STOPPING: 'stopping', STOPPED: 'stopped', ENDED: 'ended',
    SUPERSEDED: 'superseded', LOGGED_OUT: 'loggedOut'
  };
  // States in which the session is initialized and not running: start() and stop() may
  // go to the server, which decides (the real SDK does not second-guess it either).
  var RESTING = [STATE.READY, STATE.STOPPED, STATE.ENDED, STATE.SUPERSEDED];

  var CAMERA = { video: { width: 640, height: 480, frameRate: 10 }, audio: true };
  var CAMERA_RETRY_MS = 5000;
  // Where the widget starts collapsed: a phone, or a desktop window at 200% zoom.
  var COMPACT_MEDIA = '(max-width: 700px), (max-height: 500px)';
  var INVOKE_MS = 30000;  // p2p:invoke, so a proctor who opens the session finds the stream

  var TEXT = {
    rules: 'Proctoring rules',
    rulesList: ['Stay alone in the room and keep your face in the camera.',
      'Do not talk, use a phone, or open other windows.',
      'The session is recorded and may be reviewed by a proctor.'],
    agree: 'I agree',
    check: 'Equipment check',
    attention: 'Attention!',
    duplicateTitle: 'Session is blocked',
    duplicateText: 'This page was opened elsewhere, close this tab.',
    finishTitle: 'Session complete',
    finishProctor: 'The session was terminated by the proctor.',
    finishAuto: 'The session was terminated automatically.',
    ok: 'OK',
    home: 'Home page',
    finish: 'Finish',
    confirmTitle: 'Completion of the session',
    confirmLabel: 'Finish the session?',
    confirmText: 'Once completed, you will not be able to continue.',
    yes: 'Yes',
    no: 'No',
    finishFailed: 'The session could not be finished: ',
    finishRetry: 'Reload this page to return to the test, then press Finish again.',
    testFrame: 'Test',
    frameBar: 'Proctored test',
    widget: 'Proctoring',
    collapse: 'Hide the proctoring panel',
    expand: 'Show the proctoring panel',
    inject: 'Sandbox: inject violation',
    clear: 'Clear'
  };

  // The equipment check's steps, and which step each SDK error name fails.
  var CHECKS = ['Browser', 'Webcam', 'Microphone', 'Screen', 'Network'];
  var ERRORS = {
    Unsupported: ['Browser', 'This browser is not supported'],
    WrongSize: ['Browser', 'The browser window is too small'],
    NoRecorder: ['Browser', 'MediaRecorder API is not supported'],
    NoPicture: ['Webcam', 'The webcam shows no picture'],
    NoVideo: ['Webcam', 'No webcam found'],
    LowVolume: ['Microphone', 'The microphone volume is too low'],
    NoAudio: ['Microphone', 'No microphone found'],
    NoCapture: ['Screen', 'Screen capture is not available'],
    Multiscreen: ['Screen', 'More than one display is connected'],
    NoScreen: ['Screen', 'The whole screen was not shared'],
    NoConnection: ['Network', 'No connection to the proctoring server'],
    RtcError: ['Network', 'WebRTC connection failed']
  };

  var CSS = [
    '.sv-overlay{position:fixed;inset:0;background:rgba(20,24,32,.72);z-index:2147483000;',
    'display:flex;align-items:center;justify-content:center;font:15px/1.4 system-ui,sans-serif}',
    '.sv-dialog{background:#fff;color:#111;max-width:30em;padding:1.4em 1.6em;border-radius:10px;',
    'box-shadow:0 8px 30px rgba(0,0,0,.4)}',
    '.sv-dialog:focus{outline:3px solid #1565c0}',
    '.sv-dialog h2{margin:0 0 .6em;font-size:1.2em}',
    '.sv-dialog p.sv-label{margin:0 0 .3em;font-weight:bold;color:#b00020}',
    '.sv-dialog button{font:inherit;padding:.45em 1.2em;margin:.8em .5em 0 0;cursor:pointer;',
    'background:#1565c0;color:#fff;border:1px solid #1565c0;border-radius:4px}',
    // Its own colours whatever the page's scheme (a page's dark-mode text colours on
    // these white boxes would be unreadable).
    '.sv-dialog,.sv-widget{color-scheme:light}',
    ':is(.sv-dialog,.sv-widget) :is(h2,h3,p,ul,ol,li,legend,label,span,strong,small){color:inherit}',
    // The widget docks in the bottom-right corner, and collapses to the camera and the
    // score (its toggle, or by default where the viewport is small: phones, 200% zoom), so
    // that a page reserving its measured size is never covered by it.
    '.sv-widget{position:fixed;right:8px;bottom:8px;z-index:2147482000;background:#fff;color:#111;',
    'border:1px solid #bbb;border-radius:10px;padding:6px;font:12px/1.3 system-ui,sans-serif;',
    'box-shadow:0 2px 10px rgba(0,0,0,.25);width:190px;max-height:50vh;overflow:auto;',
    'box-sizing:border-box}',
    // Expanded on a small viewport it grows wide rather than tall.
    '@media ' + COMPACT_MEDIA + '{.sv-widget:not(.sv-collapsed){width:min(360px,calc(100vw - 16px))}}',
    '.sv-widget-head{display:flex;align-items:center;gap:6px}',
    '.sv-camera{position:relative;flex:none;width:64px;height:64px;border-radius:50%;',
    'overflow:hidden;border:4px solid #2e7d32;background:#233047;box-sizing:border-box}',
    '.sv-camera.sv-violated{border-color:#c62828}',
    '.sv-camera video{width:100%;height:100%;object-fit:cover;transform:scaleX(-1)}',
    '.sv-score{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;',
    'font-size:18px;font-weight:bold;color:#fff;text-shadow:0 0 4px #000}',
    '.sv-widget .sv-toggle{margin:0 0 0 auto;padding:2px 8px;border:1px solid #666;border-radius:4px;',
    'background:#f4f4f4;color:#111;min-width:24px;min-height:24px}',
    '.sv-widget button:focus-visible{outline:3px solid #1565c0;outline-offset:1px}',
    '.sv-widget.sv-collapsed{width:auto}',
    '.sv-widget.sv-collapsed .sv-camera{width:40px;height:40px;border-width:3px}',
    '.sv-widget.sv-collapsed .sv-score{font-size:13px}',
    '.sv-widget.sv-collapsed .sv-more{display:none}',
    '.sv-widget fieldset{border:1px solid #ddd;margin:4px 0 0;padding:4px}',
    '.sv-widget button{font:inherit;margin:2px;cursor:pointer}',
    '.sv-widget [role=status]{margin:4px 0 0;color:#b00020}',
    '.sv-widget [role=status]:empty{display:none}',
    ':is(.sv-dialog,.sv-widget) .sv-ok{color:#2e7d32}',
    ':is(.sv-dialog,.sv-widget) .sv-fail{color:#b00020;font-weight:bold}',
    // The token link's frame: over the page, under the widget and the dialogs.
    '.sv-frame{position:fixed;inset:0;z-index:2147481000;display:flex;flex-direction:column;background:#fff}',
    '.sv-frame-bar{display:flex;align-items:center;gap:10px;padding:4px 8px;background:#233047;color:#fff;',
    'font:14px/1.3 system-ui,sans-serif}',
    '.sv-frame-bar[hidden]{display:none}',
    '.sv-frame-bar button{font:inherit;padding:.35em 1em;cursor:pointer}',
    '.sv-frame-title{flex:auto;overflow:hidden;white-space:nowrap}',
    '.sv-frame-title small{display:block;opacity:.75}',
    '.sv-frame-finish{background:#c62828;color:#fff;border:0;border-radius:3px}',
    '.sv-frame iframe{flex:auto;border:0;width:100%;display:block}'
  ].join('');

  // ---- the metrics tracker's worker (runs from a blob: URL, never in the page) ---------

  function trackerWorker() {
    var state = { codes: [], threshold: 0, injected: {}, connected: false, camera: true };
    var timer = null;

    function level(value) {
      var n = Math.round(Number(value));
      return isFinite(n) ? Math.max(0, Math.min(100, n)) : 0;
    }

    function compute() {
      var metrics = {};
      var peak;
      var max = 0;
      state.codes.forEach(function (code) {
        // A little noise so a quiet session still looks alive; far below any violation.
        var value = code === 'c2' || code === 'm2' ? Math.floor(Math.random() * 4) : 0;
        if (code === 'n1' && !state.connected) value = 100;
        if (code === 'c1' && !state.camera) value = 100;
        if (state.injected[code] !== undefined) value = Math.max(value, level(state.injected[code]));
        metrics[code] = value;
        if (value > max) { max = value; peak = code; }
      });
      var score = 100 - max;
      return { metrics: metrics, peak: peak, score: score, threshold: state.threshold,
        violated: score <= state.threshold };
    }

    onmessage = function (e) {
      var msg = e.data || {};
      if (msg.type === 'start') {
        state.codes = msg.codes;
        state.threshold = msg.threshold;
        clearInterval(timer);
        timer = setInterval(function () { postMessage({ type: 'metrics', event: compute() }); },
          msg.period * 1000);
      }
      if (msg.type === 'update') Object.keys(msg.state).forEach(function (k) { state[k] = msg.state[k]; });
      if (msg.type === 'snapshot') postMessage({ type: 'snapshot', id: msg.id, event: compute() });
    };
  }

  /** The page's side of the worker: start(), update(), snapshot() -> Promise, stop(). */
  class Tracker {
    constructor(onMetrics) {
      var source = '(' + trackerWorker.toString() + ')();';
      this._url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      this._worker = new Worker(this._url);
      this._pending = {};
      this._next = 0;
      this.last = null;
      var self = this;
      this._worker.onmessage = function (e) {
        var msg = e.data;
        self.last = msg.event;
        if (msg.type === 'metrics') onMetrics(msg.event);
        if (msg.type === 'snapshot' && self._pending[msg.id]) {
          self._pending[msg.id](msg.event);
          delete self._pending[msg.id];
        }
      };
    }

    start(codes, threshold, period, state) {
      this.update(state);
      this._worker.postMessage({ type: 'start', codes: codes, threshold: threshold, period: period });
    }

    update(state) {
      this._worker.postMessage({ type: 'update', state: state });
    }

    /** The metrics as of now (for the last chat event of a stop). */
    snapshot() {
      var self = this;
      var id = ++this._next;
      return new Promise(function (resolve) {
        self._pending[id] = resolve;
        self._worker.postMessage({ type: 'snapshot', id: id });
      });
    }

    stop() {
      this._worker.terminate();
      URL.revokeObjectURL(this._url);
      Object.keys(this._pending).forEach(function (id) { this._pending[id](this.last); }, this);
      this._pending = {};
    }
  }

  // ---- small helpers -----------------------------------------------------------------

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

  var uid = 0;
  function nextId(prefix) { uid += 1; return prefix + '-' + uid; }

  function resolveToken(token) {
    // A string, a Promise, or a function returning either (contract §1.1).
    return Promise.resolve(typeof token === 'function' ? token() : token);
  }

  function namedError(name) {
    var known = ERRORS[name] || ['Browser', name];
    var error = new Error(known[1]);
    error.name = name;
    return error;
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  class Supervisor {
    /**
     * new Supervisor({url, el, css, store, theme}): `url` is the proctoring server (default:
     * this page's origin, like the real SDK); `el` the element (or selector) the UI goes in.
     */
    constructor(options) {
      var opts = options || {};
      this.url = String(opts.url || location.origin).replace(/\/+$/, '');
      this.el = opts.el || null;
      this.css = opts.css || null;
      this.store = opts.store || null;
      this.theme = opts.theme || null;
      this.state = STATE.IDLE;
      this._handlers = {};
      this._token = '';
      this._user = null;
      this._room = null;
      this._config = null;
      this._socket = null;
      this._rooms = {};  // socket.io rooms joined, joined again after a reconnect
      this._tracker = null;
      this._stream = null;
      this._cameraRetry = null;
      this._timers = [];
      this._ui = {};
      this._styles = [];
      this._startedRoom = null;  // the room start() resolved with (its updatedAt)
      this._starting = null;
      this._stopping = null;
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

    /**
     * init({provider, token}) resolves {token} (the session token) after the auth exchange,
     * the user, room and SDK config, the socket (its failure is not fatal, as in the real
     * SDK) and, for a room not yet started, the preliminary steps. Rejects with the bare
     * HTTP Error of a failed call, or a named Error from the equipment check.
     */
    async init(options) {
      if ([STATE.INITIALIZING, STATE.STARTING, STATE.STOPPING].indexOf(this.state) >= 0) {
        throw new Error('Busy: ' + this.state);
      }
      if (typeof io !== 'function') {
        throw new Error('supervisor.js: the socket.io client is missing (served without vendor/socket.io.min.js)');
      }
      if (this.state === STATE.STARTED) this._teardown();
      var opts = Object.assign({ provider: 'jwt' }, options || {});
      this.state = STATE.INITIALIZING;
      try {
        var jwt = await resolveToken(opts.token);
        var login = await this._request('POST', '/api/auth/' + encodeURIComponent(opts.provider), undefined,
          String(jwt || ''));
        this._token = (login && login.token) || '';
        var auth = await this._request('GET', '/api/auth');
        if (!auth) throw new Error('Unauthorized');
        this._token = auth.token || this._token;
        this._user = await this._request('GET', '/api/user/me');
        this._room = await this._request('GET', '/api/room/fetch');
        this._config = (await this._request('GET', '/api/config/sdk')) || {};
        this._injectStyles();
        await this._connect();
        if (!this._room.startedAt) await this._preliminarySteps();
      } catch (error) {
        this._closeSocket();
        this.state = STATE.IDLE;
        throw error;
      }
      this.state = STATE.READY;
      return { token: this._token };
    }

    /**
     * start() resolves with the room once the server started it, the camera was asked for
     * (a failed capture is retried every 5 s; start() still resolves) and the tracker runs.
     * Rejects Error("Uninitialized") before init(), else the bare HTTP Error.
     */
    start() {
      if (this.state === STATE.STARTING) return this._starting;
      if (this.state === STATE.STARTED) return Promise.resolve(this._room);
      if (RESTING.indexOf(this.state) < 0) return Promise.reject(new Error('Uninitialized'));
      var previous = this.state;
      this.state = STATE.STARTING;
      this._starting = this._start().then((room) => {
        this.state = STATE.STARTED;
        return room;
      }, (error) => {
        this._teardown();
        this.state = previous;
        throw error;
      });
      return this._starting;
    }

    async _start() {
      var id = this._room.id;
      var room = await this._request('POST', '/api/room/start?id=' + encodeURIComponent(id));
      this._room = room;
      this._startedRoom = room;
      await this._request('GET', '/api/chat/' + encodeURIComponent(id) + '?filter[type]=message&limit=20&skip=0');
      this._emitSocket('webcall:broadcasts', id);
      this._join(id);
      var call = { to: id, rid: id, uid: this._user.id };
      var invoke = () => this._emitSocket('p2p:invoke', call);
      invoke();
      this._timers.push(setInterval(invoke, INVOKE_MS));
      this._emitSocket('p2p:broadcast', call);
      this._drawWidget();
      this._startTracker();
      this._startCamera();
      if (room.url) this._drawFrame(room);  // a token link: the test goes over the page
      return room;
    }

    /**
     * stop() ends the session: p2p:dispose, leave the room, a last chat event, then
     * POST /api/room/stop; resolves with the room, shows no dialog. Rejects
     * Error("Uninitialized") before init(), else the bare HTTP Error.
     */
    stop() {
      if (this.state === STATE.STOPPING) return this._stopping;
      if (this.state === STATE.STARTING) {
        var again = () => this.stop();
        return this._starting.then(again, again);
      }
      if (this.state !== STATE.STARTED && RESTING.indexOf(this.state) < 0) {
        return Promise.reject(new Error('Uninitialized'));
      }
      var wasStarted = this.state === STATE.STARTED;
      this.state = STATE.STOPPING;
      this._stopping = this._stop(wasStarted).then((room) => {
        this.state = STATE.STOPPED;
        return room;
      }, (error) => {
        this.state = STATE.READY;  // closed, still initialized: a later start() continues
        throw error;
      });
      return this._stopping;
    }

    async _stop(wasStarted) {
      var id = this._room.id;
      if (wasStarted) {
        this._emitSocket('p2p:dispose', { to: id, id: id });
        this._leave(id);
        await this._postLastEvent();
      }
      this._teardown();
      this._room = await this._request('POST', '/api/room/stop?id=' + encodeURIComponent(id));
      return this._room;
    }

    /** close(): tears the UI, camera and tracker down without ending the session. */
    async close() {
      if (this.state === STATE.IDLE || this.state === STATE.LOGGED_OUT) throw new Error('Uninitialized');
      await this._settled();
      if (this.state !== STATE.STARTED) return;
      var last = await this._tracker.snapshot();
      if (this.state !== STATE.STARTED) return;  // the server ended it meanwhile
      this._teardown();
      this.state = STATE.READY;
      await this._postEvent(last);
    }

    /**
     * logout(): removes the UI, POST /api/auth/logout, closes the socket; resolves {referer}.
     * Before init() the server refuses the empty bearer: the bare HTTP Error, as in the real SDK.
     */
    async logout() {
      await this._settled();
      this._teardown();
      this._removeDialog();
      this._styles.forEach(function (node) { node.remove(); });
      this._styles = [];
      await this._request('POST', '/api/auth/logout');
      var referer = (this._user && this._user.referer) || null;
      this._closeSocket();
      this._token = '';
      this._user = this._room = this._config = null;
      this.state = STATE.LOGGED_OUT;
      return { referer: referer };
    }

    /** Waits for a start() or stop() under way (they report their own outcome). */
    async _settled() {
      var pending = this.state === STATE.STARTING ? this._starting
        : this.state === STATE.STOPPING ? this._stopping : null;
      if (pending) await pending.catch(function () {});
    }

    // ---- transport -------------------------------------------------------------------

    /** One REST call; resolves the parsed body of a 200, rejects Error(statusText || "Request error"). */
    _request(method, path, body, bearer) {
      var headers = { Authorization: 'Bearer ' + (bearer === undefined ? this._token : bearer) };
      if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
      return fetch(this.url + path, {
        method: method, headers: headers, mode: 'cors', credentials: 'omit', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (response) {
        if (response.status !== 200) throw new Error(response.statusText || 'Request error');
        return response.text().then(function (text) {
          try { return JSON.parse(text); } catch (e) { return text; }
        });
      }, function () {
        // A network failure: the real SDK's XHR sees status 0 and no status text.
        throw new Error('Request error');
      });
    }

    _connect() {
      this._closeSocket();
      this._rooms = {};
      if (this._user.id) this._rooms[this._user.id] = true;
      if (this._user.group) this._rooms[this._user.group] = true;
      var socket = io(this.url, { transports: ['websocket'], query: { token: this._token } });
      this._socket = socket;
      socket.on('connect', () => {
        Object.keys(this._rooms).forEach(function (name) { socket.emit('join', name); });
        this._updateTracker({ connected: true });
      });
      socket.on('disconnect', () => this._updateTracker({ connected: false }));
      socket.on('room:start', (data) => this._onRoomStart(data || {}));
      socket.on('room:stop', (data) => this._onRoomStop(data || {}));
      socket.on('chat:message', (data) => {
        if (data && this._room && data.room === this._room.id) this._emit('chat', data);
      });
      socket.on('sandbox:inject', (data) => {
        if (data && this._room && data.id === this._room.id) this._setInjected(data.injected);
      });
      // init() goes on without a socket (the real SDK swallows the failure; n1 shows it).
      return new Promise(function (resolve) {
        socket.once('connect', resolve);
        socket.once('connect_error', resolve);
      });
    }

    _closeSocket() {
      if (this._socket) {
        this._socket.removeAllListeners();
        this._socket.close();
      }
      this._socket = null;
    }

    _emitSocket(name, data) {
      // socket.io buffers emits made while disconnected and sends them on reconnect.
      if (this._socket) this._socket.emit(name, data);
    }

    _join(name) {
      this._rooms[name] = true;
      this._emitSocket('join', name);
    }

    _leave(name) {
      delete this._rooms[name];
      this._emitSocket('leave', name);
    }

    _emit(name, data) {
      (this._handlers[name] || []).slice().forEach(function (fn) {
        try { fn(data); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }

    // ---- socket events ---------------------------------------------------------------

    _onRoomStart(data) {
      if (!this._room || data.id !== this._room.id) return;
      this._emit('start', data);
      // Another tab started the same session: its start changed updatedAt.
      if (this.state === STATE.STARTED && data.updatedAt !== this._startedRoom.updatedAt) {
        this._teardown();
        this.state = STATE.SUPERSEDED;
        this._dialog({ title: TEXT.duplicateTitle, text: TEXT.duplicateText, alert: true });
      }
    }

    _onRoomStop(data) {
      if (!this._room || data.id !== this._room.id) return;
      this._emit('stop', data);
      if (this.state !== STATE.STARTED) return;  // our own stop(), or not running here
      this.state = STATE.ENDED;
      // Like the real SDK's close(): the tracker's last metrics go out as a chat event.
      var tracker = this._tracker;
      this._tracker = null;
      this._teardown();
      if (tracker) {
        tracker.snapshot().then((last) => {
          tracker.stop();
          return this._postEvent(last);
        });
      }
      var referer = (this._user && this._user.referer) || '/';
      this._dialog({ title: TEXT.finishTitle, text: data.proctor ? TEXT.finishProctor : TEXT.finishAuto,
        button: TEXT.ok, alert: true }).then(function () {
          global.onbeforeunload = null;
          global.location.href = referer;
        });
    }

    // ---- tracker, camera, chat events ------------------------------------------------

    _startTracker() {
      var tracker = this._config.tracker || {};
      var period = Number(tracker.period) > 0 ? Number(tracker.period) : 10;
      var eventPeriod = Number(tracker.eventPeriod) > 0 ? Number(tracker.eventPeriod) : 60;
      var addons = this._room.addons || [];
      // Without the `track` add-on the real SDK still emits metrics: none, score 100.
      var codes = addons.indexOf('track') >= 0 ? (this._room.metrics || []) : [];
      this._tracker = new Tracker((event) => this._onMetrics(event));
      this._tracker.start(codes, Number(this._room.threshold) || 0, period, {
        injected: this._room.injected || {},
        connected: !!(this._socket && this._socket.connected),
        camera: true
      });
      this._timers.push(setInterval(() => this._postEvent(this._tracker && this._tracker.last),
        eventPeriod * 1000));
    }

    _updateTracker(state) {
      if (this._tracker) this._tracker.update(state);
    }

    _setInjected(injected) {
      if (this._room) this._room.injected = injected || {};
      this._updateTracker({ injected: injected || {} });
    }

    _onMetrics(event) {
      if (this.state !== STATE.STARTED) return;
      var camera = this._ui.camera;
      if (camera) {
        this._ui.score.textContent = String(event.score);
        camera.setAttribute('data-score', String(event.score));
        camera.classList.toggle('sv-violated', !!event.violated);
      }
      this._emit('metrics', event);
    }

    _postEvent(event) {
      if (!event || !this._room) return Promise.resolve();
      return this._request('POST', '/api/chat/' + encodeURIComponent(this._room.id), {
        type: 'event',
        metadata: { metrics: event.metrics, peak: event.peak, threshold: event.threshold, violated: event.violated }
      }).catch(function () {
        // A lost event is not worth failing the stop for; the next one carries newer data.
      });
    }

    async _postLastEvent() {
      if (this._tracker) await this._postEvent(await this._tracker.snapshot());
    }

    _startCamera() {
      var media = global.navigator.mediaDevices;
      var retry = () => {
        this._updateTracker({ camera: false });
        this._cameraRetry = setTimeout(() => this._startCamera(), CAMERA_RETRY_MS);
      };
      if (!media || !media.getUserMedia) { retry(); return; }
      media.getUserMedia(CAMERA).then((stream) => {
        if (this.state !== STATE.STARTED && this.state !== STATE.STARTING) {
          stream.getTracks().forEach(function (t) { t.stop(); });
          return;
        }
        this._stream = stream;
        this._updateTracker({ camera: true });
        if (this._ui.video) this._ui.video.srcObject = stream;
        stream.getVideoTracks().forEach((track) => {
          track.addEventListener('ended', () => { this._stopCamera(); retry(); });
        });
      }, retry);
    }

    _stopCamera() {
      clearTimeout(this._cameraRetry);
      this._cameraRetry = null;
      if (this._stream) this._stream.getTracks().forEach(function (t) { t.stop(); });
      this._stream = null;
      if (this._ui.video) this._ui.video.srcObject = null;
    }

    /** Stops everything a start() began (camera, tracker, timers, widget); keeps the socket. */
    _teardown() {
      this._timers.forEach(clearInterval);
      this._timers = [];
      this._stopCamera();
      if (this._tracker) this._tracker.stop();
      this._tracker = null;
      if (this._ui.widget) this._ui.widget.remove();
      this._ui.widget = this._ui.camera = this._ui.score = this._ui.video = this._ui.status = null;
      // As the real close(): whatever ends the run takes the test's frame away with it.
      if (this._ui.frame) this._ui.frame.remove();
      this._ui.frame = null;
    }

    // ---- UI ----------------------------------------------------------------------------

    _container() {
      if (typeof this.el === 'string') return document.querySelector(this.el) || document.body;
      return this.el || document.body;
    }

    _injectStyles() {
      if (this._styles.length) return;
      var self = this;
      // The page's `css` option and the server's config.css: a stylesheet URL or CSS text.
      [CSS, this.css, this._config.css].forEach(function (css) {
        if (!css || typeof css !== 'string') return;
        var node;
        if (/^(https?:)?\/[^{]*$/.test(css)) node = el('link', { rel: 'stylesheet', href: css });
        else node = el('style', { text: css });
        document.head.appendChild(node);
        self._styles.push(node);
      });
    }

    /**
     * A modal dialog (focus moves into it); resolves true when its button is pressed, false
     * when its `cancel` button is (or Escape), never without buttons or when another dialog
     * replaces it. An `alert` is the SDK's own notice: role alertdialog, its `label` (by
     * default "Attention!") under the title. Focus starts on `cancel` when there is one.
     */
    _dialog(options) {
      this._removeDialog();
      var titleId = nextId('sv-title');
      var previous = document.activeElement;
      var button = options.button ? el('button', { type: 'button', text: options.button }) : null;
      var cancel = options.cancel ? el('button', { type: 'button', text: options.cancel }) : null;
      var children = [el('h2', { id: titleId, text: options.title })];
      var attrs = { class: 'sv-dialog', role: options.alert ? 'alertdialog' : 'dialog',
        'aria-modal': 'true', 'aria-labelledby': titleId, tabindex: '-1' };
      if (options.alert) children.push(el('p', { class: 'sv-label', text: options.label || TEXT.attention }));
      if (options.text) {
        attrs['aria-describedby'] = nextId('sv-text');
        children.push(el('p', { id: attrs['aria-describedby'], text: options.text }));
      }
      children = children.concat(options.body || [], [button, cancel].filter(Boolean));
      var dialog = el('div', attrs, children);
      var overlay = el('div', { class: 'sv-overlay' }, [dialog]);
      this._container().appendChild(overlay);
      this._ui.overlay = overlay;
      (cancel || button || dialog).focus();
      var self = this;
      return new Promise(function (resolve) {
        function answer(value) {
          self._removeDialog();
          if (previous && previous.focus && document.contains(previous)) previous.focus();
          resolve(value);
        }
        if (button) button.addEventListener('click', function () { answer(true); });
        if (cancel) {
          cancel.addEventListener('click', function () { answer(false); });
          dialog.addEventListener('keydown', function (e) { if (e.key === 'Escape') answer(false); });
        }
      });
    }

    _removeDialog() {
      if (this._ui.overlay) this._ui.overlay.remove();
      this._ui.overlay = null;
    }

    async _preliminarySteps() {
      var addons = this._room.addons || [];
      if (addons.indexOf('rules') >= 0) {
        await this._dialog({ title: TEXT.rules, button: TEXT.agree,
          body: [el('ul', {}, TEXT.rulesList.map(function (r) { return el('li', { text: r }); }))] });
      }
      if (addons.indexOf('check') >= 0) await this._equipmentCheck();
    }

    async _equipmentCheck() {
      var failure = (this._config.sandbox || {}).startError || null;
      var error = failure ? namedError(failure) : null;
      var failing = error ? (ERRORS[failure] || ['Browser'])[0] : null;
      var list = el('ul', {});
      var status = el('p', { role: 'status', text: 'Checking your computer and network…' });
      this._dialog({ title: TEXT.check, body: [status, list] });
      for (var i = 0; i < CHECKS.length; i++) {
        await delay(100);
        var failed = CHECKS[i] === failing;
        list.appendChild(el('li', {}, [document.createTextNode(CHECKS[i] + ': '),
          el('span', { class: failed ? 'sv-fail' : 'sv-ok', text: failed ? error.message : 'OK' })]));
        if (failed) break;
      }
      status.textContent = error ? error.name + ': ' + error.message : 'All checks passed.';
      await delay(error ? 600 : 150);
      this._removeDialog();
      if (error) throw error;
    }

    /**
     * The token link's view of the room's `url`, as the real build draws it: a full-page
     * IFRAME (the config's `iframe.allow` and `iframe.sandbox`), and above it, only with the
     * room's `finish` add-on, a bar with Home page, the student and session, the time left
     * (rooms with a `lifetime`) and Finish.
     */
    _drawFrame(room) {
      if (this._ui.frame) this._ui.frame.remove();
      var options = this._config.iframe || {};
      var attrs = { src: room.url, title: room.subject || TEXT.testFrame,
        allow: options.allow || 'microphone; camera; autoplay' };
      if (options.sandbox) attrs.sandbox = options.sandbox;
      var frame = el('iframe', attrs);
      var home = el('button', { type: 'button', title: TEXT.home, text: TEXT.home,
        onclick: function () { frame.src = room.url; } });  // back to the test's first page
      var finish = el('button', { type: 'button', class: 'sv-frame-finish', text: TEXT.finish,
        onclick: () => this._confirmFinish() });
      var nickname = (this._user && this._user.nickname) || '';
      var subject = room.subject && room.subject !== room.id ? ' [' + room.subject + ']' : '';
      var timer = el('span', { class: 'sv-frame-timer', role: 'timer', 'aria-label': 'Time left' });
      timer.hidden = !(room.startedAt && room.lifetime);
      var bar = el('div', { class: 'sv-frame-bar', role: 'toolbar', 'aria-label': TEXT.frameBar }, [
        home,
        el('span', { class: 'sv-frame-title' }, [document.createTextNode(nickname + subject),
          el('small', { text: '#' + room.id })]),
        timer, finish]);
      // The real build hides its bar without the add-on: then nothing on the page can finish.
      if ((room.addons || []).indexOf('finish') < 0) bar.hidden = true;
      var view = el('div', { class: 'sv-frame' }, [bar, frame]);
      this._container().appendChild(view);
      this._ui.frame = view;
      if (room.startedAt && room.lifetime) {
        var ends = new Date(room.startedAt).getTime() + room.lifetime * 60000;
        var tick = function () {
          timer.textContent = new Date(Math.max(0, ends - Date.now())).toISOString().substring(11, 19);
        };
        tick();
        this._timers.push(setInterval(tick, 1000));
      }
    }

    /** Finish in the frame's bar: "Finish the session?"; Yes stops it and goes to the referer. */
    _confirmFinish() {
      if (this._ui.confirm && this._ui.confirm === this._ui.overlay) return;  // already asking
      var asked = this._dialog({ title: TEXT.confirmTitle, label: TEXT.confirmLabel, text: TEXT.confirmText,
        button: TEXT.yes, cancel: TEXT.no, alert: true });
      this._ui.confirm = this._ui.overlay;
      var referer = (this._user && this._user.referer) || '/';
      asked.then((yes) => {
        if (!yes) return;
        this.stop().then(function () {
          global.onbeforeunload = null;
          if (global.opener) global.close();  // a window the portal opened closes, as in the real build
          global.location.href = referer;
        }, (error) => {
          // The frame went with the stop; say so rather than leave an empty page.
          this._dialog({ title: TEXT.confirmTitle, text: TEXT.finishFailed + error.message + '. ' + TEXT.finishRetry,
            button: TEXT.ok, alert: true }).then(function () { global.location.reload(); });
        });
      });
    }

    _drawWidget() {
      if (this._ui.widget) return;
      var self = this;
      var video = el('video', { muted: '', autoplay: '', playsinline: '', 'aria-hidden': 'true' });
      video.muted = true;
      var score = el('span', { class: 'sv-score', text: '…' });
      var camera = el('div', { class: 'sv-camera', role: 'img', 'aria-label': 'Camera and score',
        'data-score': '' }, [video, score]);
      var status = el('p', { role: 'status' });
      var more = el('div', { class: 'sv-more', id: nextId('sv-more') });
      var presets = (this._config.sandbox || {}).violations;
      if (Array.isArray(presets)) {
        var buttons = presets.map(function (v) {
          return el('button', { type: 'button', text: v.label,
            onclick: function () { self._inject({ metric: v.metric, value: v.value }); } });
        });
        buttons.push(el('button', { type: 'button', text: TEXT.clear,
          onclick: function () { self._inject({ clear: true }); } }));
        more.appendChild(el('fieldset', {}, [el('legend', { text: TEXT.inject })].concat(buttons)));
      }
      more.appendChild(status);
      var toggle = el('button', { type: 'button', class: 'sv-toggle', 'aria-controls': more.id });
      var widget = el('div', { class: 'sv-widget', id: 'supervisor-widget', role: 'region',
        'aria-label': TEXT.widget }, [el('div', { class: 'sv-widget-head' }, [camera, toggle]), more]);
      var setCollapsed = function (collapsed) {
        widget.classList.toggle('sv-collapsed', collapsed);
        toggle.setAttribute('aria-expanded', String(!collapsed));
        toggle.setAttribute('aria-label', collapsed ? TEXT.expand : TEXT.collapse);
        toggle.title = toggle.getAttribute('aria-label');
        toggle.textContent = collapsed ? '+' : '−';
      };
      toggle.addEventListener('click', function () {
        setCollapsed(!widget.classList.contains('sv-collapsed'));
      });
      setCollapsed(!!(global.matchMedia && global.matchMedia(COMPACT_MEDIA).matches));
      this._container().appendChild(widget);
      this._ui = Object.assign(this._ui, { widget: widget, camera: camera, score: score, video: video,
        status: status });
      if (this._stream) video.srcObject = this._stream;
    }

    _inject(body) {
      var status = this._ui.status;
      return this._request('POST', '/api/sandbox/violation?id=' + encodeURIComponent(this._room.id), body)
        .then((answer) => {
          if (status) status.textContent = '';
          this._setInjected(answer && answer.injected);
        }, function (error) {
          if (status) status.textContent = 'Could not inject the violation: ' + error.message;
        });
    }
  }

  Supervisor.VERSION = 'sandbox';
  global.Supervisor = Supervisor;
})(window);
