// The evaluator panel (page_config.debug): SDK calls, events and the token's payload.
import { $ } from "./config.js";
import { state } from "./state.js";

function safeJson(value) {
  try { return JSON.stringify(value); } catch (e) { return String(value); }
}

export function log(kind, name, data) {
  const list = $("sdk-log");
  if (!list) return;
  const item = document.createElement("li");
  const ms = Math.round(performance.now() - state.pageStartMs);
  item.textContent = `+${ms} ms  ${kind} ${name}` + (data === undefined ? "" : "  " + safeJson(data));
  list.appendChild(item);
}

export function showTokenPayload(token) {
  const box = $("token-payload");
  if (!box) return;
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    box.textContent = JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2);
  } catch (e) { box.textContent = "(could not decode: " + e + ")"; }
}
