// The single-page test, wrapped in the Supervisor SDK lifecycle:
//   init() -> start() -> (server: started) -> questions -> answers saved as you go
//   -> submit (server grades and closes) -> stop() -> logout() -> result page.
// A `stop` event before submission locks the page and closes the attempt on the server.
// Server data comes from #attempt-config; the page never reloads while the test runs.
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("attempt-config").textContent);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var $ = function (id) { return document.getElementById(id); };

  var supervisor = null;
  var questions = [];
  var current = 0;
  var submitted = false;
  var locked = false;
  var clockOffset = 0; // server time minus browser time, ms
  var deadline = null;
  var saveTimers = {};
  var metricsQueue = [];
  // The server accepts cfg.metricsPerMinute samples a minute: the page queues at most
  // 80% of that (batches arrive bunched), dropping the events in between.
  var METRICS_GAP_MS = 1.25 * 60000 / (cfg.metricsPerMinute || 12);
  var lastQueuedAt = -Infinity;
  var metricsSent = false;
  var T0 = performance.now();

  // ---- evaluator panel ---------------------------------------------------------------
  function log(kind, name, data) {
    var list = $("sdk-log");
    if (!list) return;
    var item = document.createElement("li");
    var ms = Math.round(performance.now() - T0);
    item.textContent = "+" + ms + " ms  " + kind + " " + name +
      (data === undefined ? "" : "  " + safeJson(data));
    list.appendChild(item);
  }
  function safeJson(value) {
    try { return JSON.stringify(value); } catch (e) { return String(value); }
  }
  function showTokenPayload(token) {
    var box = $("token-payload");
    if (!box) return;
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var json = decodeURIComponent(escape(atob(part)));
      box.textContent = JSON.stringify(JSON.parse(json), null, 2);
    } catch (e) { box.textContent = "(could not decode: " + e + ")"; }
  }

  // ---- talking to the portal ---------------------------------------------------------
  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrfToken },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || (response.status + " " + response.statusText));
          error.status = response.status;
          error.retry = !!data.retry; // the server says: asking again soon may succeed
          if (response.status === 401) loginEnded();
          throw error;
        }
        // Any answer with the attempt's deadline and the server's clock (questions,
        // answer saves, metrics posts) re-bases the timer: an allowance shows at once.
        if (data.deadline && data.now) {
          deadline = Date.parse(data.deadline);
          clockOffset = Date.parse(data.now) - Date.now();
        }
        return data;
      });
    });
  }

  // The portal's login ended (idle or absolute lifetime, or a logout elsewhere): the
  // answers are saved; logging in again brings the student back to this attempt.
  function loginEnded() {
    $("login-ended").hidden = false;
  }

  function fetchToken() {
    log("portal", "POST token");
    return api("POST", cfg.urls.token).then(function (data) {
      showTokenPayload(data.token);
      return data.token;
    });
  }

  // ---- the proctoring lifecycle ------------------------------------------------------
  function setStatus(text) { $("proctoring-status").textContent = text; }

  // What a student can do about each named SDK error (contract §1.1).
  var SDK_ERROR_ADVICE = {
    Unsupported: "Open the exam in a current Chrome, Edge or Firefox.",
    WrongSize: "Make the browser window larger (or maximise it).",
    NoRecorder: "Your browser cannot record; use a current Chrome, Edge or Firefox.",
    NoPicture: "The camera shows no picture: close other programs that use it.",
    NoVideo: "Allow the camera for this site and check that it is connected.",
    LowVolume: "Your microphone is too quiet: check its level and that it is not muted.",
    NoAudio: "Allow the microphone for this site and check that it is connected.",
    NoCapture: "Allow screen sharing and choose your entire screen.",
    Multiscreen: "Disconnect every display but one.",
    NoScreen: "Share your entire screen, not a window or a tab.",
    NoConnection: "Check your internet connection.",
    RtcError: "The video connection failed: check your network, or try another network."
  };

  function showStartError(error) {
    var name = error && error.name && error.name !== "Error" ? error.name : "";
    var message = ((error && error.message) || String(error)).replace(/\.$/, "");
    var text;
    if (name) {
      text = name + ": " + message + ". " + (SDK_ERROR_ADVICE[name] || "");
    } else if (error && error.status) {
      text = message + ".";  // the portal's own answer says what to do
    } else {
      // The SDK rejects a refused request with a bare Error(statusText) (contract §1.6).
      text = "The proctoring service did not accept the session (" + message + "). " +
             "Press Retry; if it keeps failing, tell your instructor.";
    }
    $("proctoring-error-message").textContent =
      text.trim() + " The test is shown only once proctoring runs.";
    $("proctoring-error").hidden = false;
    setStatus("Proctoring did not start.");
    log("error", "start failed", { name: error && error.name, message: message });
  }

  function loadSdkScript() {
    // Called by Retry when the first <script> tag failed (blocked, network).
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = cfg.sdkUrl + (cfg.sdkUrl.indexOf("?") < 0 ? "?" : "&") + "retry=" + Date.now();
      script.onload = resolve;
      script.onerror = function () { reject(sdkUnavailable()); };
      document.head.appendChild(script);
    });
  }

  function sdkUnavailable() {
    var error = new Error("The proctoring script could not be loaded from " + cfg.sdkUrl +
                          " (blocked by an extension, or the server is unreachable)");
    error.name = "SdkUnavailable";
    return error;
  }

  function timed(name, promise) {
    var t = performance.now();
    log("call", name + "()");
    return promise.then(function (value) {
      log("resolved", name + "()", { ms: Math.round(performance.now() - t), value: value });
      return value;
    }, function (error) {
      log("rejected", name + "()", { ms: Math.round(performance.now() - t),
                                     name: error && error.name, message: error && error.message });
      throw error;
    });
  }

  function begin() {
    $("proctoring-error").hidden = true;
    setStatus("Connecting to the proctoring service…");
    var ready = typeof window.Supervisor === "function" ? Promise.resolve() : loadSdkScript();
    ready.then(function () {
      if (!supervisor) {
        supervisor = new window.Supervisor({ url: cfg.proctorUrl });
        log("call", "new Supervisor", { url: cfg.proctorUrl });
        supervisor.on("start", function (session) { log("event", "start", session); });
        supervisor.on("stop", onProctoringStop);
        supervisor.on(["metrics"], onMetrics);
        supervisor.on("fail", function (error) { log("event", "fail", error); });
      }
      setStatus("Follow the proctoring steps shown on the screen…");
      return timed("init", supervisor.init({ provider: cfg.provider, token: fetchToken }));
    }).then(function () {
      setStatus("Starting the proctoring session…");
      return timed("start", supervisor.start());
    }).then(function () {
      log("portal", "POST started");
      return api("POST", cfg.urls.started);
    }).then(loadQuestions).catch(function (error) {
      if (error && error.status === 409) { window.location.reload(); return; }
      showStartError(error);
    });
  }

  // Data-attribute variant: an SDK build with auto-start creates window.supervisor and
  // runs init() + start() itself, so here (only here) the page waits for the `start`
  // event. Builds without auto-start (the vendor's 3.20.5, the sandbox's) create nothing:
  // the page notices within AUTO_START_GRACE_MS and sends the student to the explicit page.
  var AUTO_START_GRACE_MS = 4000;

  function autoStarted() {
    setStatus("Follow the proctoring steps shown on the screen…");
    var waited = 0;
    (function waitForSdk() {
      if (window.supervisor && typeof window.supervisor.on === "function") {
        listenToAutoStart(window.supervisor);
        return;
      }
      waited += 250;
      if (waited >= AUTO_START_GRACE_MS) { autoStartMissing(); return; }
      setTimeout(waitForSdk, 250);
    })();
  }

  function listenToAutoStart(sdk) {
    supervisor = sdk;
    log("event", "auto-start", "window.supervisor found");
    supervisor.on("stop", onProctoringStop);
    supervisor.on(["metrics"], onMetrics);
    supervisor.on("start", function (session) {
      log("event", "start", session);
      api("POST", cfg.urls.started).then(loadQuestions).catch(showStartError);
    });
  }

  function autoStartMissing() {
    log("error", "auto-start", "window.supervisor not created within " + AUTO_START_GRACE_MS + " ms");
    var error = new Error("This proctoring script does not start a session by itself " +
                          "(its version has no data-attribute auto-start)");
    error.name = "NoAutoStart";
    showStartError(error);
    $("retry-button").hidden = true;
    $("explicit-page").hidden = false;
  }

  function onProctoringStop(session) {
    log("event", "stop", session);
    if (submitted || locked) return;
    var byProctor = !!(session && session.proctor);
    // The last metrics go first: the server takes them only while the attempt runs.
    // The report carries nothing else: the server records it as the page's word.
    lockout(byProctor ? "A proctor (" + session.proctor + ") ended your proctoring session."
                      : "The proctoring system ended your session (timeout or deadline).")
      .then(function () { return api("POST", cfg.urls.stopped); })
      .catch(function (error) { log("error", "report stop", error.message); });
  }

  function lockout(message) {
    locked = true;
    var flushed = flushMetrics();
    $("lockout-message").textContent = message;
    $("lockout").hidden = false;
    document.querySelectorAll("#test input, #test button, #test textarea").forEach(function (el) {
      el.disabled = true;
    });
    Object.keys(saveTimers).forEach(function (id) { clearTimeout(saveTimers[id]); });
    return flushed;
  }

  // ---- metrics -----------------------------------------------------------------------
  var METRIC_NAMES = {
    b1: "browser not supported", b2: "focus moved to another window",
    b3: "full screen disabled", c1: "webcam disabled",
    c2: "face invisible or not looking at the camera", c3: "several faces",
    c4: "face does not match the profile", c5: "similar profile found",
    k1: "atypical keyboard writing", m1: "microphone muted or too quiet",
    m2: "conversation or noise", n1: "no network", n2: "no connection to the phone camera",
    s1: "screen not shared", s2: "second display used"
  };

  // The real SDK keeps emitting metrics without its socket, with n1 ("no network") at
  // 100 (contract §1.6): that is how the page learns the proctoring connection dropped.
  function showConnection(metrics) {
    var lost = !!(metrics && Number(metrics.n1) >= 100);
    var box = $("connection-status");
    if (lost === !box.hidden) return;
    box.hidden = !lost;
    log("event", lost ? "connection lost" : "connection restored");
  }

  function onMetrics(data) {
    log("event", "metrics", data);
    showConnection(data && data.metrics);
    // Shown as received: servers differ in how they compute score and violated.
    var box = $("metrics-indicator");
    box.hidden = false;
    box.className = "metrics-indicator " + (data.violated ? "violated" : "ok");
    var text = "Proctoring score " + data.score + " / threshold " + data.threshold;
    if (data.violated) text += ": " + (METRIC_NAMES[data.peak] || data.peak || "violation");
    box.textContent = text;
    var sample = { metrics: data.metrics, peak: data.peak, score: data.score,
                   threshold: data.threshold, violated: !!data.violated };
    var now = Date.now();
    var last = metricsQueue[metricsQueue.length - 1];
    if (now - lastQueuedAt >= METRICS_GAP_MS) {
      metricsQueue.push(sample);
      lastQueuedAt = now;
    } else if (sample.violated && last && !last.violated) {
      metricsQueue[metricsQueue.length - 1] = sample; // a violation matters more
    } else {
      return; // over the pace the server accepts
    }
    if (metricsQueue.length >= 3 || sample.violated || !metricsSent) flushMetrics();
  }

  function flushMetrics() {
    // Before a stop report or a submit: the server takes samples only while it runs.
    if (!metricsQueue.length) return Promise.resolve();
    var batch = metricsQueue.splice(0, metricsQueue.length);
    metricsSent = true;
    return api("POST", cfg.urls.metrics, { samples: batch }).catch(function (error) {
      log("error", "metrics upload", error.message);
    });
  }
  setInterval(flushMetrics, 10000);

  // ---- inside the vendor's frame -----------------------------------------------------
  // The vendor runs the session; the server releases the questions once the vendor
  // confirms it started (its status API), which may take a moment: wait and ask again.
  var CONFIRM_TRIES = 10;
  var CONFIRM_WAIT_MS = 3000;

  function startFramed(triesLeft) {
    $("proctoring-error").hidden = true;
    setStatus("Waiting for the proctoring service to confirm your session…");
    api("POST", cfg.urls.started).then(loadQuestions).catch(function (error) {
      if (error && error.retry && triesLeft > 1) {
        log("portal", "start not confirmed yet", error.message);
        setTimeout(function () { startFramed(triesLeft - 1); }, CONFIRM_WAIT_MS);
        return;
      }
      showStartError(error);
    });
  }

  // ---- questions and answers ---------------------------------------------------------
  function loadQuestions() {
    return api("GET", cfg.urls.questions).then(function (data) {
      questions = data.questions;
      clockOffset = Date.parse(data.now) - Date.now();
      deadline = Date.parse(data.deadline);
      $("proctoring").hidden = true;
      $("test").hidden = false;
      renderNav();
      show(0);
      tick();
    });
  }

  function renderNav() {
    var nav = $("question-nav");
    nav.innerHTML = "";
    questions.forEach(function (q, i) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "outline nav-item";
      button.textContent = String(i + 1);
      button.setAttribute("aria-label", "Question " + (i + 1));
      button.addEventListener("click", function () { show(i); });
      li.appendChild(button);
      nav.appendChild(li);
    });
    markAnswered();
  }

  function markAnswered() {
    var items = $("question-nav").querySelectorAll("button");
    questions.forEach(function (q, i) {
      var answered = q.answer !== null && q.answer !== "" &&
        !(Array.isArray(q.answer) && !q.answer.length);
      items[i].classList.toggle("answered", answered);
      items[i].setAttribute("aria-current", i === current ? "step" : "false");
    });
  }

  function show(index) {
    current = Math.max(0, Math.min(index, questions.length - 1));
    var q = questions[current];
    var box = $("question");
    box.innerHTML = "";
    var legend = document.createElement("legend");
    legend.textContent = "Question " + (current + 1) + " of " + questions.length +
      " (" + q.points + (q.points === 1 ? " point" : " points") + ")";
    var prompt = document.createElement("p");
    prompt.className = "prompt";
    prompt.textContent = q.prompt;
    box.appendChild(legend);
    box.appendChild(prompt);
    if (q.kind === "text") {
      var label = document.createElement("label");
      label.textContent = "Your answer";
      var input = document.createElement("input");
      input.type = "text";
      input.name = "q" + q.id;
      input.maxLength = 2000;
      input.value = q.answer || "";
      input.addEventListener("input", function () { changed(q, input.value); });
      label.appendChild(input);
      box.appendChild(label);
    } else {
      q.options.forEach(function (option, i) {
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = q.kind === "single" ? "radio" : "checkbox";
        input.name = "q" + q.id;
        input.value = String(i);
        input.checked = q.kind === "single" ? q.answer === i
                                            : (q.answer || []).indexOf(i) >= 0;
        input.addEventListener("change", function () { changed(q, readChoice(q)); });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + option));
        box.appendChild(label);
      });
    }
    $("prev-button").disabled = locked || current === 0;
    $("next-button").disabled = locked || current === questions.length - 1;
    if (locked) box.querySelectorAll("input").forEach(function (el) { el.disabled = true; });
    markAnswered();
  }

  function readChoice(q) {
    var checked = Array.prototype.map.call(
      document.querySelectorAll('input[name="q' + q.id + '"]:checked'),
      function (el) { return Number(el.value); });
    return q.kind === "single" ? (checked.length ? checked[0] : null) : checked;
  }

  function changed(q, value) {
    q.answer = value;
    markAnswered();
    $("save-status").textContent = "Saving…";
    clearTimeout(saveTimers[q.id]);
    saveTimers[q.id] = setTimeout(function () { save(q); }, 400);
  }

  function save(q) {
    delete saveTimers[q.id];
    var url = cfg.urls.answer.replace("__QUESTION__", String(q.id));
    return api("PUT", url, { value: q.answer }).then(function () {
      if (!Object.keys(saveTimers).length) $("save-status").textContent = "All answers saved";
    }, function (error) {
      $("save-status").textContent = "Not saved: " + error.message;
      if (error.status === 409) closedElsewhere(error.message);
    });
  }

  function flushSaves() {
    var pending = Object.keys(saveTimers).map(function (id) {
      clearTimeout(saveTimers[id]);
      return save(questions.filter(function (q) { return String(q.id) === id; })[0]);
    });
    return Promise.all(pending);
  }

  function closedElsewhere(message) {
    // The server closed the attempt (time, proctor, webhook): show its own state.
    if (locked || submitted) return;
    lockout(message);
    setTimeout(function () { window.location.reload(); }, 1500);
  }

  // ---- time --------------------------------------------------------------------------
  function tick() {
    if (submitted || locked) return;
    var left = Math.max(0, deadline - (Date.now() + clockOffset));
    var seconds = Math.floor(left / 1000);
    $("time-left").textContent = Math.floor(seconds / 60) + ":" + ("0" + seconds % 60).slice(-2);
    if (left <= 0) { timeUp(); return; }
    setTimeout(tick, 1000);
  }

  function timeUp() {
    submitted = true; // the server expired the attempt; no lockout on the stop event
    lockout("Time is up. Your saved answers were graded.");
    if (cfg.framed) return; // the vendor's frame: it ends the session and moves on
    endProctoring().then(function () { window.location.assign(cfg.urls.result); });
  }

  function showSubmitted(score, maxScore) {
    $("proctoring").hidden = true;
    $("test").hidden = true;
    $("submitted-score").textContent = score + " / " + maxScore;
    $("submitted").hidden = false;
  }

  // ---- submit ------------------------------------------------------------------------
  function submit() {
    if (!window.confirm("Submit your answers? You cannot change them afterwards.")) return;
    $("submit-button").disabled = true;
    flushSaves().then(flushMetrics).then(function () {
      log("portal", "POST submit");
      return api("POST", cfg.urls.submit);
    }).then(function (data) {
      submitted = true;
      if (cfg.framed) {
        // Inside the vendor's frame: the vendor ends the session and moves the window.
        showSubmitted(data.score, data.max_score);
        return;
      }
      return endProctoring().then(function () { window.location.assign(data.result_url); });
    }).catch(function (error) {
      $("submit-button").disabled = false;
      $("save-status").textContent = "Not submitted: " + error.message;
      if (error.status === 409) closedElsewhere(error.message);
    });
  }

  function endProctoring() {
    // The attempt is already graded and closed; a failing stop() is retried, never undone.
    function tryStop(triesLeft) {
      return timed("stop", supervisor.stop()).catch(function (error) {
        if (triesLeft <= 1) throw error;
        return new Promise(function (r) { setTimeout(r, 1000); }).then(function () {
          return tryStop(triesLeft - 1);
        });
      });
    }
    if (!supervisor) return Promise.resolve();
    return tryStop(3).then(function () {
      return timed("logout", supervisor.logout());
    }).catch(function (error) { log("error", "stop/logout", error.message); });
  }

  // ---- wiring ------------------------------------------------------------------------
  $("question-form").addEventListener("submit", function (event) { event.preventDefault(); });
  $("prev-button").addEventListener("click", function () { show(current - 1); });
  $("next-button").addEventListener("click", function () { show(current + 1); });
  $("submit-button").addEventListener("click", submit);
  $("retry-button").addEventListener("click", cfg.autoInit ? function () {
    window.location.reload();
  } : cfg.framed ? function () { startFramed(CONFIRM_TRIES); } : begin);
  window.addEventListener("pagehide", flushMetrics);

  if (cfg.state === "terminated") {
    $("proctoring").hidden = true;
    lockout(cfg.closeReason || "The proctoring session ended.");
  } else if (cfg.framed && cfg.state !== "created" && cfg.state !== "in_progress") {
    showSubmitted(cfg.score, cfg.maxScore);
  } else if (cfg.framed && window.top === window.self) {
    // Opened on its own, outside the vendor's frame: nobody proctors it.
    $("proctoring").hidden = true;
    $("framed-top-level").hidden = false;
  } else if (cfg.framed) {
    startFramed(CONFIRM_TRIES);
  } else if (cfg.sdkUrl && typeof window.Supervisor !== "function") {
    showStartError(sdkUnavailable());
  } else if (cfg.autoInit) {
    autoStarted();
  } else {
    begin();
  }
})();
