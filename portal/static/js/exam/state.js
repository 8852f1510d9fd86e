// The page's one mutable state; every module reads and writes it here.
//   phase: "starting" (proctoring not running yet) -> "running" (questions shown)
//          -> "submitting" (back to "running" if the submit fails)
//          -> "closed" (submitted, time up, or ended by the proctor or the server).
export const state = {
  phase: "starting",
  sdk: null,                   // the Supervisor instance, once there is one
  questions: [],
  current: 0,                  // index into questions
  reviewing: false,            // the review is shown instead of the question
  deadlineMs: null,            // the server's deadline (epoch ms)
  clockOffsetMs: 0,            // server time minus browser time
  saveTimers: new Map(),       // question id -> pending save timer
  // posting: the metrics posts in flight, chained; leaving: the student logs out.
  metrics: { queue: [], lastQueuedAtMs: -Infinity, sent: false, violation: null,
             posting: Promise.resolve(), leaving: false },
  warned: new Set(),           // the TIME_WARNINGS already announced
  lastLeftSeconds: null,       // the time left at the previous tick
  pageStartMs: performance.now(),
};
