// Modal dialogs of the page's own: focus moves in and stays in, the rest of the page is
// `inert` (the proctoring SDK's UI too) until the dialog closes.
const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), " +
  "select:not([disabled]), [tabindex]:not([tabindex='-1'])";

let open = null;  // { dialog, close }

function focusables(dialog) {
  return Array.from(dialog.querySelectorAll(FOCUSABLE)).filter((el) => !el.closest("[hidden]"));
}

/**
 * Shows `dialog` (an element with role dialog or alertdialog, aria-modal, tabindex=-1) as
 * the only thing the student can reach. `focus`: the element that takes focus (default:
 * the dialog, so its name and description are read first); `onCancel`: Escape calls it
 * (without it, Escape does nothing). Returns close(), which restores the page and focus.
 * Another dialog opening closes this one first.
 */
export function openModal(dialog, { focus = dialog, onCancel = null } = {}) {
  if (open) open.close({ restoreFocus: false });
  const previous = document.activeElement;
  document.body.appendChild(dialog);  // a child of body, so that all else can be inert
  const others = Array.from(document.body.children).filter((el) => el !== dialog && !el.inert);
  others.forEach((el) => { el.inert = true; });
  dialog.hidden = false;

  function onKey(event) {
    if (event.key === "Escape" && onCancel) { event.preventDefault(); onCancel(); return; }
    if (event.key !== "Tab") return;
    const items = focusables(dialog);
    if (!items.length) { event.preventDefault(); dialog.focus(); return; }
    const first = items[0];
    const last = items[items.length - 1];
    const at = document.activeElement;
    if (event.shiftKey && (at === first || at === dialog)) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && at === last) { event.preventDefault(); first.focus(); }
  }
  // Focus that escapes anyway (a click on the backdrop, the browser's own UI) comes back.
  function onFocusIn(event) {
    if (!dialog.contains(event.target)) dialog.focus();
  }
  dialog.addEventListener("keydown", onKey);
  document.addEventListener("focusin", onFocusIn);
  focus.focus();

  const entry = {
    dialog,
    close({ restoreFocus = true } = {}) {
      if (open !== entry) return;
      open = null;
      dialog.hidden = true;
      dialog.removeEventListener("keydown", onKey);
      document.removeEventListener("focusin", onFocusIn);
      others.forEach((el) => { el.inert = false; });
      if (restoreFocus && previous && previous.focus && document.contains(previous)) previous.focus();
    },
  };
  open = entry;
  return entry.close;
}
