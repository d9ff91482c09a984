"""flask backup / flask restore: the database and its photos, with a manifest of SHA-256 digests."""

from pathlib import Path

import click

from cli.errors import refusals_as_click_errors
from services.backup import create_backup, restore_backup


@click.command("backup")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="A new or empty folder for this backup (e.g. /backup/zoufang/2026-12-03).")
@click.option("--photos-to", "photos_folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the photo objects go; default: objects/ inside the backup. A folder shared by "
                   "successive backups only receives new objects.")
def backup_command(folder, photos_folder):
    """Back up the database (pg_dump, one consistent snapshot) and every photo it references."""
    with refusals_as_click_errors():
        report = create_backup(folder, photos_folder)
    for key in report.missing:
        click.echo(f"MISSING {key}", err=True)
    for key in report.damaged:
        click.echo(f"DAMAGED {key}", err=True)
    click.echo(f"backup written to {report.folder}: {report.objects} photo objects "
               f"({report.objects_copied} copied now), {len(report.missing)} missing, {len(report.damaged)} damaged")
    if not report.complete:
        raise SystemExit(1)


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--photos-from", "photos_folder", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The photo folder of the backup, if not its objects/ folder.")
def restore_command(folder, photos_folder):
    """Restore a backup into an EMPTY database (DATABASE_URL) and an empty photo store."""
    with refusals_as_click_errors():
        report = restore_backup(folder, photos_folder)
    click.echo(f"restored the {report.database} database and {report.objects} photo objects from {folder}")
