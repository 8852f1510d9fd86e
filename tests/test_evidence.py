"""The attempt keeps what the proctoring server said apart from what the page reported:
`vendor_*` columns only from deliveries (and Constructor's status call), `page_*` columns
only from the page's reports; neither ever fills the other."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring import ordering, results
from tests.support.app import start_attempt
from tests.support.webhooks import delivery, post


@pytest.fixture
def running(client, auth, student, exam):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    return db.session.get(Attempt, attempt_id), headers


def fresh(attempt_id: int) -> Attempt:
    db.session.expire_all()
    return db.session.get(Attempt, attempt_id)


def test_the_pages_start_report_is_the_pages_only(running):
    attempt, _ = running
    assert attempt.page_started_at is not None and attempt.started_at is not None
    assert (attempt.vendor_first_delivery_at, attempt.vendor_started_at,
            attempt.vendor_status) == (None, None, None)
    assert not attempt.vendor_heard_from


def test_a_webhook_is_the_vendors_word(client, running):
    attempt, _ = running
    assert post(client, delivery(attempt.identifier, status="started")).status_code == 200
    attempt = fresh(attempt.id)
    first = attempt.vendor_first_delivery_at
    assert first is not None and attempt.vendor_started_at == first
    assert attempt.page_stopped_at is None
    # Later deliveries keep the first time.
    post(client, delivery(attempt.identifier, status="stopped", proctor="anna",
                          signed="2024-05-01T11:00:00.000Z"))
    attempt = fresh(attempt.id)
    assert attempt.vendor_first_delivery_at == first
    # The vendor named the proctor: that is a fact, and the close reason says it.
    assert attempt.close_reason == "The proctoring server reports the session stopped by anna."
    assert attempt.page_stopped_at is None


def test_a_skipped_session_was_heard_of_but_never_started(client, auth, student, exam):
    auth.login()
    response = client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt_id = int(response.location.rsplit("/", 1)[1])
    identifier = fresh(attempt_id).identifier
    post(client, delivery(identifier, status="skipped"))
    attempt = fresh(attempt_id)
    assert attempt.vendor_first_delivery_at is not None and attempt.vendor_started_at is None
    assert attempt.page_started_at is None


def test_a_result_that_came_before_its_attempt_counts_when_linked(app, student, exam):
    from portal.exams import services

    raw = results.RawDelivery("supervisor", "application/json", {}, "{}")
    update = ordering.ResultUpdate(identifier="early0000000000000000000000000000",
                                  status="started")
    assert results.record_and_apply(raw, update) == results.UNMATCHED
    db.session.commit()
    attempt = Attempt(exam_id=exam.id, user_id=student.id, vendor="supervisor",
                      identifier="early0000000000000000000000000000")
    db.session.add(attempt)
    db.session.flush()
    results.link_unmatched(attempt)
    db.session.commit()
    attempt = fresh(attempt.id)
    assert attempt.vendor_first_delivery_at is not None and attempt.vendor_started_at is not None
    assert services.closed_message(attempt)  # still usable as an ordinary attempt


def test_another_vendors_delivery_is_no_evidence(running):
    """A Constructor review naming a Supervisor attempt's identifier proves nothing about
    the Supervisor session."""
    attempt, _ = running
    raw = results.RawDelivery("constructor", "application/json", {}, "{}")
    results.record_and_apply(raw, ordering.ResultUpdate(identifier=attempt.identifier,
                                                       status="started"))
    db.session.commit()
    attempt = fresh(attempt.id)
    assert attempt.vendor_first_delivery_at is None and attempt.vendor_started_at is None


def test_evidence_columns_are_on_the_detail_page_and_in_the_csv(client, auth, running,
                                                                instructor):
    import csv
    import io

    attempt, headers = running
    client.post(f"/api/attempts/{attempt.id}/stopped", headers=headers)
    auth.logout()
    auth.login(instructor.username)
    page = client.get(f"/dashboard/attempts/{attempt.id}").get_data(as_text=True)
    assert "Evidence of proctoring" in page
    vendor_cell = page.split('data-testid="vendor-evidence">')[1].split("</dd>")[0]
    page_cell = page.split('data-testid="page-evidence">')[1].split("</dd>")[0]
    assert "nothing yet" in vendor_cell
    assert "start " in page_cell and "stop " in page_cell and "a claim, not proof" in page_cell
    assert "Not confirmed by the proctoring server" in page
    text = client.get("/dashboard/export.csv").get_data(as_text=True).removeprefix("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["vendor_first_delivery_at"] == "" and row["vendor_start_confirmed_at"] == ""
    assert row["page_reported_start_at"].endswith("Z") and row["page_reported_stop_at"]
    assert row["close_reason"] == "The page reported that the proctoring session ended."
    assert "Not confirmed by the proctoring server" in row["flags"]
    assert row["proctor"] == ""


def test_the_table_shows_the_flag_at_once(client, auth, running, instructor):
    attempt, headers = running
    client.post(f"/api/attempts/{attempt.id}/submit", headers=headers)
    auth.logout()
    auth.login(instructor.username)
    html = client.get("/dashboard").get_data(as_text=True)
    row = html.split(f'data-attempt-id="{attempt.id}"')[1].split("</tr>")[0]
    assert "Not confirmed by the proctoring server" in row
    assert "No verdict" not in row
    assert db.session.scalar(select(Attempt.state)) == "submitted"
