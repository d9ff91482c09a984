"""flask photos prune|migrate: remove stored files no photo references; copy the folder store into a bucket."""

from datetime import timedelta

import click
from flask import current_app

from cli.errors import refusals_as_click_errors
from services.photos.migration import migrate_store
from services.photos.prune import prune_orphan_files
from services.storage import FilesystemStorage, s3_from_config


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


@photos_group.command("migrate")
@click.option("--to", "target", type=click.Choice(["s3"]), required=True,
              help="The backend to copy into, configured by the S3_* settings.")
def migrate_command(target):
    """Copy the filesystem store (UPLOAD_DIR) into the bucket, verifying every object's SHA-256.

    Resumable: run it again after an interruption. Nothing is removed or reconfigured; set
    STORAGE_BACKEND=s3 once it reports no failures.
    """
    source = FilesystemStorage(current_app.config["UPLOAD_DIR"])
    report = migrate_store(source, s3_from_config(current_app), progress=lambda so_far: click.echo(
        f"... {so_far.copied} copied, {so_far.already_there} already there"))
    for key, reason in sorted(report.failed.items()):
        click.echo(f"FAILED {key}: {reason}", err=True)
    click.echo(f"copied {report.copied} objects, {report.already_there} already in the bucket, "
               f"{len(report.failed)} failed")
    if report.failed:
        raise SystemExit(1)
