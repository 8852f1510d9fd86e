// The end of a session the student did not choose (the proctor, the proctoring system,
// the time limit, the server): ONE dialog, which says who ended it, that the saved
// answers were graded, what to do next, and leads to the attempt's result page.
import { $, cfg } from "./config.js";
import { api } from "./api.js";
import { openModal } from "./dialogs.js";
import { log } from "./log.js";
import { flushMetrics } from "./metrics.js";
import { hideSdkUi } from "./sdk.js";
import { state } from "./state.js";

export const ENDED_BY = {
  proctor: (name) => `A proctor (${name}) ended your proctoring session.`,
  system: () => "The proctoring system ended your session (timeout or deadline).",
  timeLimit: () => "The time limit ended your test.",
  server: (message) => `The server closed your attempt: ${message}`,
};

let shown = false;

/** Stops the test where it is (no more saves; the last metrics go out) and shows the
 * end dialog with `message` (who ended it). Resolves once the metrics are sent. */
export function endSession(message) {
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
  endSession(message)
    .then(() => api("POST", cfg.urls.stopped))
    .catch((error) => log("error", "report stop", error.message));
}

/** The server answered 409: the attempt closed elsewhere (time, proctor, webhook). */
export function closedElsewhere(message) {
  if (state.phase === "closed") return;
  endSession(ENDED_BY.server(message));
}
