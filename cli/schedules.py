"""flask schedules rebuild: recompute every person's kept schedule state from the visits."""

import click

from services.reporting.schedule_state import rebuild_schedule_state


@click.group("schedules", help="Maintain the visit schedules kept on each person's row.")
def schedules_group():
    pass


@schedules_group.command("rebuild")
def rebuild_command():
    """Recompute interval, last approved visit and next due day of every person (after a TIMEZONE change,
    a restore or a bulk load that went around the app)."""
    people = rebuild_schedule_state()
    click.echo(f"rebuilt the schedule state of {people:,} people")
