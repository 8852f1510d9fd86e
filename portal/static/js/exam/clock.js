// The server's deadline and clock, as the page knows them.
import { state } from "./state.js";

/** Any answer of the attempt's API that carries `deadline` and `now` (ISO) moves the
 * page's deadline and clock offset: an allowance staff add shows within seconds. */
export function syncClock(data) {
  if (!data || typeof data.deadline !== "string" || typeof data.now !== "string") return;
  const deadline = Date.parse(data.deadline);
  const now = Date.parse(data.now);
  if (Number.isNaN(deadline) || Number.isNaN(now)) return;
  state.deadlineMs = deadline;
  state.clockOffsetMs = now - Date.now();
}

/** Milliseconds left until the deadline, by the server's clock (never negative). */
export function timeLeftMs() {
  return Math.max(0, state.deadlineMs - (Date.now() + state.clockOffsetMs));
}
