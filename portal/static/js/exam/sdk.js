// The proctoring SDK's object: its calls timed into the evaluator log, the element its
// UI lives in, and the end of a session the page itself ends.
import { STOP_RETRY_WAIT_MS, STOP_TRIES } from "./config.js";
import { log } from "./log.js";
import { state } from "./state.js";

const UI_ID = "proctoring-ui";

/** The element the SDK draws into (`new Supervisor({el})`; the real build and the
 * stand-in both mount their widget and dialogs there): a child of body, so that the page
 * can measure it, make it inert behind its own dialogs, and hide it at the end. */
export function sdkContainer() {
  let ui = document.getElementById(UI_ID);
  if (!ui) {
    ui = document.createElement("div");
    ui.id = UI_ID;
    document.body.appendChild(ui);
  }
  return ui;
}

/** At the end the page's dialog is the only one: the SDK's own end dialog (it shows one
 * when the server ends a session) would stack on it, and its OK only reloads this page. */
export function hideSdkUi() {
  const ui = document.getElementById(UI_ID);
  if (ui) { ui.hidden = true; ui.inert = true; }
}

export async function timed(name, promise) {
  const startedMs = performance.now();
  log("call", name + "()");
  try {
    const value = await promise;
    log("resolved", name + "()", { ms: Math.round(performance.now() - startedMs), value });
    return value;
  } catch (error) {
    log("rejected", name + "()", { ms: Math.round(performance.now() - startedMs),
                                   name: error && error.name, message: error && error.message });
    throw error;
  }
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** stop() then logout(), after the attempt closed on the server: a failing stop() is
 * retried (STOP_TRIES), never undone; never rejects (the failure goes to the log). */
export async function endProctoring() {
  const sdk = state.sdk;
  if (!sdk) return;
  try {
    for (let tries = STOP_TRIES; ; tries -= 1) {
      try {
        await timed("stop", sdk.stop());
        break;
      } catch (error) {
        if (tries <= 1) throw error;
        await wait(STOP_RETRY_WAIT_MS);
      }
    }
    await timed("logout", sdk.logout());
  } catch (error) {
    log("error", "stop/logout", error.message);
  }
}
