"""flask photos prune: remove stored files no photo references, and optionally long-unattached photos."""

from datetime import timedelta

import click

from cli.errors import refusals_as_click_errors
from services.photos.prune import prune_orphan_files


@click.group("photos", help="Maintain stored photos.")
def photos_group():
    pass


@photos_group.command("prune")
@click.option("--min-age-minutes", type=click.IntRange(min=1), default=60, show_default=True,
              help="Keep files younger than this: their upload may still be committing.")
@click.option("--unattached-days", type=click.IntRange(min=1), default=None,
              help="Also delete photos never attached to a visit after this many days "
                   "(must exceed the visit age window, VISIT_MAX_AGE).")
def prune_command(min_age_minutes, unattached_days):
    """Delete orphaned photo files left by crashes between writing and committing."""
    with refusals_as_click_errors():
        report = prune_orphan_files(
            min_age=timedelta(minutes=min_age_minutes),
            unattached_older_than=timedelta(days=unattached_days) if unattached_days else None,
        )
    click.echo(f"deleted {report.files_deleted} orphaned files, kept {report.files_kept}; "
               f"deleted {report.photos_deleted} unattached photos and "
               f"{report.temporaries_deleted} unfinished temporary files")
