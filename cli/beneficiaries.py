"""flask beneficiaries import FILE.csv."""

import click


@click.group("beneficiaries", help="Manage the registry of people served (服务对象).")
def beneficiaries_group():
    pass
