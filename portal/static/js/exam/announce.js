// The page's one polite live region (#announcer): only what changed, in words a student
// can act on. Everything else on the page is silent.
import { $ } from "./config.js";

let lastText = "";

export function announce(text) {
  if (!text || text === lastText) return;
  lastText = text;
  $("announcer").textContent = text;
}
