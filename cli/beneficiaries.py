"""flask beneficiaries import FILE.xlsx|FILE.csv [--dry-run]."""

import click

from cli.errors import refusals_as_click_errors
from services.registry.roster_xlsx import import_roster


@click.group("beneficiaries", help="Manage the registry of people served (服务对象).")
def beneficiaries_group():
    pass


@beneficiaries_group.command("import")
@click.argument("roster_file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every row and count what would change; write nothing.")
def import_command(roster_file, dry_run):
    """Import or update people from a roster: the bureau's XLSX (Chinese headers) or a CSV (UTF-8 or GB18030).

    The format is told by the file's content. Every bad row is listed and nothing is written when any
    row is bad (exit code 1).
    """
    with refusals_as_click_errors():
        report = import_roster(roster_file.read(), dry_run=dry_run)
    if not report.ok:
        for problem in report.errors:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(report.errors)} problem(s) found; nothing was imported")
    for point in report.new_service_points:  # a misspelt village shows up here, before a real run creates it
        where = f"{point.station_name}，{point.rows} 行，首见第 {point.first_line} 行"
        click.echo(f"新建服务点：{point.village}（{where}）")
    counts = f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}"
    click.echo(f"dry run, nothing written: would have {counts}" if dry_run else f"imported: {counts}")
