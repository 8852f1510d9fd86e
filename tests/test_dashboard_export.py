"""GET /dashboard/export.csv: the filtered table, every page, safe in a spreadsheet."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from portal.dashboard.export import COLUMNS, cell
from tests.support.app import add_exam, add_user
from tests.support.factories import (ZERO_AVERAGES, login_instructor, seed_attempt,
                             seed_result, students)


def read_csv(response) -> list[dict[str, str]]:
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode()), "no UTF-8 byte-order mark for Excel"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


@pytest.fixture
def export(client, auth, instructor):
    login_instructor(client, auth, instructor)

    def get(query: str = "") -> list[dict[str, str]]:
        response = client.get("/dashboard/export.csv" + query)
        assert response.status_code == 200
        return read_csv(response)
    return get


def test_headers_and_columns(client, auth, instructor, exam, student):
    seed_result(seed_attempt(exam, student), status="accepted", score=90)
    login_instructor(client, auth, instructor)
    response = client.get("/dashboard/export.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="results-')
    header = next(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert header == COLUMNS
    assert "identifier" in header
    averages = [name for name in header if name.startswith("avg_")]
    assert len(averages) == 15
    assert "avg_c2 (face invisible or not looking at the camera)" in averages


def test_row_content_iso_times_and_averages(export, exam, student):
    started = datetime(2024, 5, 1, 10, 0, 5, 123000, tzinfo=timezone.utc)
    attempt = seed_attempt(exam, student, started=started,
                           closed=datetime(2024, 5, 1, 10, 30, tzinfo=timezone.utc),
                           score=3, max_score=4)
    seed_result(attempt, status="rejected", score=36.5, threshold=50, duration=35,
                proctor="admin", averages={**ZERO_AVERAGES, "c2": 40, "n1": 36},
                started_at=started, link="https://proctor.test/api/report/x")
    (row,) = export()
    assert row["identifier"] == attempt.identifier
    assert row["attempt_id"] == str(attempt.id)
    assert row["student_username"] == "student1" and row["student_name"] == "Ada Lovelace"
    assert row["exam"] == "Sample exam" and row["lms_state"] == "submitted"
    assert (row["grade"], row["grade_max"]) == ("3", "4")
    assert row["attempt_started_at"] == "2024-05-01T10:00:05.123Z"
    assert row["attempt_closed_at"] == "2024-05-01T10:30:00.000Z"
    assert row["proctoring_started_at"] == "2024-05-01T10:00:05.123Z"
    assert (row["proctoring_status"], row["proctoring_score"], row["threshold"]) == (
        "rejected", "36.5", "50")
    assert row["duration_minutes"] == "35"
    assert row["avg_c2 (face invisible or not looking at the camera)"] == "40"
    assert row["avg_n1 (no network)"] == "36"
    assert row["avg_b1 (browser not supported)"] == "0"
    assert row["flags"] == "Rejected; Under threshold"
    assert "Proctoring score 36.5 is under the threshold 50." in row["flag_reasons"]
    assert row["protocol_link"] == "https://proctor.test/api/report/x"


def test_attempt_without_result_has_empty_cells(export, exam, student):
    seed_attempt(exam, student, state="in_progress", minutes_ago=1)
    (row,) = export()
    assert row["proctoring_status"] == row["proctoring_score"] == ""
    assert row["avg_c2 (face invisible or not looking at the camera)"] == ""


def test_export_is_filtered_and_not_paginated(export, exam):
    other = add_exam(slug="other", title="Other exam")
    for user in students(30):
        seed_result(seed_attempt(exam, user), status="accepted")
    seed_result(seed_attempt(other, add_user("x1")), status="rejected")
    assert len(export("?per_page=10&page=2")) == 31
    assert {r["exam"] for r in export(f"?exam={other.id}")} == {"Other exam"}
    assert [r["proctoring_status"] for r in export("?flagged=1")] == ["rejected"]
    assert export("?q=s07")[0]["student_username"] == "s07"


def test_export_follows_the_tables_sort(export, exam):
    users = students(3)
    for user, score in zip(users, (50, 90, 10)):
        seed_result(seed_attempt(exam, user), status="accepted", score=score)
    assert [r["proctoring_score"] for r in export("?sort=score&dir=asc")] == ["10", "50", "90"]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3",
                                  "@SUM(A1)", "\tcmd", "\rcmd", "＝1+1"])
def test_formula_injection_is_neutralised(export, exam, student, text):
    seed_result(seed_attempt(exam, student), status="accepted", comment=text, proctor=text)
    (row,) = export()
    assert row["comment"] == "'" + text
    assert row["proctor"] == "'" + text


def test_names_with_formulas_accents_and_quotes(export, exam):
    user = add_user("zoe", display_name='=cmd|" /C calc"!A0')
    seed_result(seed_attempt(exam, user), status="accepted",
                comment='Zoë said "hi",\nthen left; 日本語')
    (row,) = export()
    assert row["student_name"] == '\'=cmd|" /C calc"!A0'
    assert row["comment"] == 'Zoë said "hi",\nthen left; 日本語'


def test_cell_rules():
    assert cell(None) == ""
    assert cell(-3) == -3 and cell(-2.5) == -2.5 and cell(4.0) == 4
    assert cell(True) == "yes"
    assert cell("safe") == "safe" and cell(" =not at the start") == " =not at the start"
    assert cell("-1") == "'-1"
    assert cell(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2024-01-02T03:04:05.000Z"
