"""flask beneficiaries import FILE.csv [--dry-run]."""

import click

from cli.errors import refusals_as_click_errors
from services.beneficiaries import import_beneficiary_csv


@click.group("beneficiaries", help="Manage the registry of people served (服务对象).")
def beneficiaries_group():
    pass


@beneficiaries_group.command("import")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every row and count what would change; write nothing.")
def import_command(csv_file, dry_run):
    """Import or update people from a roster CSV (UTF-8 or GB18030); see the README for its columns.

    Every bad row is listed and nothing is written when any row is bad (exit code 1).
    """
    with refusals_as_click_errors():
        report = import_beneficiary_csv(csv_file.read(), dry_run=dry_run)
    if not report.ok:
        for problem in report.errors:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(report.errors)} problem(s) found; nothing was imported")
    counts = f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}"
    click.echo(f"dry run, nothing written: would have {counts}" if dry_run else f"imported: {counts}")
