// The single-page test, wrapped in the Supervisor SDK lifecycle:
//   init() -> start() -> (server: started) -> questions -> answers saved as you go
//   -> review -> confirm -> submit (server grades and closes) -> stop() -> logout() -> result.
// A `stop` event before submission ends the test (one dialog) and the attempt on the server.
// ES modules in ./exam/ (no build step); server data comes from #attempt-config; the
// server chooses how the page starts (page_config.startMode).
import { $, cfg } from "./exam/config.js";
import { openModal } from "./exam/dialogs.js";
import { endSession } from "./exam/end.js";
import { reserveSpaceFor } from "./exam/layout.js";
import { startMetricsFlushing, stopMetricsForLogout } from "./exam/metrics.js";
import { showStartError, sdkUnavailable, startAuto, startExplicit,
         startFramed } from "./exam/proctoring.js";
import { saveNow, showSubmitted, wireQuestions } from "./exam/questions.js";
import { sdkContainer } from "./exam/sdk.js";
import { state } from "./exam/state.js";

// Log out while the test runs asks first: the test goes on (and its time) without the page.
function guardLogout() {
  const form = document.querySelector(`form[action="${cfg.urls.logout}"]`);
  if (!form) return;
  form.addEventListener("submit", (event) => {
    if (state.phase !== "running") return;
    event.preventDefault();
    const dialog = $("logout-confirm");
    const close = openModal(dialog, { focus: dialog, onCancel: () => close() });
    $("logout-stay").onclick = () => close();
    $("logout-yes").onclick = async () => {
      $("logout-yes").disabled = true;
      await saveNow();
      await stopMetricsForLogout();
      form.submit();  // no submit event: the guard does not ask again
    };
  });
}

function requireSdk(start) {
  return () => {
    if (typeof window.Supervisor !== "function") showStartError(sdkUnavailable());
    else start();
  };
}

const START = {
  ended: () => {
    $("proctoring").hidden = true;
    endSession(cfg.closeReason || "The proctoring session ended.");
  },
  submitted: () => showSubmitted(cfg.score, cfg.maxScore),
  framed: () => {
    if (window.top === window.self) {
      // Opened on its own, outside the vendor's frame: nobody proctors it.
      $("proctoring").hidden = true;
      $("framed-top-level").hidden = false;
    } else {
      startFramed();
    }
  },
  auto: requireSdk(startAuto),
  explicit: requireSdk(startExplicit),
};

const RETRY = {
  auto: () => window.location.reload(),
  framed: () => startFramed(),
  explicit: () => startExplicit(),
};

wireQuestions();
guardLogout();
startMetricsFlushing();
reserveSpaceFor(sdkContainer());
$("retry-button").addEventListener("click", RETRY[cfg.startMode] || RETRY.explicit);
(START[cfg.startMode] || START.explicit)();
