"""Exam import (JSON/YAML, line-precise errors) and user management by CLI."""
import json

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from portal.exams.models import Exam, Question
from portal.extensions import db

GOOD_YAML = """\
slug: algebra
title: Algebra
time_limit_minutes: 20
closes_at: 2030-01-01T00:00:00Z
questions:
  - kind: single
    prompt: "1 + 1?"
    options: ["1", "2"]
    correct: 1
  - kind: text
    prompt: "Name a prime"
    correct: ["2", "3"]
    points: 2
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_yaml(runner, tmp_path):
    result = runner.invoke(args=["exams", "import", write(tmp_path, "a.yaml", GOOD_YAML)])
    assert result.exit_code == 0, result.output
    assert "Imported exam" in result.output and "(2 questions)" in result.output
    exam = db.session.scalar(select(Exam))
    assert exam.title == "Algebra" and exam.closes_at.year == 2030
    assert [q.correct for q in exam.questions] == [[1], ["2", "3"]]


def test_threshold_and_show_points_default_and_import(runner, tmp_path):
    assert runner.invoke(args=["exams", "import", write(tmp_path, "a.yaml", GOOD_YAML)]).exit_code == 0
    exam = db.session.scalar(select(Exam))
    assert (exam.threshold, exam.show_points) == (50, "after_close")
    text = GOOD_YAML.replace("slug: algebra", "slug: geometry") + (
        "threshold: 70\nshow_points: after_submission\n")
    assert runner.invoke(args=["exams", "import", write(tmp_path, "b.yaml", text)]).exit_code == 0
    exam = db.session.scalar(select(Exam).where(Exam.slug == "geometry"))
    assert (exam.threshold, exam.show_points) == (70, "after_submission")


def test_the_database_refuses_an_out_of_range_threshold(app):
    from sqlalchemy.exc import IntegrityError

    from tests.support.app import add_exam

    exam = add_exam()
    for column, value in (("threshold", 101), ("show_points", "always")):
        setattr(exam, column, value)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_import_json_and_reimport_replaces(runner, tmp_path):
    data = {"slug": "j", "title": "JSON exam", "time_limit_minutes": 5, "questions": [
        {"kind": "multiple", "prompt": "Even?", "options": ["1", "2", "4"], "correct": [2, 1]}]}
    path = write(tmp_path, "a.json", json.dumps(data))
    assert runner.invoke(args=["exams", "import", path]).exit_code == 0
    result = runner.invoke(args=["exams", "import", path])
    assert "Replaced exam" in result.output
    assert db.session.scalar(select(func.count(Exam.id))) == 1
    assert db.session.scalar(select(Question.correct)) == [1, 2]


@pytest.mark.parametrize("text,message", [
    (GOOD_YAML.replace("time_limit_minutes: 20", "time_limit_minutes: -1"),
     "line 1: 'time_limit_minutes' must be positive"),
    (GOOD_YAML.replace("correct: 1", "correct: 5"),
     "line 6 (question 1): 'correct' must be an option number 0-1"),
    (GOOD_YAML.replace("kind: text", "kind: essay"), "line 10 (question 2): 'kind' must be one of"),
    (GOOD_YAML.replace('options: ["1", "2"]', 'options: ["only"]'),
     "line 6 (question 1): 'options' must list at least two strings"),
    ("title: [unclosed", "line 1: not valid JSON/YAML"),
    ("- just a list", "expected an object"),
    (GOOD_YAML.replace("2030-01-01T00:00:00Z", "soon"), "'soon' is not an ISO-8601"),
    (GOOD_YAML + "threshold: 101\n", "line 1: 'threshold' must be a whole number 0-100"),
    (GOOD_YAML + "threshold: -1\n", "line 1: 'threshold' must be a whole number 0-100"),
    (GOOD_YAML + "threshold: 50.5\n", "line 1: 'threshold' must be a whole number 0-100"),
    (GOOD_YAML + "threshold: yes\n", "line 1: 'threshold' must be a whole number 0-100"),
    (GOOD_YAML + "proctors: proctor1\n", "line 1: 'proctors' must be a list of strings"),
    (GOOD_YAML + "tags: [1, 2]\n", "line 1: 'tags' must be a list of strings"),
    (GOOD_YAML + "inactivity_timeout_minutes: 0\n",
     "line 1: 'inactivity_timeout_minutes' must be a whole number of minutes > 0"),
    (GOOD_YAML + "vendor: proctorio\n", "line 1: 'vendor' must be one of supervisor, constructor"),
    (GOOD_YAML + "opens_at: 2031-01-01T00:00:00Z\n", "line 1: 'closes_at' must be after 'opens_at'"),
    (GOOD_YAML.replace("title: Algebra\n", ""), "line 1: 'title' is required (str)"),
    (GOOD_YAML.replace('    prompt: "Name a prime"\n', ""),
     "line 10 (question 2): 'prompt' is required (str)"),
    (GOOD_YAML.replace("    points: 2\n", "    points: -2\n"),
     "line 10 (question 2): 'points' must be a number >= 0"),
    ("title: T\ntime_limit_minutes: 5\nquestions: []\n", "'questions' must be a non-empty list"),
    (GOOD_YAML + "show_points: always\n",
     "line 1: 'show_points' must be one of after_submission, after_close, never "
     "(default after_close)"),
])
def test_import_errors_name_the_line_and_import_nothing(runner, tmp_path, text, message):
    result = runner.invoke(args=["exams", "import", write(tmp_path, "bad.yaml", text)])
    assert result.exit_code == 1
    assert "nothing imported" in result.output and message in result.output
    assert db.session.scalar(select(func.count(Exam.id))) == 0


def test_every_problem_is_listed_at_once(runner, tmp_path):
    text = (GOOD_YAML.replace("time_limit_minutes: 20", "time_limit_minutes: 0")
            .replace("correct: 1", "correct: 7").replace('correct: ["2", "3"]', "correct: 3"))
    result = runner.invoke(args=["exams", "import", write(tmp_path, "bad.yaml", text)])
    assert result.exit_code == 1
    assert "line 1: 'time_limit_minutes' must be positive" in result.output
    assert "line 6 (question 1): 'correct' must be an option number 0-1" in result.output
    assert "line 10 (question 2): 'correct' must be the accepted answer text" in result.output


def test_json_syntax_error_has_its_line(runner, tmp_path):
    path = write(tmp_path, "bad.json", '{"title": "x",\n "questions": [1,],\n}')
    result = runner.invoke(args=["exams", "import", path])
    assert result.exit_code == 1 and "line 2" in result.output


def test_users_create_and_duplicate(runner):
    result = runner.invoke(args=["users", "create", "ann", "--role", "instructor"],
                           input="secret1\nsecret1\n")
    assert result.exit_code == 0 and "Created instructor ann" in result.output
    again = runner.invoke(args=["users", "create", "ann"], input="secret1\nsecret1\n")
    assert again.exit_code == 1 and "taken" in again.output


def test_users_import_csv_all_or_nothing(runner, tmp_path):
    good = write(tmp_path, "u.csv", "username,password,role,display_name,group\n"
                 "s1,password,student,Sam One,g1\ni1,password,instructor,,\n")
    result = runner.invoke(args=["users", "import", good])
    assert result.exit_code == 0 and "Imported 2 users" in result.output
    assert db.session.scalar(select(User.group_name).where(User.username == "s1")) == "g1"
    bad = write(tmp_path, "v.csv", "username,password\nok1,password\nbad name,password\n")
    result = runner.invoke(args=["users", "import", bad])
    assert result.exit_code == 1 and "line 3" in result.output and "bad name" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 2


def test_users_import_needs_a_header(runner, tmp_path):
    result = runner.invoke(args=["users", "import", write(tmp_path, "x.csv", "a,b\n")])
    assert result.exit_code == 1 and "header" in result.output


def test_demo_load_once(runner):
    assert "Demo data loaded" in runner.invoke(args=["demo", "load"]).output
    assert "not loaded" in runner.invoke(args=["demo", "load"]).output
    exam = db.session.scalar(select(Exam))
    assert exam.title == "Tutorial: proctoring" and exam.time_limit_minutes == 30
    assert {q.kind for q in exam.questions} == {"single", "multiple", "text"}
    assert len(exam.questions) >= 6
