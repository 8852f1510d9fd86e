// Local times on every page (base.html loads this before any page's own script): every
// <time datetime> the templates wrote in UTC (the `time` macros) is rewritten in the
// viewer's time zone, its title keeps the UTC time, and [data-tz-name] elements name the
// zone. Without JavaScript the UTC text stays. Pages that replace parts of themselves
// (dashboard.js) call window.portalTimes.localize(part) on what they insert.
(function () {
  "use strict";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var partsFormat = new Intl.DateTimeFormat("en-US", {
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric",
    second: "numeric", hourCycle: "h23", timeZoneName: "short"
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localParts(date) {
    var out = {};
    partsFormat.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return {
      year: +out.year, month: +out.month, day: +out.day,
      hour: +out.hour % 24, minute: +out.minute, second: +out.second, zone: out.timeZoneName
    };
  }

  function sameLocalDay(a, b) {
    return a.year === b.year && a.month === b.month && a.day === b.day;
  }

  // The same layouts as the server's UTC text (portal/dashboard/present.py).
  function formatTime(el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date.getTime())) return null;
    var t = localParts(date);
    var clock = pad(t.hour) + ":" + pad(t.minute);
    var day = t.year + "-" + pad(t.month) + "-" + pad(t.day);
    switch (el.dataset.format) {
      case "short": {
        var other = el.dataset.sameDay ? new Date(el.dataset.sameDay) : null;
        if (other && !isNaN(other.getTime()) && sameLocalDay(t, localParts(other))) return clock;
        return pad(t.day) + " " + MONTHS[t.month - 1] + " " + clock;
      }
      case "seconds": return day + " " + clock + ":" + pad(t.second) + " " + t.zone;
      default: return day + " " + clock + " " + t.zone;
    }
  }

  var zoneName = localParts(new Date()).zone;

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var text = formatTime(el);
      if (text !== null) el.textContent = text;
    });
    root.querySelectorAll("[data-tz-name]").forEach(function (el) { el.textContent = zoneName; });
  }

  window.portalTimes = { localize: localizeTimes };
  // After every deferred script has run: dashboard.js first records what the server sent.
  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
})();
