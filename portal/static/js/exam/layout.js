// The page keeps its content clear of the proctoring widget: whatever the SDK docks at
// the bottom of the viewport (position: fixed, not a full-page overlay), the page
// reserves its measured height under the test and as scroll padding, so the question,
// its answers and the navigation can always be scrolled (and are focused) clear of it.
// Vendor-neutral: it measures what is in the SDK's element, whatever draws it.

// A fixed element taller than this share of the viewport is a dialog's backdrop, not a
// docked widget.
const OVERLAY_SHARE = 0.6;
// What counts as touching the bottom edge, and the gap kept above the widget (CSS px).
const DOCKED_SLACK_PX = 48;
const GAP_PX = 8;
// The widget's elements are few; a bound keeps a big SDK UI from costing much.
const MAX_ELEMENTS = 400;

function measure(container) {
  if (container.hidden) return 0;
  const viewport = window.innerHeight;
  let reserve = 0;
  const elements = container.querySelectorAll("*");
  for (let i = 0; i < elements.length && i < MAX_ELEMENTS; i += 1) {
    const el = elements[i];
    if (getComputedStyle(el).position !== "fixed") continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.height > viewport * OVERLAY_SHARE) continue;
    if (box.bottom < viewport - DOCKED_SLACK_PX) continue;
    reserve = Math.max(reserve, viewport - box.top + GAP_PX);
  }
  return Math.ceil(reserve);
}

/** Keeps the CSS variable --proctoring-reserve (exam.css) at the docked UI's height. */
export function reserveSpaceFor(container) {
  let scheduled = false;
  const watched = new WeakSet();
  const resize = new ResizeObserver(schedule);
  function update() {
    scheduled = false;
    container.querySelectorAll("*").forEach((el) => {
      if (!watched.has(el)) { watched.add(el); resize.observe(el); }
    });
    document.documentElement.style.setProperty("--proctoring-reserve", measure(container) + "px");
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(update);
  }
  new MutationObserver(schedule).observe(container, { childList: true, subtree: true, attributes: true });
  window.addEventListener("resize", schedule);
  schedule();
}
