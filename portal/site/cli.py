"""`flask demo ...`: demo data for a fresh database."""
import click
from flask.cli import AppGroup

from portal.site.demo import DEMO_USERS, load_demo_data
from portal.extensions import db

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load():
    """Load the demo users and exam if the database has no users yet."""
    if load_demo_data():
        db.session.commit()
        click.echo("Demo data loaded.")
    else:
        click.echo("Database already has users; demo data not loaded.")
    click.echo("Logins: " + ", ".join(f"{u} / {p}" for u, p, _, _ in DEMO_USERS))
