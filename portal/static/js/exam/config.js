// What the server tells the page (#attempt-config, built by page_config in
// portal/proctoring/providers/supervisor.py) and the page's named timings.
export const cfg = JSON.parse(document.getElementById("attempt-config").textContent);
export const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
export const $ = (id) => document.getElementById(id);

// An answer is saved this long after the last keystroke or click on it.
export const SAVE_DEBOUNCE_MS = 400;
// Queued metrics samples go to the server at least this often.
export const METRICS_FLUSH_INTERVAL_MS = 10_000;
// The server accepts cfg.metricsPerMinute samples a minute: the page queues at most 80%
// of that (batches arrive bunched), dropping the events in between.
export const METRICS_GAP_MS = 1.25 * 60_000 / (cfg.metricsPerMinute || 12);
// A batch this long goes at once.
export const METRICS_BATCH_SIZE = 3;
// The real SDK's metrics carry n1 ("no network") at this level once its socket is gone.
export const NO_NETWORK_LEVEL = 100;
// Data-attribute auto-start: how long the page waits for window.supervisor, and how often
// it looks.
export const AUTO_START_GRACE_MS = 4_000;
export const AUTO_START_POLL_MS = 250;
// Inside the vendor's frame: how often, and how far apart, the page asks the server to
// confirm the start (the vendor's status API may lag).
export const CONFIRM_TRIES = 10;
export const CONFIRM_WAIT_MS = 3_000;
// stop() after the attempt closed: tries, and the wait between them.
export const STOP_TRIES = 3;
export const STOP_RETRY_WAIT_MS = 1_000;
// The time left is redrawn this often.
export const CLOCK_TICK_MS = 1_000;
// After the deadline, the page waits this long (clocks differ a little) before it asks
// the server to close the attempt.
export const TIME_UP_GRACE_MS = 1_000;
// Announced once each, when the time left falls to them.
export const TIME_WARNINGS = [
  { leftSeconds: 300, text: "5 minutes left." },
  { leftSeconds: 60, text: "1 minute left." },
];
