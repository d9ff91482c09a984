"""flask seed-demo [--if-empty] [--logins-file PATH]."""

from pathlib import Path

import click
from flask import current_app

from cli.demo.county import seed_demo
from cli.errors import refusals_as_click_errors


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True,
              help="Seed only when the database has no accounts; otherwise print the earlier demo logins.")
@click.option("--logins-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the logins are written (default: instance/demo_logins.txt).")
def seed_demo_command(if_empty, logins_file):
    """Fill an empty database with a realistic demo county in Maoming (茂南区), with three months of visits,
    and print its logins."""
    logins_file = logins_file or Path(current_app.instance_path) / "demo_logins.txt"
    with refusals_as_click_errors():
        result = seed_demo(logins_file, if_empty=if_empty)
    if result.seeded:
        visits = result.visits
        click.echo(f"demo seeded ({len(result.logins)} accounts, {visits.total} visits of which "
                   f"{visits.by_status.get('submitted', 0)} await review); logins, also in {logins_file}:")
    elif result.logins:
        click.echo(f"database not empty, nothing seeded; demo logins from {logins_file}:")
    else:
        click.echo("database not empty, nothing seeded (no demo logins file)")
    for login in result.logins:
        click.echo(f"  {login.line()}")
