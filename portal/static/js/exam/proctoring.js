// Starting the proctored test, in the mode the server chose (page_config.startMode):
// `explicit` (the page runs init() and start()), `auto` (the SDK's data-attribute
// auto-start), `framed` (inside the vendor's frame, the vendor runs the session).
// Each ends in the same step: report the start to the server, then load the questions.
import { $, AUTO_START_GRACE_MS, AUTO_START_POLL_MS, cfg, CONFIRM_TRIES,
         CONFIRM_WAIT_MS } from "./config.js";
import { announce } from "./announce.js";
import { api } from "./api.js";
import { onProctoringStop } from "./end.js";
import { log, showTokenPayload } from "./log.js";
import { onMetrics } from "./metrics.js";
import { loadQuestions } from "./questions.js";
import { sdkContainer, timed } from "./sdk.js";
import { state } from "./state.js";

function setStatus(text) {
  $("proctoring-status").textContent = text;
  announce(text);
}

/** The one "report started, then load the questions" step of every mode. */
async function reportStartedThenLoad() {
  log("portal", "POST started");
  await api("POST", cfg.urls.started);
  await loadQuestions();
}

// What a student can do about each named SDK error (contract §1.1).
const SDK_ERROR_ADVICE = {
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
  RtcError: "The video connection failed: check your network, or try another network.",
};

export function showStartError(error) {
  const name = error && error.name && error.name !== "Error" ? error.name : "";
  const message = ((error && error.message) || String(error)).replace(/\.$/, "");
  let text;
  if (name) {
    text = `${name}: ${message}. ${SDK_ERROR_ADVICE[name] || ""}`;
  } else if (error && error.status) {
    text = message + ".";  // the portal's own answer says what to do
  } else {
    // The SDK rejects a refused request with a bare Error(statusText) (contract §1.6).
    text = `The proctoring service did not accept the session (${message}). ` +
           "Press Retry; if it keeps failing, tell your instructor.";
  }
  $("proctoring-error-message").textContent = text.trim() + " The test is shown only once proctoring runs.";
  $("proctoring-error").hidden = false;
  $("proctoring-status").textContent = "Proctoring did not start.";
  announce("Proctoring did not start. " + text.trim());
  log("error", "start failed", { name: error && error.name, message });
}

export function sdkUnavailable() {
  const error = new Error(`The proctoring script could not be loaded from ${cfg.sdkUrl} ` +
                          "(blocked by an extension, or the server is unreachable)");
  error.name = "SdkUnavailable";
  return error;
}

// Called by Retry when the first <script> tag failed (blocked, network).
function loadSdkScript() {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = cfg.sdkUrl + (cfg.sdkUrl.includes("?") ? "&" : "?") + "retry=" + Date.now();
    script.onload = resolve;
    script.onerror = () => reject(sdkUnavailable());
    document.head.appendChild(script);
  });
}

function listen(sdk) {
  sdk.on("stop", onProctoringStop);
  sdk.on(["metrics"], onMetrics);
}

async function fetchToken() {
  log("portal", "POST token");
  const data = await api("POST", cfg.urls.token);
  showTokenPayload(data.token);
  return data.token;
}

/** explicit: new Supervisor, init() (its preliminary steps), start(), then the test. */
export async function startExplicit() {
  $("proctoring-error").hidden = true;
  setStatus("Connecting to the proctoring service…");
  try {
    if (typeof window.Supervisor !== "function") await loadSdkScript();
    if (!state.sdk) {
      state.sdk = new window.Supervisor({ url: cfg.proctorUrl, el: sdkContainer() });
      log("call", "new Supervisor", { url: cfg.proctorUrl });
      state.sdk.on("start", (session) => log("event", "start", session));
      state.sdk.on("fail", (error) => log("event", "fail", error));
      listen(state.sdk);
    }
    setStatus("Follow the proctoring steps shown on the screen…");
    await timed("init", state.sdk.init({ provider: cfg.provider, token: fetchToken }));
    setStatus("Starting the proctoring session…");
    await timed("start", state.sdk.start());
    await reportStartedThenLoad();
  } catch (error) {
    if (error && error.status === 409) { window.location.reload(); return; }
    showStartError(error);
  }
}

// auto: an SDK build with auto-start creates window.supervisor and runs init() + start()
// itself, so here (only here) the page waits for the `start` event. Builds without it
// (the vendor's 3.20.5, the sandbox's) create nothing: the page notices within
// AUTO_START_GRACE_MS and sends the student to the explicit page.
export function startAuto() {
  setStatus("Follow the proctoring steps shown on the screen…");
  const givesUpAt = performance.now() + AUTO_START_GRACE_MS;
  (function waitForSdk() {
    const sdk = window.supervisor;
    if (sdk && typeof sdk.on === "function") {
      state.sdk = sdk;
      log("event", "auto-start", "window.supervisor found");
      listen(sdk);
      sdk.on("start", (session) => {
        log("event", "start", session);
        reportStartedThenLoad().catch(showStartError);
      });
      return;
    }
    if (performance.now() >= givesUpAt) { autoStartMissing(); return; }
    setTimeout(waitForSdk, AUTO_START_POLL_MS);
  })();
}

function autoStartMissing() {
  log("error", "auto-start", `window.supervisor not created within ${AUTO_START_GRACE_MS} ms`);
  const error = new Error("This proctoring script does not start a session by itself " +
                          "(its version has no data-attribute auto-start)");
  error.name = "NoAutoStart";
  showStartError(error);
  $("retry-button").hidden = true;
  $("explicit-page").hidden = false;
}

// framed: the vendor runs the session; the server releases the questions once the vendor
// confirms it started (its status API), which may take a moment: wait and ask again.
export async function startFramed(triesLeft = CONFIRM_TRIES) {
  $("proctoring-error").hidden = true;
  setStatus("Waiting for the proctoring service to confirm your session…");
  try {
    await reportStartedThenLoad();
  } catch (error) {
    if (error && error.retry && triesLeft > 1) {
      log("portal", "start not confirmed yet", error.message);
      setTimeout(() => startFramed(triesLeft - 1), CONFIRM_WAIT_MS);
      return;
    }
    showStartError(error);
  }
}
