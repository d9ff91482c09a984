"""flask seed-demo."""

import click


@click.command("seed-demo")
def seed_demo_command():
    """Fill an empty database with a realistic demo county in Maoming."""
    raise click.ClickException("not built yet")
