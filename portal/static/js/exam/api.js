// The portal's JSON API, with the CSRF header; errors carry the server's words.
import { $, csrfToken } from "./config.js";
import { syncClock } from "./clock.js";

/** Resolves the JSON body of a 2xx answer; rejects with an Error whose message is the
 * server's `error`, with `status` and `retry` (asking again soon may succeed). A 401
 * (the login ended) also shows the "log in again" notice. */
export async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json",
               "X-CSRFToken": csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.retry = !!data.retry;
    if (response.status === 401) loginEnded();
    throw error;
  }
  syncClock(data);
  return data;
}

// The portal's login ended (idle or absolute lifetime, or a logout elsewhere): the
// answers are saved; logging in again brings the student back to this attempt.
function loginEnded() {
  $("login-ended").hidden = false;
}
