"""flask contract prepare|clean: the throwaway worker `make contract` runs the phone API contract as."""

from pathlib import Path

import click

from services.accounts.contract import discard_contract_visits, prepare_contract_worker


@click.group("contract", help="The phone API contract's own worker, station and person.")
def contract_group():
    pass


@contract_group.command("prepare")
@click.option("--login-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write 'USERNAME PASSWORD' (mode 0600).")
def prepare_command(login_file: Path):
    """Create (or reset) the contract's worker with a new password, written to LOGIN_FILE."""
    worker, password = prepare_contract_worker()
    login_file.parent.mkdir(parents=True, exist_ok=True)
    login_file.touch(mode=0o600, exist_ok=True)
    login_file.chmod(0o600)
    login_file.write_text(f"{worker.username} {password}\n", encoding="utf-8")
    click.echo(f"contract worker {worker.username} ready (login in {login_file})")


@contract_group.command("clean")
def clean_command():
    """Delete the visits the contract run left behind."""
    click.echo(f"contract: {discard_contract_visits()} visit(s) of the contract worker discarded")
