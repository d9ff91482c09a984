"""Command-line tools: flask --app wsgi stations|users|beneficiaries|photos|schedules|keys|seed-demo|backup|restore."""

from flask import Flask

from cli.backup import backup_command, restore_command
from cli.beneficiaries import beneficiaries_group
from cli.contract import contract_group
from cli.demo.commands import seed_demo_command
from cli.keys import keys_group
from cli.photos import photos_group
from cli.schedules import schedules_group
from cli.stations import stations_group
from cli.users import users_group


def register_commands(app: Flask) -> None:
    """Attach the project's commands to the app's CLI."""
    for command in (stations_group, users_group, beneficiaries_group, photos_group, schedules_group, keys_group,
                    seed_demo_command, backup_command, restore_command, contract_group):
        app.cli.add_command(command)
