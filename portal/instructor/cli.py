"""Bulk instructor actions from the command line:

    flask --app wsgi exams allow EXAM USERNAME... --minutes 30 --reason "..."
    flask --app wsgi attempts reopen ATTEMPT_ID... --reason "..."

All or nothing: every name and attempt is checked first; one that does not fit stops
the command with a message and a non-zero exit, and nothing is changed. The staff log
names the command line as the actor."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.exams import deadlines
from portal.exams.models import Exam
from portal.extensions import db
from portal.instructor import allowances, reopen
from portal.instructor.errors import ActionError
from portal.instructor.staff_log import COMMAND_LINE

attempts_cli = AppGroup("attempts", help="Instructor actions on attempts.")


def find_exam(text: str) -> Exam:
    """An exam by id or slug. Raises click.ClickException."""
    exam = db.session.get(Exam, int(text)) if text.isdigit() else None
    exam = exam or db.session.scalar(select(Exam).where(Exam.slug == text))
    if exam is None:
        raise click.ClickException(f"no exam {text!r} (give its id or slug: "
                                   "`flask exams list`)")
    return exam


@click.command("allow")
@click.argument("exam")
@click.argument("usernames", nargs=-1, required=True)
@click.option("--minutes", required=True, help="extra minutes for each student (1-1440)")
@click.option("--reason", required=True, help="why (kept in each attempt's history)")
def allow(exam: str, usernames: tuple[str, ...], minutes: str, reason: str):
    """Give each student USERNAMES extra minutes in EXAM (id or slug); a running
    attempt's deadline moves at once."""
    target = find_exam(exam)
    try:
        extra = allowances.parse_minutes(minutes)
        why = allowances.clean_reason(reason)
        students = [allowances.find_student(name) for name in usernames]
        for student in students:
            allowances.add(target, student, extra, why, COMMAND_LINE)
    except ActionError as error:
        db.session.rollback()
        raise click.ClickException(f"nothing changed: {error}") from None
    db.session.commit()
    for student in students:
        click.echo(f"{student.username}: +{extra} min in {target.slug} "
                   f"({deadlines.extra_minutes(target.id, student.id)} min in all)")


@attempts_cli.command("reopen")
@click.argument("attempt_ids", nargs=-1, required=True, type=int)
@click.option("--reason", required=True, help="why (kept in the attempts' history)")
def reopen_(attempt_ids: tuple[int, ...], reason: str):
    """Reopen each closed attempt ATTEMPT_IDS: its student gets a new attempt."""
    try:
        why = allowances.clean_reason(reason)
        reopened = []
        for attempt_id in attempt_ids:
            try:
                old = reopen.get_attempt(attempt_id)
                reopened.append((old, reopen.reopen(old, why, COMMAND_LINE)))
            except ActionError as error:
                raise ActionError(f"attempt {attempt_id}: {error}") from None
    except ActionError as error:
        db.session.rollback()
        raise click.ClickException(f"nothing changed: {error}") from None
    db.session.commit()
    for old, new in reopened:
        click.echo(f"attempt {old.id} ({old.user.username}) reopened as attempt {new.id}")
