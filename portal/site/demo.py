"""Demo data for `make run`: three students, one instructor, the tutorial exam."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.auth.models import User
from portal.auth.services import create_user
from portal.exams.importer import import_exam
from portal.extensions import db

DEMO_USERS = [
    ("student1", "student", "student", "Ada Lovelace"),
    ("student2", "student", "student", "Alan Turing"),
    ("student3", "student", "student", "Grace Hopper"),
    ("instructor", "instructor", "instructor", "Ines Instructor"),
]
DEMO_EXAM = Path(__file__).with_name("demo_exam.yaml")


def load_demo_data() -> bool:
    """Add the demo users and exam if the database has no users. True if loaded."""
    if db.session.scalar(select(func.count(User.id))):
        return False
    for username, password, role, name in DEMO_USERS:
        create_user(username, password, role, name, group="demo", lang="en")
    import_exam(DEMO_EXAM.read_text(encoding="utf-8"), str(DEMO_EXAM))
    return True
