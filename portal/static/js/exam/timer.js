// The time left, its warnings ("5 minutes left", "1 minute left"), and the time limit.
import { $, cfg, CLOCK_TICK_MS, TIME_UP_GRACE_MS, TIME_WARNINGS } from "./config.js";
import { announce } from "./announce.js";
import { timeLeftMs } from "./clock.js";
import { ENDED_BY, endSession } from "./end.js";
import { log } from "./log.js";
import { endProctoring } from "./sdk.js";
import { state } from "./state.js";

// A warning is said when the time left falls to it while the page watches (not on a
// page loaded below it), and may be said again if an allowance lifts the time above it.
function warn(leftSeconds) {
  const before = state.lastLeftSeconds;
  state.lastLeftSeconds = leftSeconds;
  TIME_WARNINGS.forEach((warning) => {
    if (leftSeconds > warning.leftSeconds) { state.warned.delete(warning); return; }
    if (before !== null && before > warning.leftSeconds && !state.warned.has(warning)) {
      state.warned.add(warning);
      announce(warning.text);
    }
  });
  const low = TIME_WARNINGS.some((warning) => leftSeconds <= warning.leftSeconds);
  $("time-box").classList.toggle("time-low", low);
}

function tick() {
  if (state.phase === "closed") return;
  const left = timeLeftMs();
  const seconds = Math.floor(left / 1000);
  $("time-left").textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  warn(seconds);
  if (left <= 0) { timeUp(); return; }
  setTimeout(tick, CLOCK_TICK_MS);
}

export function startClock() {
  tick();
}

// The server expires the attempt with what was saved, on its next request after the
// deadline: the page makes that request (the result page, which closes a due attempt)
// before it ends the proctoring, or the proctoring server's "stopped" webhook could close
// it first, as ended by the proctoring. Inside the vendor's frame the vendor ends the
// session and moves on by itself.
async function timeUp() {
  endSession(ENDED_BY.timeLimit());
  if (cfg.startMode === "framed") return;
  await new Promise((resolve) => setTimeout(resolve, TIME_UP_GRACE_MS));
  try {
    await fetch(cfg.urls.result, { credentials: "same-origin" });
  } catch (error) {
    log("error", "time up", error.message);
  }
  await endProctoring();
}
