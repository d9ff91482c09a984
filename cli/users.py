"""flask users add|set-password|deactivate."""

import click

from cli.errors import refusals_as_click_errors
from models.enums import ROLES
from services.accounts.users import create_user, deactivate_user, find_user, set_password


@click.group("users", help="Manage accounts.")
def users_group():
    pass


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--name", "display_name", default="", help="Display name, e.g. 李敏.")
@click.option("--phone", default=None)
@click.option("--station", "station_codes", multiple=True,
              help="Station code; a worker takes one, a supervisor may take several.")
@click.option("--password", default=None, help="Prompted for when absent.")
def add_user_command(username, role, display_name, phone, station_codes, password):
    """Create an account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with refusals_as_click_errors():
        user = create_user(username, role, password, display_name=display_name, phone=phone,
                           station_codes=list(station_codes))
    click.echo(f"user {user.username} ({user.role}) added (id {user.id})")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password", default=None, help="Prompted for when absent.")
def set_password_command(username, password):
    """Set a new password (revokes the user's API tokens)."""
    with refusals_as_click_errors():
        user = find_user(username)
        if password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        set_password(user, password)
    click.echo(f"password of {user.username} changed")


@users_group.command("deactivate")
@click.argument("username")
def deactivate_command(username):
    """Deactivate an account; its API tokens stop working at once."""
    with refusals_as_click_errors():
        user = find_user(username)
        deactivate_user(user)
    click.echo(f"user {user.username} deactivated")
