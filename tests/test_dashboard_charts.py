"""Server-side SVG charts (well-formed, accessible, escaped) and the metric names."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from portal.dashboard import charts
from portal.proctoring.metrics import METRIC_NAMES, metric_label, metric_name
from portal.proctoring.models import MetricSample
from portal.proctoring.page_events import METRIC_CODES

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(markup: str) -> ET.Element:
    svg = re.search(r"<svg.*</svg>", str(markup), re.S).group(0)
    return ET.fromstring(svg)


def samples(*rows, start=datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)):
    return [MetricSample(recorded_at=start + timedelta(seconds=10 * i), score=score,
                         threshold=threshold, violated=violated, peak=peak)
            for i, (score, threshold, violated, peak) in enumerate(rows)]


# ---- metric names: one source of truth ---------------------------------------------------

def test_metric_names_cover_exactly_the_codes():
    assert tuple(METRIC_NAMES) == METRIC_CODES


def test_metric_words():
    assert metric_name("c2") == "face invisible or not looking at the camera"
    assert metric_name("zz") == "zz" and metric_name(None) == ""
    assert metric_label("m1") == "m1 microphone muted or too quiet"


# ---- the per-row strip ------------------------------------------------------------------

def test_averages_strip_has_a_bar_and_words_per_metric():
    markup = charts.averages_bars({"c2": 40, "m2": 4, "b1": 0})
    svg = parse_svg(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == ("Metric averages: face invisible or not looking at the "
                                     "camera 40; conversation or noise 4.")
    titles = [g.find(f"{SVG}title").text for g in svg.iter(f"{SVG}g")]
    assert len(titles) == 15
    assert "c2 face invisible or not looking at the camera: 40" in titles
    assert "b1 browser not supported: 0" in titles
    assert "s2 second display used: not reported" in titles
    # focus shows the non-zero ones in words; the strip is one tab stop
    assert 'tabindex="0"' in markup and markup.count("tabindex") == 1
    assert "<li><span class=\"code\">c2</span> face invisible" in markup


def test_bar_heights_follow_values_and_are_clamped():
    svg = parse_svg(charts.averages_bars({"c1": 100, "c2": 50, "c3": 250, "c4": -5}))
    heights = {g.find(f"{SVG}title").text.split(":")[0][:2]: float(g.find(f"{SVG}rect").get("height"))
               for g in svg.iter(f"{SVG}g")}
    assert heights["c1"] == heights["c3"] == charts.STRIP_H
    assert heights["c2"] == charts.STRIP_H / 2
    assert heights["c4"] == 1.0


@pytest.mark.parametrize("averages", [None, {}, {"x9": 5}, {"c2": "high"}, {"c2": True}])
def test_no_usable_averages_is_a_dash(averages):
    assert "<svg" not in charts.averages_bars(averages)


def test_all_zero_averages_say_so():
    markup = charts.averages_bars({"c2": 0, "m2": 0})
    assert 'aria-label="Metric averages: all zero."' in markup
    assert "All metrics zero." in markup


# ---- histogram -------------------------------------------------------------------------------

def test_histogram_bins_edges():
    bins = dict(charts.histogram_bins([0, 9.9, 10, 55, 99.5, 100, 150, -3]))
    assert bins["0–9"] == 3  # 0, 9.9, -3 (clamped)
    assert bins["10–19"] == 1 and bins["50–59"] == 1
    assert bins["90–100"] == 3  # 99.5, 100, 150 (clamped)
    assert sum(bins.values()) == 8 and len(bins) == 10


def test_histogram_is_accessible_svg():
    svg = parse_svg(charts.histogram_chart([12, 95, 91]))
    assert svg.find(f"{SVG}title").text == "Proctoring score distribution"
    assert svg.get("aria-label").startswith("Proctoring scores of 3 results, attempts per "
                                            "score range: 0–9: 0; 10–19: 1;")
    assert len(list(svg.iter(f"{SVG}rect"))) == 10


def test_histogram_of_nothing_is_flat():
    svg = parse_svg(charts.histogram_chart([]))  # horizontal bars: no length
    assert {float(r.get("width")) for r in svg.iter(f"{SVG}rect")} == {0.0}


@pytest.mark.parametrize("draw", [lambda: charts.histogram_chart([12, 95, 91]),
                                  lambda: charts.metric_means_chart({"c2": 30, "n1": 5})])
def test_summary_charts_are_drawn_phone_narrow(draw):
    """A phone shows them at (nearly) their own size, so their text stays readable: no
    wider than 360 units, and nothing drawn outside that."""
    svg = parse_svg(draw())
    assert float(svg.get("width")) <= 360 and svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"
    for rect in svg.iter(f"{SVG}rect"):
        assert float(rect.get("x")) + float(rect.get("width")) <= float(svg.get("width"))


# ---- mean averages ---------------------------------------------------------------------------

def test_means_chart_writes_every_name():
    svg = parse_svg(charts.metric_means_chart({"c2": 30.25, "n1": 5}))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "axis-label"]
    assert labels == [metric_label(code) for code in METRIC_NAMES]
    assert "Mean metric averages: face invisible or not looking at the camera 30.2; no network 5." \
        == svg.get("aria-label")


# ---- timeline --------------------------------------------------------------------------------

def test_timeline_marks_violations_and_draws_the_threshold():
    svg = parse_svg(charts.timeline_chart(samples(
        (95, 50, False, None), (30, 50, True, "c3"), (90, 0, False, None), (None, 60, True, None)),
        threshold=50))
    violations = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "violation"]
    assert len(violations) == 2
    assert violations[0].find(f"{SVG}title").text == (
        "10:00:10 UTC: violation, score 30, mostly several faces")
    score_line = next(p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "score-line")
    assert len(score_line.get("points").split()) == 3  # the sample without a score is skipped
    # The threshold given (the exam's or the vendor's), flat: the samples' own (0, 60:
    # what the page said) draw nothing.
    threshold = next(p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "threshold")
    ys = {float(point.split(",")[1]) for point in threshold.get("points").split()}
    assert len(ys) == 1 and threshold.find(f"{SVG}title").text == "Threshold 50"
    assert svg.get("aria-label") == (
        "Metrics timeline: 4 metrics events from 10:00:00 to 10:00:30 UTC; score from 30 to 95;"
        " 2 violations reported by the page, the first at 10:00:10.")


def test_without_a_threshold_no_line():
    svg = parse_svg(charts.timeline_chart(samples((95, 50, False, None), (90, 50, False, None))))
    assert not [p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "threshold"]


def test_downsampled_points_say_how_many_samples_they_stand_for():
    start = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    points = [charts.TimelinePoint(start, 80, 95, 100, 0),
              charts.TimelinePoint(start + timedelta(minutes=5), 20, 90, 100, 7)]
    svg = parse_svg(charts.timeline_chart(points, threshold=50,
                                          first_violation_at=start + timedelta(minutes=6)))
    (violation,) = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "violation"]
    assert violation.find(f"{SVG}title").text == (
        "10:05:00 UTC: 7 of 100 samples violated, lowest score 20")
    assert svg.get("aria-label") == (
        "Metrics timeline: 200 metrics events from 10:00:00 to 10:05:00 UTC (drawn as 2 "
        "points); score from 20 to 95; 7 violations reported by the page, the first at "
        "10:06:00.")


def test_timeline_x_is_proportional_to_time():
    svg = parse_svg(charts.timeline_chart(samples(
        (90, 50, False, None), (90, 50, False, None), (90, 50, False, None))))
    line = next(p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "score-line")
    xs = [float(p.split(",")[0]) for p in line.get("points").split()]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1])


def test_timeline_single_sample_and_none():
    assert parse_svg(charts.timeline_chart(samples((80, 50, False, None)))) is not None
    assert "No metrics events" in charts.timeline_chart([])


def test_chart_text_is_escaped():
    markup = charts.averages_bars({"c2": 1})
    assert "<script" not in markup
    sample = samples((10, 50, True, "c2"))[0]
    sample.peak = "<b>x</b>"  # not a code: shown as given, escaped
    assert "<b>" not in charts.timeline_chart([sample]) and "&lt;b&gt;" in charts.timeline_chart([sample])
