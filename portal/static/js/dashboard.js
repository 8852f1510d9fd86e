// The dashboard's live table (an external file: the Content-Security-Policy forbids
// inline script). Without JavaScript the pages still work: the table is as fresh as the
// last load. Times are made local by static/js/localtime.js (every page loads it first).
//
// Live table (#results-live, the index page): polls data-poll-url every
//    data-poll-seconds. The server answers 204 while nothing changed, else the table for
//    the same filters. Only rows whose HTML changed are replaced (rows are keyed by
//    data-attempt-id), new ones inserted, gone ones removed; the focused control and the
//    scroll position stay where they were, and one polite live region says what changed.
(function () {
  "use strict";

  var localizeTimes = window.portalTimes.localize; // static/js/localtime.js

  // ---- the live table -------------------------------------------------------------------

  var live = document.getElementById("results-live");
  // What the server sent for each part, before localizeTimes changed its text: a part is
  // replaced only when the server's HTML for it differs.
  var served = new WeakMap();

  function rowKey(tr) {
    return tr.dataset.attemptId ? "attempt-" + tr.dataset.attemptId : (tr.dataset.key || "");
  }

  function remember(root) {
    root.querySelectorAll("tbody > tr, thead, caption, .table-summary, .pagination")
      .forEach(function (el) { served.set(el, el.outerHTML); });
  }

  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

  // Where the keyboard focus is, as a row key and the control's index within the row, so
  // that it can be found again in a replaced row.
  function focusPlace() {
    var el = document.activeElement;
    if (!el || !live.contains(el)) return null;
    var row = el.closest("tr");
    if (!row) return { part: Array.prototype.indexOf.call(live.querySelectorAll(FOCUSABLE), el) };
    return { key: rowKey(row), index: Array.prototype.indexOf.call(row.querySelectorAll(FOCUSABLE), el) };
  }

  function restoreFocus(place, before) {
    if (!place || document.activeElement === before && live.contains(before)) return;
    var target = null;
    if (place.key !== undefined) {
      var row = findRow(live.querySelector("tbody"), place.key);
      if (row) target = row.querySelectorAll(FOCUSABLE)[place.index] || row.querySelector(FOCUSABLE);
    } else {
      target = live.querySelectorAll(FOCUSABLE)[place.part];
    }
    if (target) target.focus({ preventScroll: true });
  }

  function findRow(body, key) {
    for (var i = 0; i < body.children.length; i++) {
      if (rowKey(body.children[i]) === key) return body.children[i];
    }
    return null;
  }

  // The first row on screen (or the focused one): after the update the page is scrolled
  // so that it stays at the same height, whatever was inserted or removed above it.
  function scrollAnchor() {
    var focused = document.activeElement && live.contains(document.activeElement)
      ? document.activeElement.closest("tr") : null;
    var rows = live.querySelectorAll("tbody > tr");
    var anchor = focused;
    for (var i = 0; !anchor && i < rows.length; i++) {
      if (rows[i].getBoundingClientRect().bottom > 0) anchor = rows[i];
    }
    return anchor ? { key: rowKey(anchor), top: anchor.getBoundingClientRect().top } : null;
  }

  function keepScroll(anchor) {
    if (!anchor) return;
    var row = findRow(live.querySelector("tbody"), anchor.key);
    if (!row) return;
    var moved = row.getBoundingClientRect().top - anchor.top;
    if (moved) window.scrollBy(0, moved);
  }

  // Bring `body` to the rows of `fresh`, touching only what differs.
  function diffRows(body, fresh) {
    var counts = { updated: 0, added: 0, removed: 0 };
    var wanted = Array.prototype.slice.call(fresh.children);
    var keys = {};
    wanted.forEach(function (tr) { keys[rowKey(tr)] = true; });
    Array.prototype.slice.call(body.children).forEach(function (tr) {
      if (!keys[rowKey(tr)]) {
        tr.remove();
        if (tr.dataset.attemptId) counts.removed++;
      }
    });
    wanted.forEach(function (next, i) {
      var html = next.outerHTML;
      var current = findRow(body, rowKey(next));
      if (current && served.get(current) !== html) {
        current.replaceWith(next);
        counts.updated++;
        current = next;
      } else if (!current) {
        current = next;
        if (next.dataset.attemptId) counts.added++;
      }
      served.set(current, html);
      if (body.children[i] !== current) body.insertBefore(current, body.children[i] || null);
    });
    return counts;
  }

  // Replace a part of the live region (summary line, table head, pagination) only when the
  // server's HTML for it changed.
  function syncPart(current, next) {
    if (!current || !next) return;
    var html = next.outerHTML;
    if (served.get(current) === html) return;
    current.replaceWith(next);
    served.set(next, html);
    localizeTimes(next);
  }

  function announce(counts) {
    var region = document.getElementById("live-announcer");
    if (!region) return;
    var words = [];
    function say(n, what) { if (n) words.push(n + " " + what); }
    say(counts.updated, counts.updated === 1 ? "result updated" : "results updated");
    say(counts.added, "new");
    say(counts.removed, "no longer shown");
    if (!words.length) return;
    // A new text node each time, so that the same message twice is announced twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = words.join(", ") + "."; }, 50);
  }

  function apply(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("results-live");
    if (!fresh) return;
    var oldBody = live.querySelector("tbody");
    var newBody = fresh.querySelector("tbody");
    if (!oldBody || !newBody) return;
    var before = document.activeElement;
    var place = focusPlace();
    var anchor = scrollAnchor();

    syncPart(live.querySelector(".table-summary"), fresh.querySelector(".table-summary"));
    syncPart(live.querySelector("thead"), fresh.querySelector("thead"));
    syncPart(live.querySelector("caption"), fresh.querySelector("caption"));
    var oldPages = live.querySelector(".pagination");
    var newPages = fresh.querySelector(".pagination");
    if (oldPages && newPages) syncPart(oldPages, newPages);
    else if (oldPages) oldPages.remove();
    else if (newPages) { live.appendChild(document.adoptNode(newPages)); served.set(newPages, newPages.outerHTML); }

    var counts = diffRows(oldBody, newBody);
    localizeTimes(oldBody);
    restoreFocus(place, before);
    keepScroll(anchor);
    live.dataset.pollUrl = fresh.dataset.pollUrl;
    live.dataset.version = fresh.dataset.version;
    announce(counts);
  }

  function poll() {
    // The polling protocol's headers are htmx's (the server's 401 answer names the page
    // to go to in HX-Redirect), so the endpoint serves either client.
    fetch(live.dataset.pollUrl, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", "HX-Current-URL": window.location.href }
    }).then(function (response) {
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) { window.location.assign(redirect); return null; }
      if (response.status !== 200) return null;
      return response.text();
    }).then(function (html) {
      if (html) apply(html);
    }).catch(function () {
      // Offline for a moment: the next poll tries again.
    }).then(schedule);
  }

  function schedule() {
    window.setTimeout(poll, (+live.dataset.pollSeconds || 5) * 1000);
  }

  if (live) {
    remember(live);
    schedule();
  }
})();
