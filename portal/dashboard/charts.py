"""Charts drawn on the server as inline SVG: no JavaScript library, testable as text.

Every chart is accessible: `role="img"` with a label that says what it shows in words,
a `<title>` on each mark (a tooltip on hover), and the pages add the numbers as text
or a table next to it. All text goes through markupsafe, so names and values from
deliveries cannot inject markup.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from markupsafe import Markup

from portal.proctoring.metrics import METRIC_NAMES, metric_label, metric_name


def fmt(value: float | None) -> str:
    """A number as a person reads it: at most one decimal, no trailing zeros."""
    if value is None:
        return "—"
    return f"{round(float(value), 1):g}"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _level(value: float) -> str:
    """A colour class for a metric value (0-100: how much of the time it was seen)."""
    if value >= 50:
        return "high"
    if value >= 20:
        return "mid"
    return "low" if value > 0 else "zero"


def _in_words(values: Mapping[str, float]) -> str:
    shown = [f"{metric_name(code)} {fmt(value)}" for code, value in _known(values) if value]
    return "; ".join(shown) if shown else "all zero"


def averages_text(averages: Mapping[str, float] | None) -> str:
    """The averages in words, non-zero ones only: the charts' text alternative."""
    if not averages or not _known(averages):
        return "No metric averages reported."
    return f"Metric averages: {_in_words(averages)}."


def _known(averages: Mapping[str, float]) -> list[tuple[str, float]]:
    """(code, value) in the contract's order; unknown codes and non-numbers are ignored."""
    return [(code, value) for code in METRIC_NAMES
            if (value := _number(averages.get(code))) is not None]


# ---- per-row averages: a small bar strip -----------------------------------------------

BAR_W, BAR_GAP, STRIP_H = 5, 2, 22


def averages_bars(averages: Mapping[str, float] | None) -> Markup:
    """15 tiny bars, one per metric code, for a table cell. Hovering a bar shows its
    metric in words (`<title>`); focusing the strip shows the non-zero ones as a list."""
    values = dict(_known(averages or {}))
    if not values:
        return Markup('<span class="muted" title="No metric averages reported">—</span>')
    width = len(METRIC_NAMES) * (BAR_W + BAR_GAP) - BAR_GAP
    label = averages_text(values)
    bars = []
    for i, code in enumerate(METRIC_NAMES):
        value = values.get(code)
        x = i * (BAR_W + BAR_GAP)
        if value is None:
            height, level, shown = 1.0, "none", "not reported"
        else:
            clamped = min(max(value, 0.0), 100.0)
            height, level, shown = max(1.0, clamped / 100 * STRIP_H), _level(value), fmt(value)
        bars.append(Markup(
            '<g class="bar bar-{}"><title>{}: {}</title>'
            '<rect x="{}" y="{}" width="{}" height="{}"></rect></g>').format(
                level, metric_label(code), shown, x, fmt(STRIP_H - height), BAR_W, fmt(height)))
    items = [Markup("<li><span class=\"code\">{}</span> {}: <strong>{}</strong></li>").format(
        code, metric_name(code), fmt(value)) for code, value in values.items() if value]
    tip = Markup("").join(items) if items else Markup("<li>All metrics zero.</li>")
    return Markup(
        '<span class="avg-chart" tabindex="0">'
        '<svg class="avg-bars" role="img" aria-label="{label}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">{bars}</svg>'
        '<span class="avg-tip" aria-hidden="true"><ul>{tip}</ul></span></span>').format(
            label=label, w=width, h=STRIP_H, bars=Markup("").join(bars), tip=tip)


# ---- exam summary: mean averages, one labelled bar per metric ---------------------------

# The larger charts are drawn narrow (CHART_W user units, shown at most that wide): a
# phone shows them at nearly full size, so their 11-unit text stays readable, instead of
# shrinking a wide drawing to half its size.
CHART_W = 360


def metric_means_chart(means: Mapping[str, float]) -> Markup:
    """One bar per metric (all 15, zeros too), its name written above it and its value at
    the right."""
    row_h, bar_h, label_h = 34, 10, 15
    width, height = CHART_W, row_h * len(METRIC_NAMES) + 2
    rows = []
    for i, code in enumerate(METRIC_NAMES):
        value = _number(means.get(code))
        y = i * row_h + 2
        length = 0.0 if value is None else min(max(value, 0.0), 100.0) / 100 * width
        level = "none" if value is None else _level(value)
        rows.append(Markup(
            '<g class="bar bar-{level}"><title>{label}: {shown}</title>'
            '<text x="0" y="{ty}" class="axis-label">{label}</text>'
            '<text x="{w}" y="{ty}" class="value-label" text-anchor="end">{shown}</text>'
            '<rect x="0" y="{y}" width="{w}" height="{bh}" class="track"></rect>'
            '<rect x="0" y="{y}" width="{len}" height="{bh}"></rect></g>').format(
                level=level, label=metric_label(code),
                shown="not reported" if value is None else fmt(value),
                ty=y + 12, y=y + label_h + 2, w=width, bh=bar_h, len=fmt(length)))
    return Markup(
        '<svg class="chart means-chart" role="img" aria-label="{label}" width="{w}" '
        'height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
        '<title>Mean metric averages</title>{rows}</svg>').format(
            label=f"Mean metric averages: {_in_words(means)}.",
            w=width, h=height, rows=Markup("").join(rows))


# ---- exam summary: score histogram -------------------------------------------------------

def histogram_bins(scores: Sequence[float], bins: int = 10) -> list[tuple[str, int]]:
    """Counts of scores in [0,10), [10,20) ... [90,100]; out-of-range scores are clamped."""
    counts = [0] * bins
    size = 100 / bins
    for score in scores:
        index = int(min(max(score, 0.0), 100.0) // size)
        counts[min(index, bins - 1)] += 1
    return [(f"{int(i * size)}–{int((i + 1) * size) - (0 if i == bins - 1 else 1)}", count)
            for i, count in enumerate(counts)]


def histogram_chart(scores: Sequence[float]) -> Markup:
    """The proctoring scores' distribution: one horizontal bar per range of ten, the range
    written at the left and the count at the bar's end."""
    bins = histogram_bins(scores)
    label_w, count_w, row_h, bar_h = 52, 40, 22, 14
    bar_w = CHART_W - label_w - count_w
    width, height = CHART_W, row_h * len(bins) + 2
    most = max((count for _, count in bins), default=0) or 1
    bars = []
    for i, (label, count) in enumerate(bins):
        y = i * row_h + 2
        length = count / most * bar_w
        bars.append(Markup(
            '<g class="bar"><title>Score {label}: {count} attempt{s}</title>'
            '<text x="0" y="{ty}" class="axis-label">{label}</text>'
            '<rect x="{x}" y="{y}" width="{len}" height="{bh}"></rect>'
            '<text x="{cx}" y="{ty}" class="value-label">{count}</text>'
            '</g>').format(label=label, count=count, s="" if count == 1 else "s", x=label_w,
                           y=y + 2, len=fmt(length), bh=bar_h, ty=y + 14,
                           cx=fmt(label_w + length + 6)))
    described = "; ".join(f"{label}: {count}" for label, count in bins)
    return Markup(
        '<svg class="chart histogram" role="img" aria-label="{label}" width="{w}" '
        'height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
        '<title>Proctoring score distribution</title>'
        '<line x1="{l}" x2="{l}" y1="0" y2="{h}" class="axis"></line>{bars}</svg>').format(
            label=f"Proctoring scores of {len(scores)} results, attempts per score range: "
                  f"{described}.",
            w=width, h=height, l=label_w, bars=Markup("").join(bars))


# ---- attempt detail: the metrics timeline --------------------------------------------------

@dataclass
class TimelinePoint:
    """Consecutive metrics samples drawn as one point (the detail page stays small however
    many were stored): the bucket's first time, its lowest and highest score, how many
    samples and how many of them the page reported violated. A MetricSample can be drawn
    as is (one sample)."""

    recorded_at: datetime
    score: float | None
    score_max: float | None
    samples: int
    violations: int
    peak: str | None = None

    @property
    def violated(self) -> bool:
        return self.violations > 0


def _samples_in(point) -> int:
    return getattr(point, "samples", 1)


def _violations_in(point) -> int:
    return getattr(point, "violations", 1 if point.violated else 0)


def timeline_text(points: Sequence, first_violation_at: datetime | None = None) -> str:
    """The timeline in one sentence (the chart's label). `points` are MetricSamples or
    TimelinePoints in time order; `first_violation_at`, when known, is exact (a point
    only knows its bucket's start)."""
    if not points:
        return "No metrics events were recorded."
    total = sum(_samples_in(p) for p in points)
    violated = sum(_violations_in(p) for p in points)
    text = (f"{total} metrics events from {points[0].recorded_at:%H:%M:%S} to "
            f"{points[-1].recorded_at:%H:%M:%S} UTC")
    if total > len(points):
        text += f" (drawn as {len(points)} points)"
    lows = [p.score for p in points if p.score is not None]
    highs = [getattr(p, "score_max", p.score) for p in points
             if getattr(p, "score_max", p.score) is not None]
    if lows:
        text += f"; score from {fmt(min(lows))} to {fmt(max(highs))}"
    if violated:
        first = first_violation_at or next(p.recorded_at for p in points if p.violated)
        text += (f"; {violated} violation{'s' if violated != 1 else ''} reported by the page, "
                 f"the first at {first:%H:%M:%S}")
    else:
        text += "; no violations"
    return text + "."


def timeline_chart(points: Sequence, threshold: float | None = None,
                   first_violation_at: datetime | None = None) -> Markup:
    """Score over time (line), the threshold (dashed: the exam's or the vendor's, never
    the page's), violations the page reported (red marks).

    `points` (MetricSamples or TimelinePoints) must be in time order. Times are UTC; the
    x axis is proportional to time.
    """
    if not points:
        return Markup('<p class="muted">No metrics events were recorded for this attempt.</p>')
    left, right, top, bottom, plot_w, plot_h = 40, 16, 12, 28, 680, 180
    width, height = left + plot_w + right, top + plot_h + bottom
    start, end = points[0].recorded_at, points[-1].recorded_at
    span = (end - start).total_seconds() or 1.0
    y_max = max([100.0] + [getattr(p, "score_max", p.score) or 0.0 for p in points]
                + ([threshold] if threshold is not None else []))

    def x_of(at: datetime) -> float:
        offset = (at - start).total_seconds() if len(points) > 1 else span / 2
        return left + offset / span * plot_w

    def y_of(value: float) -> float:
        return top + plot_h - max(0.0, value) / y_max * plot_h

    parts: list[Markup] = []
    for tick in (0, 25, 50, 75, 100):
        y = fmt(y_of(tick))
        parts.append(Markup(
            '<line x1="{l}" x2="{r}" y1="{y}" y2="{y}" class="grid"></line>'
            '<text x="{tx}" y="{ty}" class="axis-label" text-anchor="end">{t}</text>').format(
                l=left, r=left + plot_w, y=y, tx=left - 6, ty=fmt(y_of(tick) + 4), t=tick))
    for at, anchor in ((start, "start"), (end, "end")) if len(points) > 1 else ((start, "middle"),):
        parts.append(Markup(
            '<text x="{x}" y="{y}" class="axis-label" text-anchor="{a}">{t}</text>').format(
                x=fmt(x_of(at)), y=height - 8, a=anchor, t=f"{at:%H:%M:%S} UTC"))
    if threshold is not None:
        y = fmt(y_of(threshold))
        parts.append(Markup('<polyline class="threshold" points="{l},{y} {r},{y}"><title>'
                            'Threshold {t}</title></polyline>').format(
            l=left, r=left + plot_w, y=y, t=fmt(threshold)))
    scored = [(x_of(p.recorded_at), y_of(p.score)) for p in points if p.score is not None]
    if scored:
        parts.append(Markup('<polyline class="score-line" points="{}"><title>Score'
                            '</title></polyline>').format(
            " ".join(f"{fmt(x)},{fmt(y)}" for x, y in scored)))
    for p in points:
        if not p.violated:
            continue
        y = y_of(p.score) if p.score is not None else top + plot_h
        many = _samples_in(p) > 1
        what = (f"{_violations_in(p)} of {_samples_in(p)} samples violated, lowest score"
                if many else "violation, score")
        parts.append(Markup(
            '<g class="violation"><title>{t} UTC: {what} {score}{peak}</title>'
            '<circle cx="{x}" cy="{y}" r="4"></circle></g>').format(
                t=f"{p.recorded_at:%H:%M:%S}", what=what, score=fmt(p.score),
                peak=f", mostly {metric_name(p.peak)}" if p.peak else "",
                x=fmt(x_of(p.recorded_at)), y=fmt(y)))
    return Markup(
        '<svg class="chart timeline" role="img" aria-label="{label}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
        '<title>Metrics timeline: score over time</title>{parts}</svg>').format(
            label="Metrics timeline: " + timeline_text(points, first_violation_at),
            w=width, h=height, parts=Markup("").join(parts))


__all__ = ["averages_bars", "averages_text", "metric_means_chart", "histogram_bins",
           "histogram_chart", "timeline_chart", "timeline_text", "TimelinePoint", "fmt"]
