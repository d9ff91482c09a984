"""flask keys rotate: re-seal every stored ID number under a new key."""

import os
import secrets
from pathlib import Path

import click
from flask import current_app

from config import decode_key, encode_key, id_number_keys_file
from services.registry.id_number_keys import rotate_id_number_key


@click.group("keys", help="Manage the key that encrypts ID numbers at rest.")
def keys_group():
    pass


@keys_group.command("rotate")
@click.option("--new-key", help="The new key (32 bytes, URL-safe base64). Default: a fresh random key.")
def rotate_command(new_key):
    """Re-encrypt every ID number under a new key and re-key the lookups, in one transaction.

    Keys from instance/id_number_keys: the file is updated (new key first while rotating, then alone).
    Keys from ID_NUMBER_KEY: set ID_NUMBER_KEY to the printed key on every app server afterwards.
    Restart the app servers after a rotation.
    """
    old_keys = list(current_app.config["ID_NUMBER_KEYS"])
    key = secrets.token_bytes(32) if new_key is None else _decode(new_key)
    from_file = not os.environ.get("ID_NUMBER_KEY")
    key_file = id_number_keys_file(Path(current_app.instance_path))
    if from_file:
        # Both keys are on disk until every row is re-sealed: a crash midway loses nothing.
        _write_keys(key_file, [key, *old_keys])
    rotated = rotate_id_number_key(key, old_keys)
    current_app.config["ID_NUMBER_KEYS"] = [key]
    if from_file:
        _write_keys(key_file, [key])
        click.echo(f"{rotated} ID numbers re-encrypted; {key_file} holds the new key. Restart the app servers.")
    else:
        click.echo(f"{rotated} ID numbers re-encrypted. Set on every app server, then restart:")
        click.echo(f"ID_NUMBER_KEY={encode_key(key)}")


def _decode(text: str) -> bytes:
    try:
        return decode_key(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--new-key") from None


def _write_keys(key_file: Path, keys: list[bytes]) -> None:
    temporary = key_file.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(encode_key(key) + "\n" for key in keys))
    os.replace(temporary, key_file)
