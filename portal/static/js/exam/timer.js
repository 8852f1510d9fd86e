// The time left, its warnings ("5 minutes left", "1 minute left"), and the time limit.
import { $, cfg, CLOCK_TICK_MS, TIME_WARNINGS } from "./config.js";
import { announce } from "./announce.js";
import { timeLeftMs } from "./clock.js";
import { ENDED_BY, endSession } from "./end.js";
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
  if (state.phase !== "running") return;
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

// The server expires the attempt with what was saved; the page ends the proctoring
// (inside the vendor's frame the vendor does that, and moves on by itself).
function timeUp() {
  endSession(ENDED_BY.timeLimit());
  if (cfg.startMode !== "framed") endProctoring();
}
