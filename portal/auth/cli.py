"""`flask users ...`: create and import accounts."""
import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.auth import services
from portal.auth.models import User
from portal.extensions import db

users_cli = AppGroup("users", help="Manage student and instructor accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["student", "instructor"]), default="student")
@click.option("--name", "display_name", help="Name shown to proctors and instructors.")
@click.option("--group", help="The student's group (sent to the proctoring server).")
def create(username: str, password: str, role: str, display_name: str | None, group: str | None):
    """Create one account."""
    try:
        services.create_user(username, password, role, display_name, group)
    except services.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {role} {username}.")


@users_cli.command("password")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def password(username: str, password: str):
    """Set an account's password. Every session of the account ends (log in again)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    try:
        services.change_password(user, password)
    except services.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Password of {username} changed; their sessions have ended.")


@users_cli.command("unlock")
@click.argument("username")
def unlock(username: str):
    """Lift a lockout by failed logins (LOGIN_ACCOUNT_*) at once."""
    if services.unlock(username):
        db.session.commit()
        click.echo(f"{username} may log in again.")
    else:
        click.echo(f"{username} had no failed logins on record.")


@users_cli.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
def import_(csv_file):
    """Create accounts from a CSV with the header username,password[,role,display_name,group,lang].

    All or nothing: a bad line names itself and nothing is created."""
    try:
        users = services.import_users(services.read_users_csv(csv_file))
    except services.AccountError as error:
        db.session.rollback()
        raise click.ClickException(f"{csv_file.name}: {error}") from None
    db.session.commit()
    click.echo(f"Imported {len(users)} users.")
