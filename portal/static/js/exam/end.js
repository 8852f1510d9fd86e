// The end of a session the student did not choose (the proctor, the proctoring system,
// the time limit, the server): ONE dialog, which says who ended it, that the saved
// answers were graded, what to do next, and leads to the attempt's result page.
import { $, cfg } from "./config.js";
import { api } from "./api.js";
import { openModal } from "./dialogs.js";
import { log } from "./log.js";
import { flushMetrics } from "./metrics.js";
import { endProctoring, hideSdkUi } from "./sdk.js";
import { state } from "./state.js";

export const ENDED_BY = {
  proctor: (name) => `A proctor (${name}) ended your proctoring session.`,
  system: () => "The proctoring system ended your session (timeout or deadline).",
  timeLimit: () => "The time limit ended your test.",
  server: (message) => `The server closed your attempt: ${message}`,
};

let shown = false;

/** Stops the test where it is (no more saves or metrics) and shows the end dialog with
 * `message` (who ended it). `sendMetrics`: the attempt still runs on the server (a
 * proctor's end the page reports next), so the queued metrics go first; otherwise they
 * are dropped (the server refuses them once the attempt closed or its time is up).
 * Resolves once they are sent. */
export function endSession(message, { sendMetrics = false } = {}) {
  if (!sendMetrics) state.metrics.queue.length = 0;
  state.phase = "closed";
  const flushed = flushMetrics();
  state.saveTimers.forEach((timer) => clearTimeout(timer));
  state.saveTimers.clear();
  document.querySelectorAll("#test input, #test button, #test textarea").forEach((el) => {
    el.disabled = true;
  });
  $("lockout-message").textContent = message;
  if (!shown) {
    shown = true;
    hideSdkUi();
    const dialog = $("lockout");
    openModal(dialog, { focus: dialog });
  }
  return flushed;
}

/** The SDK's `stop` event: the proctor or the proctoring system ended the session. The
 * page reports it (the server closes and grades the attempt), after the last metrics. */
export function onProctoringStop(session) {
  log("event", "stop", session);
  if (state.phase === "closed") return;  // our own stop() after a submit or the time limit
  const message = session && session.proctor ? ENDED_BY.proctor(session.proctor) : ENDED_BY.system();
  endSession(message, { sendMetrics: true })
    .then(() => api("POST", cfg.urls.stopped))
    .catch((error) => log("error", "report stop", error.message));
}

/** The server answered 409: the attempt closed elsewhere (time, proctor, webhook), so
 * the proctoring session has nothing left to watch (in the vendor's frame the vendor
 * ends it). */
export function closedElsewhere(message) {
  if (state.phase === "closed") return;
  endSession(ENDED_BY.server(message));
  if (cfg.startMode !== "framed") endProctoring();
}
