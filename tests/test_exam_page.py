"""The student's pages as the server builds them: the test page's config (its start mode,
the metric words from the one list), the exam intro's facts, the closed attempt's page."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.metrics import METRIC_ADVICE, METRIC_NAMES
from portal.proctoring.providers import for_vendor
from tests.support.app import start_attempt

PAGE_JS = Path(__file__).resolve().parents[1] / "portal" / "static" / "js"


@pytest.fixture
def logged_in(client, auth, student):
    auth.login()
    return client


def page_config(client, url: str, **headers) -> dict:
    page = client.get(url, headers=headers).get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="attempt-config">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))


def test_the_page_gets_the_metric_words_from_the_one_list(logged_in, auth, exam):
    attempt_id, _ = start_attempt(logged_in, auth, exam)
    config = page_config(logged_in, f"/attempts/{attempt_id}")
    assert config["metricNames"] == METRIC_NAMES
    assert config["metricAdvice"] == METRIC_ADVICE and set(METRIC_ADVICE) == set(METRIC_NAMES)
    # ... and no script restates them (the words of one code, anywhere in the page's JS).
    scripts = [p.read_text(encoding="utf-8") for p in PAGE_JS.rglob("*.js")]
    assert not any(METRIC_NAMES["c2"] in s or METRIC_ADVICE["c2"] in s for s in scripts)


def test_the_server_chooses_the_start_mode(logged_in, auth, exam):
    response = logged_in.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    url = response.location
    assert page_config(logged_in, url)["startMode"] == "explicit"
    assert page_config(logged_in, url + "/auto")["startMode"] == "auto"
    assert page_config(logged_in, url + "/framed", **{"Sec-Fetch-Dest": "iframe"})["startMode"] == "framed"
    attempt_id = int(url.rsplit("/", 1)[1])
    headers = auth.headers()
    assert logged_in.post(f"/api/attempts/{attempt_id}/stopped", headers=headers).status_code == 200
    assert page_config(logged_in, url)["startMode"] == "ended"


def test_a_submitted_attempt_in_the_frame_shows_its_score(logged_in, auth, exam):
    attempt_id, headers = start_attempt(logged_in, auth, exam)
    assert logged_in.post(f"/api/attempts/{attempt_id}/submit", headers=headers).status_code == 200
    config = page_config(logged_in, f"/attempts/{attempt_id}/framed", **{"Sec-Fetch-Dest": "iframe"})
    assert config["startMode"] == "submitted" and config["maxScore"] == 4


def test_started_carries_the_deadline_and_the_servers_clock(logged_in, auth, exam):
    response = logged_in.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt_id = int(response.location.rsplit("/", 1)[1])
    body = logged_in.post(f"/api/attempts/{attempt_id}/started", headers=auth.headers()).get_json()
    assert body["deadline"] and body["now"] and body["now"] < body["deadline"]


def test_the_intro_says_questions_points_time_attempts_and_equipment(logged_in, exam):
    page = logged_in.get(f"/exams/{exam.id}").get_data(as_text=True)
    facts = re.search(r'<ul id="exam-facts">(.*?)</ul>', page, re.S).group(1)
    assert "Questions: 3, worth 4 points in all." in facts
    assert "Time limit: 30 minutes" in facts
    assert "Attempts: one." in facts and "contact your instructor" in facts
    steps = re.search(r'<ul id="proctoring-steps">(.*?)</ul>', page, re.S).group(1)
    for step in for_vendor("supervisor").student_steps(exam):
        assert f"<li>{step}</li>" in steps
    assert "webcam and a microphone" in steps


def test_the_intro_names_the_exams_own_vendors_steps(logged_in, app, exam):
    exam.vendor = "constructor"
    db.session.commit()
    page = logged_in.get(f"/exams/{exam.id}").get_data(as_text=True)
    assert "checks your identity (an ID document)" in page
    assert "equipment check (browser, camera" not in page


def test_the_result_of_an_ended_attempt_says_what_happened_and_what_next(logged_in, auth, exam):
    attempt_id, headers = start_attempt(logged_in, auth, exam)
    assert logged_in.post(f"/api/attempts/{attempt_id}/stopped", headers=headers).status_code == 200
    page = logged_in.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    ended = re.search(r'<section id="attempt-ended".*?</section>', page, re.S).group(0)
    assert "The proctoring session ended your test" in ended
    assert "The page reported that the proctoring session ended." in ended
    assert "saved answers were graded" in ended and "contact your instructor" in ended
    assert db.session.scalar(select(Attempt)).state == "terminated"
    intro = logged_in.get(f"/exams/{exam.id}").get_data(as_text=True)
    assert f'href="/attempts/{attempt_id}/result"' in intro
