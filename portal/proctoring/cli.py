"""`flask proctor ...`: sign tokens, check the integration, reconcile with the vendor."""
from __future__ import annotations

import json
import sys

import click
import requests
from flask.cli import AppGroup
from flask import current_app

from portal.proctoring import providers, tokens
from portal.proctoring.check import Check

proctor_cli = AppGroup("proctor", help="Proctoring integration tools.")


@proctor_cli.command("token")
def token():
    """Read a JSON payload on stdin; print its HS256 token signed with PROCTOR_JWT_SECRET.

    Key order is kept and the JSON is compact, so the contract's golden token comes out
    byte for byte."""
    try:
        payload = json.loads(sys.stdin.read())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"stdin is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise click.ClickException("stdin must be a JSON object (the token payload)")
    if "exp" not in payload:
        click.echo("warning: no 'exp' in the payload; the token never expires", err=True)
    click.echo(tokens.sign(payload, current_app.config["PROCTOR_JWT_SECRET"]))


@proctor_cli.command("check")
def check():
    """Run the integration checklist against the configured proctoring server.

    Exits 1 when any check fails; each line says how to fix it."""
    results = run_checks(current_app)
    for result in results:
        click.echo(result.line())
    failed = sum(r.status == "FAIL" for r in results)
    click.echo(f"{len(results) - failed} of {len(results)} checks passed or warned; {failed} failed.")
    if failed:
        raise SystemExit(1)


@proctor_cli.command("reconcile")
def reconcile_command() -> None:
    """Ask each proctoring server that can be asked (Constructor's status call) about
    closed attempts still without a result after VERDICT_GRACE_MINUTES, and record the
    answers."""
    for provider in providers.all_providers():
        try:
            report = provider.reconcile()
        except providers.NotConfigured as error:
            raise click.ClickException(str(error)) from None
        if report is None:
            continue
        click.echo(f"Asked about {report.asked} session(s): {len(report.recorded)} recorded, "
                   f"{len(report.unknown)} unknown to the vendor, {len(report.errors)} without an answer.")
        for identifier, error in report.errors.items():
            click.echo(f"  {identifier}: {error}", err=True)


def run_checks(app) -> list[Check]:
    """Every registered provider's checks, in vendor order, over one HTTP session."""
    with requests.Session() as http:
        http.headers["User-Agent"] = "exam-portal proctor check"
        return [check(app.config, http) for provider in providers.all_providers()
                for check in provider.checks]
