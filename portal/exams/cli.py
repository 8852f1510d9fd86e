"""`flask exams ...`: import and list exams, close overdue attempts."""
import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.exams import importer, services
from portal.exams.models import Exam
from portal.extensions import db

exams_cli = AppGroup("exams", help="Manage exams.")


@exams_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_(path: str):
    """Import an exam from a JSON or YAML file (see portal/exams/importer.py for the format)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        exam, replaced = importer.import_exam(text, path)
    except importer.ImportError_ as error:
        db.session.rollback()
        raise click.ClickException(f"nothing imported:\n{error}") from None
    db.session.commit()
    click.echo(f"{'Replaced' if replaced else 'Imported'} exam {exam.id} '{exam.title}' "
               f"({len(exam.questions)} questions).")


@exams_cli.command("list")
def list_():
    """List exams with their ids."""
    for exam in db.session.scalars(select(Exam).order_by(Exam.id)):
        click.echo(f"{exam.id}\t{exam.slug}\t{exam.title}\t{exam.vendor or '(default vendor)'}")


@exams_cli.command("expire")
def expire():
    """Close every attempt whose deadline has passed as expired (graded, its vendor told),
    in one commit: for cron when no outbox worker sweeps (EXPIRY_SWEEP_SECONDS=0)."""
    closed = services.expire_overdue()
    db.session.commit()
    click.echo(f"Closed {closed} overdue attempt{'' if closed == 1 else 's'} as expired.")
