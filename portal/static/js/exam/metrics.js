// The SDK's metrics events: the indicator on the page, the connection notice, a polite
// announcement when a violation starts, changes or ends, and the samples for the server.
import { $, cfg, METRICS_BATCH_SIZE, METRICS_FLUSH_INTERVAL_MS, METRICS_GAP_MS,
         NO_NETWORK_LEVEL } from "./config.js";
import { announce } from "./announce.js";
import { api } from "./api.js";
import { log } from "./log.js";
import { state } from "./state.js";

const metricName = (code) => (cfg.metricNames || {})[code] || code || "";
const metricAdvice = (code) => (cfg.metricAdvice || {})[code] || "";

// The real SDK keeps emitting metrics without its socket, with n1 ("no network") at 100
// (contract §1.6): that is how the page learns the proctoring connection dropped.
function showConnection(metrics) {
  const lost = !!(metrics && Number(metrics.n1) >= NO_NETWORK_LEVEL);
  const box = $("connection-status");
  if (lost === !box.hidden) return;
  box.hidden = !lost;
  log("event", lost ? "connection lost" : "connection restored");
}

// Said once when a violation starts or its cause changes, and once when it ends; never
// the score on every event.
function announceViolation(data) {
  const peak = data.violated ? (data.peak || "") : null;
  if (peak === state.metrics.violation) return;
  const before = state.metrics.violation;
  state.metrics.violation = peak;
  if (peak !== null) {
    announce(`Proctoring warning: ${metricName(peak) || "a rule is not kept"}. ${metricAdvice(peak)}`.trim());
  } else if (before !== null) {
    announce("The proctoring warning has cleared.");
  }
}

export function onMetrics(data) {
  log("event", "metrics", data);
  showConnection(data && data.metrics);
  // Shown as received: servers differ in how they compute score and violated.
  const box = $("metrics-indicator");
  box.hidden = false;
  box.className = "metrics-indicator " + (data.violated ? "violated" : "ok");
  let text = `Proctoring score ${data.score} / threshold ${data.threshold}`;
  if (data.violated) text += ": " + (metricName(data.peak) || "violation");
  box.textContent = text;
  if (state.phase === "running") announceViolation(data);
  queueSample(data);
}

function queueSample(data) {
  // The server takes samples only while the attempt runs: from the submit on there is
  // nothing more to send (what was queued went before it, or with the end).
  // Nor once the student chose to log out: a post after the logout could only be refused.
  const m = state.metrics;
  if (state.phase === "submitting" || state.phase === "closed" || m.leaving) return;
  const sample = { metrics: data.metrics, peak: data.peak, score: data.score,
                   threshold: data.threshold, violated: !!data.violated };
  const now = Date.now();
  const last = m.queue[m.queue.length - 1];
  if (now - m.lastQueuedAtMs >= METRICS_GAP_MS) {
    m.queue.push(sample);
    m.lastQueuedAtMs = now;
  } else if (sample.violated && last && !last.violated) {
    m.queue[m.queue.length - 1] = sample;  // a violation matters more
  } else {
    return;  // over the pace the server accepts
  }
  if (m.queue.length >= METRICS_BATCH_SIZE || sample.violated || !m.sent) flushMetrics();
}

/** Sends what is queued (before a stop report, a submit or a logout too: the server
 * takes samples only while the attempt runs and the student is logged in). One post at a
 * time, in order: the promise settles once every post started before it has. Never
 * rejects. */
export function flushMetrics() {
  const m = state.metrics;
  m.posting = m.posting.then(sendQueued);
  return m.posting;
}

async function sendQueued() {
  const m = state.metrics;
  if (!m.queue.length) return;
  const batch = m.queue.splice(0, m.queue.length);
  m.sent = true;
  try {
    await api("POST", cfg.urls.metrics, { samples: batch });
  } catch (error) {
    log("error", "metrics upload", error.message);
  }
}

/** The student logs out: what is queued goes now, nothing is queued after it. */
export function stopMetricsForLogout() {
  state.metrics.leaving = true;
  return flushMetrics();
}

export function startMetricsFlushing() {
  setInterval(flushMetrics, METRICS_FLUSH_INTERVAL_MS);
  window.addEventListener("pagehide", flushMetrics);
}
