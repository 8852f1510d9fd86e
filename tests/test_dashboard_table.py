"""The results table: filters, search, sorting, pagination, URL state, live partial,
and a fixed number of queries per page."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from portal.dashboard.filters import TableFilters
from portal.db_types import utcnow
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.outbox.worker import Worker
from tests.support.app import add_exam, add_user
from tests.support.factories import (ZERO_AVERAGES, instructor_pages, same_minute_ahead,
                             seed_attempt, seed_job, seed_result, seed_samples, students)


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-attempt-id="(\d+)"', html)]


@pytest.fixture
def page(client, auth, instructor):
    """GET a dashboard URL as the instructor; returns the HTML."""
    return instructor_pages(client, auth, instructor)


@pytest.fixture
def mixed(app, exam):
    """Four attempts over two exams, with different states, statuses and scores."""
    other = add_exam(slug="other", title="Other exam")
    ada = add_user("ada", display_name="Ada Lovelace")
    alan = add_user("alan", display_name="Alan Turing")
    grace = add_user("grace", display_name="Grace Hopper")
    a1 = seed_attempt(exam, ada, minutes_ago=10)
    seed_result(a1, status="accepted", score=90, threshold=50)
    a2 = seed_attempt(exam, alan, state="terminated", minutes_ago=20,
                      close_reason="Proctoring session ended by a proctor (p1).")
    seed_result(a2, status="rejected", score=20, threshold=50)
    a3 = seed_attempt(exam, grace, state="in_progress", minutes_ago=5)
    a4 = seed_attempt(other, ada, minutes_ago=30)
    seed_result(a4, status="stopped", score=70)
    return {"ada": a1, "alan": a2, "grace": a3, "ada_other": a4, "other": other}


# ---- filters and search --------------------------------------------------------------

def test_no_filter_shows_every_attempt_newest_first(page, mixed):
    html = page("/dashboard")
    assert row_ids(html) == [mixed[k].id for k in ("grace", "ada", "alan", "ada_other")]
    assert "Showing 1–4 of 4 attempts" in html


def test_filter_by_exam(page, mixed, exam):
    assert row_ids(page(f"/dashboard?exam={mixed['other'].id}")) == [mixed["ada_other"].id]
    assert mixed["ada_other"].id not in row_ids(page(f"/dashboard?exam={exam.id}"))


@pytest.mark.parametrize("status,expected", [
    ("accepted", ["ada"]), ("rejected", ["alan"]), ("stopped", ["ada_other"]),
    ("none", ["grace"]), ("skipped", []),
])
def test_filter_by_proctoring_status(page, mixed, status, expected):
    assert row_ids(page(f"/dashboard?status={status}")) == [mixed[k].id for k in expected]


def test_filter_by_lms_state(page, mixed):
    assert row_ids(page("/dashboard?state=terminated")) == [mixed["alan"].id]
    assert row_ids(page("/dashboard?state=in_progress")) == [mixed["grace"].id]


def test_flagged_only(page, mixed):
    html = page("/dashboard?flagged=1")
    # alan: rejected, terminated, under threshold; nobody else has a reason yet.
    assert row_ids(html) == [mixed["alan"].id]
    assert "Flagged only" in html and 'name="flagged" value="1" role="switch" checked' in html


def test_one_click_to_the_flagged(page, mixed):
    html = page("/dashboard")
    link = re.search(r'<a href="([^"]+)" class="flagged-link">1 flagged', html)
    assert link and link.group(1) == "/dashboard?flagged=1"


@pytest.mark.parametrize("query,expected", [
    ("ada", ["ada", "ada_other"]),        # username
    ("TURING", ["alan"]),                 # display name, any case
    ("hopper", ["grace"]),
    ("%", []), ("_", []),                 # LIKE wildcards are literal
])
def test_search_by_student(page, mixed, query, expected):
    ids = row_ids(page(f"/dashboard?q={query}"))
    assert sorted(ids) == sorted(mixed[k].id for k in expected)


def test_search_by_identifier(page, mixed):
    identifier = mixed["alan"].identifier
    assert row_ids(page(f"/dashboard?q={identifier[:12]}")) == [mixed["alan"].id]


def test_filters_combine(page, mixed, exam):
    assert row_ids(page(f"/dashboard?q=ada&exam={exam.id}")) == [mixed["ada"].id]
    assert row_ids(page("/dashboard?q=ada&status=rejected")) == []
    assert "No attempts match these filters." in page("/dashboard?q=nobody")


def test_bad_filter_values_are_ignored(page, mixed):
    html = page("/dashboard?exam=x&status=evil&state=<b>&sort=password&dir=up&page=-3&per_page=7")
    assert len(row_ids(html)) == 4


# ---- sorting -------------------------------------------------------------------------

def test_sort_by_student_both_ways(page, mixed):
    # Ada has two attempts: equal names fall back to the attempt id, in the same direction.
    ascending = row_ids(page("/dashboard?sort=student&dir=asc"))
    assert ascending == [mixed[k].id for k in ("ada", "ada_other", "alan", "grace")]
    descending = row_ids(page("/dashboard?sort=student&dir=desc"))
    assert descending == [mixed[k].id for k in ("grace", "alan", "ada_other", "ada")]


def test_sort_by_score_puts_missing_scores_last_either_way(page, mixed):
    assert row_ids(page("/dashboard?sort=score&dir=desc")) == [
        mixed[k].id for k in ("ada", "ada_other", "alan", "grace")]
    assert row_ids(page("/dashboard?sort=score&dir=asc")) == [
        mixed[k].id for k in ("alan", "ada_other", "ada", "grace")]


def test_sort_by_latest_change(page, mixed):
    db.session.get(Attempt, mixed["ada_other"].id).result.comment = "changed just now"
    db.session.commit()
    assert row_ids(page("/dashboard?sort=updated&dir=desc"))[0] == mixed["ada_other"].id


def test_sort_headers_keep_filters_and_flip_direction(page, mixed):
    html = page("/dashboard?status=accepted&sort=score&dir=desc")
    assert 'href="/dashboard?status=accepted&amp;sort=score&amp;dir=asc"' in html
    assert 'aria-sort="descending"' in html
    assert 'href="/dashboard?status=accepted&amp;sort=student&amp;dir=asc"' in html


# ---- pagination and URL state --------------------------------------------------------

@pytest.fixture
def many(app, exam):
    now = utcnow()
    return [seed_attempt(exam, user, started=now - timedelta(minutes=i), state="in_progress")
            for i, user in enumerate(students(23))]


def test_pagination(page, many):
    first = page("/dashboard?per_page=10")
    assert row_ids(first) == [a.id for a in many[:10]]
    assert "Page 1 of 3" in first and 'href="/dashboard?page=2&amp;per_page=10" rel="next"' in first
    last = page("/dashboard?per_page=10&page=3")
    assert row_ids(last) == [a.id for a in many[20:]]
    assert "Showing 21–23 of 23 attempts" in last
    assert row_ids(page("/dashboard?per_page=10&page=99")) == row_ids(last)


def test_page_links_keep_filters(page, many):
    html = page("/dashboard?q=s&per_page=10&page=2")
    assert 'href="/dashboard?q=s&amp;per_page=10" rel="prev"' in html
    assert 'href="/dashboard?q=s&amp;page=3&amp;per_page=10" rel="next"' in html


def test_filter_form_shows_the_current_state(page, mixed, exam):
    html = page(f"/dashboard?exam={exam.id}&status=rejected&state=terminated&q=alan&sort=score&dir=asc")
    assert f'<option value="{exam.id}" selected>' in html
    assert '<option value="rejected" selected>' in html
    assert '<option value="terminated" selected>' in html
    assert 'name="q" value="alan"' in html
    assert '<input type="hidden" name="sort" value="score">' in html
    assert f'href="/dashboard/export.csv?exam={exam.id}&amp;status=rejected&amp;state=terminated' \
           f'&amp;q=alan&amp;sort=score&amp;dir=asc"' in html


def test_table_filters_round_trip():
    filters = TableFilters.from_args({"exam": "3", "flagged": "1", "q": " ada ", "page": "2"})
    assert filters.to_args() == {"exam": 3, "flagged": "1", "q": "ada", "page": 2}
    assert filters.to_args(status="accepted") == {"exam": 3, "status": "accepted",
                                                  "flagged": "1", "q": "ada"}
    assert TableFilters().to_args() == {}
    assert TableFilters().sorted_by("started") == {"dir": "asc"}
    assert TableFilters().sorted_by("student") == {"sort": "student", "dir": "asc"}
    assert TableFilters().sorted_by("score") == {"sort": "score"}


# ---- the row's contents --------------------------------------------------------------

def test_row_shows_the_result(page, app, exam, student):
    attempt = seed_attempt(exam, student, minutes_ago=3)
    seed_result(attempt, status="rejected", score=36, threshold=50, duration=35,
                proctor="proctor7", comment="Phone on the desk", conclusion="Cheating",
                averages={**ZERO_AVERAGES, "c2": 40, "m2": 4})
    html = page("/dashboard")
    row = html[html.index(f'data-attempt-id="{attempt.id}"'):]
    row = row[:row.index("</tr>")]
    for text in ("Ada Lovelace", "Sample exam", "state-submitted",
                 "status-rejected", "score-below", "36", "/ 50", "35 min", "proctor7",
                 "Phone on the desk", "Cheating"):
        assert text in row, text
    # metric averages as a picture with the names in words
    assert '<svg class="avg-bars" role="img"' in row
    assert "c2 face invisible or not looking at the camera: 40" in row
    assert 'aria-label="Metric averages: face invisible or not looking at the camera 40; ' \
           'conversation or noise 4."' in row


def test_score_at_or_over_threshold_is_ok(page, exam, student):
    attempt = seed_attempt(exam, student)
    seed_result(attempt, status="accepted", score=50, threshold=50)
    assert "score-ok" in page("/dashboard") and "score-below" not in page("/dashboard")


def test_overdue_attempts_show_expired_and_the_sweep_closes_them(app, page, exam, student):
    """Issue 13: the dashboard shows an overdue attempt as expired without writing (its
    GET closed the row before); the outbox worker's sweep closes it."""
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=exam.time_limit_minutes + 5)
    html = page("/dashboard")
    assert "state-expired" in html
    assert "state-expired" in page("/dashboard?state=expired")
    assert "state-expired" not in page("/dashboard?state=in_progress")
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == "in_progress"  # looking wrote nothing
    assert Worker(app, sweep_seconds=5).sweep() == 1
    db.session.expire_all()
    closed = db.session.get(Attempt, attempt.id)
    assert closed.state == "expired" and closed.close_reason == "Time limit reached."
    assert "state-expired" in page("/dashboard")


# ---- live: the polled partial --------------------------------------------------------

def test_page_polls_a_partial_with_the_same_filters(page, mixed):
    html = page("/dashboard?status=accepted&q=ada")
    live = re.search(r'<div id="results-live"[^>]*data-poll-url="([^"]+)" data-poll-seconds="(\d+)"', html)
    assert live, "the table is not polled"
    assert live.group(1).startswith("/dashboard/rows?status=accepted&amp;q=ada&amp;v=")
    assert 'src="/static/js/dashboard.js"' in html
    assert re.search(r'<p id="live-announcer"[^>]*aria-live="polite"', html)
    # The CSP forbids inline scripts: every script has a src.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_partial_answers_204_until_something_changes(client, page, mixed):
    same_minute_ahead()
    html = page("/dashboard/rows?status=accepted")
    url = re.search(r'data-poll-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert row_ids(html) == [mixed["ada"].id]
    assert client.get(url).status_code == 204
    result = db.session.get(Attempt, mixed["ada"].id).result
    result.comment = "Looked away twice"
    db.session.commit()
    changed = client.get(url)
    assert changed.status_code == 200
    assert "Looked away twice" in changed.get_data(as_text=True)


def test_partial_shows_new_rows_for_the_filter_only(client, page, exam):
    alan = add_user("alan", display_name="Alan Turing")
    bob = add_user("bob", display_name="Bob")
    html = page("/dashboard/rows?status=accepted")
    url = re.search(r'data-poll-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    seed_result(seed_attempt(exam, alan), status="accepted", score=99)
    seed_result(seed_attempt(exam, bob), status="rejected", score=1)
    fresh = client.get(url).get_data(as_text=True)
    assert "Alan Turing" in fresh and "Bob" not in fresh


# ---- queries per page ----------------------------------------------------------------

@contextmanager
def counted_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _seed_full(exam, users):
    for user in users:
        attempt = seed_attempt(exam, user, state="terminated", close_reason="Stopped.")
        seed_result(attempt, status="rejected", score=10, averages=dict(ZERO_AVERAGES))
        seed_samples(attempt, [(90, 50, False, None), (20, 50, True, "c2")])
        seed_job(attempt)


def test_queries_do_not_grow_with_rows(client, page, exam):
    _seed_full(exam, students(2, "a"))
    with counted_queries() as few:
        page("/dashboard/rows")
    _seed_full(exam, students(12, "b"))
    with counted_queries() as many:
        html = page("/dashboard/rows")
    assert len(row_ids(html)) == 14
    assert len(many) == len(few), "\n".join(many)
    assert len(many) <= 8


def test_unchanged_poll_reads_no_table(client, page, mixed):
    """Nothing changed: the 204 comes from the change stamp alone, without the table's
    queries (no join of attempts and results, no metrics timeline) or a render."""
    same_minute_ahead()
    html = page("/dashboard/rows")
    url = re.search(r'data-poll-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    with counted_queries() as seen:
        assert client.get(url).status_code == 204
    table_reads = [s for s in seen if "JOIN" in s or "GROUP BY" in s]
    assert not table_reads, "\n".join(table_reads)
    assert len(seen) <= 3, "\n".join(seen)


def test_poll_sees_a_new_metrics_sample(client, page, exam, student):
    """The live score comes from the latest metrics sample: a new one is a change."""
    same_minute_ahead()
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=2)
    html = page("/dashboard/rows")
    url = re.search(r'data-poll-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(url).status_code == 204
    seed_samples(attempt, [(37, 50, False, None)])
    changed = client.get(url)
    assert changed.status_code == 200


def test_a_running_session_shows_its_live_metrics(page, exam, student):
    """Before any result: the page's latest metrics score and how many events violated."""
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=2)
    seed_samples(attempt, [(95, 50, False, None), (40, 50, True, "c2"), (85, 50, False, None)])
    html = page("/dashboard")
    row = html[html.index(f'data-attempt-id="{attempt.id}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'<span class="live-score"[^>]*>85 <small>live</small></span> '
                     r'<span class="muted">/ 50</span>', row)
    assert '3 events, <span class="violated-count">1 violated</span>' in row
