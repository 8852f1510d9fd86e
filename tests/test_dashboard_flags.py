"""Every flag rule, each with its reason in words, and the "flagged only" filter."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.dashboard import flags, queries
from portal.dashboard.filters import TableFilters
from portal.db_types import utcnow
from portal.exams.models import Attempt
from portal.extensions import db
from tests.support.app import Auth, add_exam, add_user, make_app
from tests.support.factories import (login_instructor, seed_attempt, seed_job, seed_result,
                             seed_samples)


def flags_of(attempt: Attempt, ctx: flags.FlagContext | None = None) -> dict[str, str]:
    """code -> reason for one attempt, as the table computes them."""
    ctx = ctx or flags.FlagContext(utcnow(), 30)
    page = queries.results_page(TableFilters(q=attempt.identifier), ctx)
    (row,) = [r for r in page.rows if r.attempt.id == attempt.id]
    return {flag.code: flag.reason for flag in row.flags}


def flagged_ids(ctx: flags.FlagContext | None = None) -> set[int]:
    ctx = ctx or flags.FlagContext(utcnow(), 30)
    return {row.attempt.id for row in queries.results_page(TableFilters(flagged=True), ctx).rows}


def test_the_rules_are_one_table():
    ctx = flags.FlagContext(utcnow(), 30)
    codes = [rule.code for rule in flags.RULES]
    assert len(set(codes)) == len(codes) and tuple(codes) == flags.FLAG_CODES
    assert [column.name for column in flags.flag_columns(ctx)] == [f"flag_{c}" for c in codes]
    assert all(rule.label and callable(rule.reason) for rule in flags.RULES)


def test_a_clean_attempt_has_no_flags(app, exam, student):
    attempt = seed_attempt(exam, student, minutes_ago=120)
    seed_result(attempt, status="accepted", score=95, threshold=50)
    seed_samples(attempt, [(95, 50, False, None)] * 3)
    assert flags_of(attempt) == {}
    assert flagged_ids() == set()


# ---- no verdict after the grace period ----------------------------------------------------

def _closed(exam, student, minutes_ago_closed: float, **kw):
    closed = utcnow() - timedelta(minutes=minutes_ago_closed)
    return seed_attempt(exam, student, started=closed - timedelta(minutes=10), closed=closed, **kw)


def test_no_verdict_after_grace_period(app, exam, student):
    attempt = _closed(exam, student, 45)
    seed_result(attempt, status="stopped", score=80)
    reasons = flags_of(attempt)
    assert set(reasons) == {"no_verdict"}
    assert reasons["no_verdict"] == ("No proctoring verdict: the proctoring status is still "
                                     "“stopped” 45 min after the attempt closed "
                                     "(grace period 30 min).")
    assert flagged_ids() == {attempt.id}


def test_no_verdict_waits_for_the_grace_period(app, exam, student):
    attempt = _closed(exam, student, 25)
    seed_result(attempt, status="stopped", score=80)
    assert flags_of(attempt) == {}


def test_a_confirmed_session_without_a_result_is_flagged_in_words(app, exam, student):
    """Constructor's status call confirmed the start, but no review came."""
    attempt = _closed(exam, student, 3 * 60, vendor="constructor")
    attempt.vendor_started_at = attempt.started_at  # as confirm_start records it
    db.session.commit()
    assert flags_of(attempt)["no_verdict"].startswith(
        "No proctoring verdict: no proctoring result has arrived 3 h after the attempt closed")


# ---- not confirmed by the proctoring server ------------------------------------------------

@pytest.mark.parametrize("state", ["submitted", "expired", "terminated"])
def test_closing_with_nothing_from_the_server_is_flagged_at_once(app, exam, student, state):
    """Supervisor has no status API: a page that reported the start itself and was never
    heard of by the server is flagged the moment the attempt closes, not after the grace
    period, and not as "awaiting the verdict"."""
    attempt = _closed(exam, student, 0, state=state)
    attempt.page_started_at = attempt.started_at
    db.session.commit()
    reasons = flags_of(attempt)
    assert "no_verdict" not in reasons
    assert reasons["unconfirmed"] == (
        "Not confirmed by the proctoring server: the attempt closed and nothing has arrived "
        "from the proctoring server about its session (no result, no confirmed start), so "
        "proctoring may never have run. The page reported the proctoring start, but that is "
        "the page's word only.")
    assert flags.LABELS["unconfirmed"] == "Not confirmed by the proctoring server"
    assert attempt.id in flagged_ids()


def test_any_delivery_clears_not_confirmed_and_the_grace_period_applies(app, exam, student):
    attempt = _closed(exam, student, 10)
    seed_result(attempt, status="started")
    assert flags_of(attempt) == {}  # heard of, within the grace period
    assert set(flags_of(attempt, flags.FlagContext(utcnow(), 5))) == {"no_verdict"}


def test_another_vendors_delivery_confirms_nothing(app, exam, student):
    attempt = _closed(exam, student, 0)
    seed_result(attempt, status="accepted", vendor="constructor")
    assert "unconfirmed" in flags_of(attempt)


def test_open_attempts_are_not_yet_unconfirmed(app, exam, student):
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=5)
    assert flags_of(attempt) == {}


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_a_verdict_clears_no_verdict(app, exam, student, status):
    attempt = _closed(exam, student, 120)
    seed_result(attempt, status=status, score=80)
    assert "no_verdict" not in flags_of(attempt)


def test_open_attempts_never_lack_a_verdict(app, exam, student):
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=5)
    assert "no_verdict" not in flags_of(attempt)


def test_grace_period_is_the_contexts(app, exam, student):
    attempt = _closed(exam, student, 10)
    seed_result(attempt, status="stopped")
    assert "no_verdict" not in flags_of(attempt, flags.FlagContext(utcnow(), 30))
    assert "no_verdict" in flags_of(attempt, flags.FlagContext(utcnow(), 5))


def test_grace_period_comes_from_config(backend, tmp_path):
    app = make_app(backend, tmp_path, VERDICT_GRACE_MINUTES=5)
    with app.app_context():
        exam = add_exam()
        student = add_user("student1")
        instructor = add_user("teacher", role="instructor")
        seed_result(_closed(exam, student, 10), status="stopped")
        client = app.test_client()
        login_instructor(client, Auth(client), instructor)
        html = client.get("/dashboard").get_data(as_text=True)
        assert "No verdict" in html and "(grace period 5 min)" in html
        db.session.remove()
        db.engine.dispose()


# ---- skipped, terminated, rejected ---------------------------------------------------------

def test_skipped(app, exam, student):
    attempt = seed_attempt(exam, student, state="created", minutes_ago=5)
    seed_result(attempt, status="skipped")
    assert flags_of(attempt) == {"skipped": "Proctoring skipped: the session was not started "
                                            "before its deadline."}


def test_terminated_gives_the_close_reason(app, exam, student):
    attempt = seed_attempt(exam, student, state="terminated", minutes_ago=5,
                           close_reason="Proctoring session ended by a proctor (p1).")
    seed_result(attempt, status="stopped", proctor="p1")
    assert flags_of(attempt) == {"terminated": "Terminated before submission: Proctoring "
                                               "session ended by a proctor (p1)."}


def test_rejected_names_the_proctor_and_comment(app, exam, student):
    attempt = seed_attempt(exam, student, minutes_ago=5)
    seed_result(attempt, status="rejected", proctor="p1", comment="Phone on the desk")
    assert flags_of(attempt) == {"rejected": "The proctor (p1) rejected the session: "
                                             "“Phone on the desk”"}


# ---- score under threshold -----------------------------------------------------------------

def test_score_under_the_results_threshold(app, exam, student):
    attempt = seed_attempt(exam, student, minutes_ago=5)
    seed_result(attempt, status="accepted", score=36, threshold=50)
    assert flags_of(attempt) == {"below_threshold":
                                 "Proctoring score 36 is under the threshold 50."}


def test_score_equal_to_threshold_is_not_under(app, exam, student):
    attempt = seed_attempt(exam, student, minutes_ago=5)
    seed_result(attempt, status="accepted", score=50, threshold=50)
    assert flags_of(attempt) == {}


def test_without_the_vendors_threshold_the_exams_applies(app, student, other_student):
    """Supervisor webhooks carry no threshold: the exam file's `threshold` decides."""
    strict = add_exam(slug="strict", title="Strict", threshold=60)
    attempt = seed_attempt(strict, student, minutes_ago=5)
    seed_result(attempt, status="accepted", score=55)
    assert flags_of(attempt) == {"below_threshold":
                                 "Proctoring score 55 is under the threshold 60."}
    default = add_exam(slug="default", title="Default")  # the template's usual 50
    attempt = seed_attempt(default, other_student, minutes_ago=5)
    seed_result(attempt, status="accepted", score=5)
    assert set(flags_of(attempt)) == {"below_threshold"}


def test_the_pages_threshold_never_decides(app, client, auth, exam, student):
    """A forged sample {score: 100, threshold: 0} clears nothing, also after submission;
    nor does a page's higher threshold raise the flag."""
    from tests.support.app import start_attempt

    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    forged = {"metrics": {}, "score": 100, "threshold": 0, "violated": False}
    assert client.post(f"/api/attempts/{attempt_id}/metrics", json={"samples": [forged]},
                       headers=headers).status_code == 200
    client.post(f"/api/attempts/{attempt_id}/submit", headers=headers)
    assert client.post(f"/api/attempts/{attempt_id}/metrics", json={"samples": [forged]},
                       headers=headers).status_code == 409
    attempt = db.session.get(Attempt, attempt_id)
    seed_result(attempt, status="accepted", score=36)
    assert flags_of(attempt) == {"below_threshold":
                                 "Proctoring score 36 is under the threshold 50."}
    seed_samples(attempt, [(90, 95, False, None)])  # a page claiming a threshold of 95
    db.session.delete(attempt.result)
    db.session.commit()
    seed_result(attempt, status="accepted", score=60)
    assert flags_of(attempt) == {}


# ---- violations in the metrics timeline ------------------------------------------------------

def test_violations_in_the_timeline(app, exam, student):
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=5)
    start = attempt.started_at
    seed_samples(attempt, [(95, 50, False, None), (30, 50, True, "c3"), (20, 50, True, "c2"),
                           (25, 50, True, "c2"), (90, 50, False, None)], start=start)
    first = start + timedelta(seconds=10)
    assert flags_of(attempt) == {"violations": (
        f"The metrics timeline shows violations: 3 of 5 samples, the first at "
        f"{first:%H:%M:%S} UTC; most often face invisible or not looking at the camera.")}


def test_no_violations_no_flag(app, exam, student):
    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=5)
    seed_samples(attempt, [(95, 50, False, None)] * 4)
    assert flags_of(attempt) == {}


# ---- the finish call failed ----------------------------------------------------------------

def test_failed_finish_call(app, exam, student):
    attempt = seed_attempt(exam, student, minutes_ago=5, vendor="constructor")
    seed_result(attempt, status="accepted", vendor="constructor")
    seed_job(attempt, tries=8, last_error="HTTP 503")
    assert flags_of(attempt) == {"finish_failed": "The finish call to the proctoring server "
                                                  "failed after 8 tries: HTTP 503"}


@pytest.mark.parametrize("state", ["pending", "done"])
def test_pending_or_done_calls_are_not_flagged(app, exam, student, state):
    attempt = seed_attempt(exam, student, minutes_ago=5, vendor="constructor")
    seed_result(attempt, status="accepted", vendor="constructor")
    seed_job(attempt, state=state, last_error=None)
    assert flags_of(attempt) == {}


# ---- together --------------------------------------------------------------------------------

def test_several_reasons_most_serious_first_and_on_the_page(app, client, auth, instructor,
                                                            exam, student):
    attempt = seed_attempt(exam, student, state="terminated", minutes_ago=90,
                           close_reason="Proctoring session ended by a proctor (p1).")
    seed_result(attempt, status="rejected", score=20, threshold=50, proctor="p1")
    seed_samples(attempt, [(20, 50, True, "m2")])
    assert list(flags_of(attempt)) == ["rejected", "terminated", "below_threshold", "violations"]
    login_instructor(client, auth, instructor)
    html = client.get("/dashboard?flagged=1").get_data(as_text=True)
    for words in ("Rejected", "The proctor (p1) rejected the session.", "Terminated",
                  "Under threshold", "Violations", "most often conversation or noise"):
        assert words in html
    assert 'class="flagged"' in html


def test_flagged_filter_counts_match(app, exam, student, other_student):
    bad = seed_attempt(exam, student, minutes_ago=5)
    seed_result(bad, status="rejected")
    good = seed_attempt(exam, other_student, minutes_ago=5)
    seed_result(good, status="accepted")
    page = queries.results_page(TableFilters(), flags.FlagContext(utcnow(), 30))
    assert (page.total, page.flagged_total) == (2, 1)
    assert flagged_ids() == {bad.id}


def test_flags_belong_to_their_own_attempt(app, exam, student, other_student):
    """Samples, calls and thresholds of one attempt never flag another."""
    clean = seed_attempt(exam, student, minutes_ago=5)
    seed_result(clean, status="accepted", score=55)
    flagged = seed_attempt(exam, other_student, minutes_ago=5, vendor="constructor")
    assert flagged.id != flagged.exam_id  # else a join on the wrong column could pass
    seed_result(flagged, status="accepted", score=55, threshold=60, vendor="constructor")
    seed_samples(flagged, [(20, 60, True, "c2")])
    seed_job(flagged)
    assert flags_of(clean) == {}
    assert set(flags_of(flagged)) == {"below_threshold", "violations", "finish_failed"}
