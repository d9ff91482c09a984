"""ID numbers at rest: AES-GCM ciphertext, a keyed HMAC for exact lookups, and the masked form.

The key ring comes from the app's config (ID_NUMBER_KEYS, loaded by config.load_id_number_keys): the
first key seals and computes lookups, the others only open what they sealed (during a rotation).
Each ciphertext names its key by id, so `flask keys rotate` can re-seal every row under a new key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

FORMAT_VERSION = "v1"
# Binds a ciphertext to its use: a sealed ID number cannot be passed off as another sealed field.
ASSOCIATED_DATA = b"zoufang:beneficiaries.id_number"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"zoufang id_number " + purpose).derive(master)


def key_id(master: bytes) -> str:
    """A short public name of a key (not derived from anything that helps an attacker)."""
    return hashlib.sha256(b"zoufang key id:" + master).hexdigest()[:8]


def normalise(number: str) -> str:
    """The form every lookup and HMAC uses: no surrounding space, upper-case X."""
    return number.strip().upper()


def current_keys() -> Sequence[bytes]:
    """The app's key ring, newest first."""
    return current_app.config["ID_NUMBER_KEYS"]


def lookup_hmac(number: str, master: bytes | None = None) -> str:
    """The keyed HMAC-SHA256 (hex) of a normalised ID number: unique, searchable, useless without the key."""
    mac_key = _derive(master or current_keys()[0], b"hmac")
    return hmac.new(mac_key, normalise(number).encode(), hashlib.sha256).hexdigest()


def seal(number: str, master: bytes | None = None) -> str:
    """"v1.<key id>.<base64 nonce+ciphertext>" of the normalised ID number under the current key."""
    master = master or current_keys()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(master, b"aes-gcm")).encrypt(nonce, normalise(number).encode(), ASSOCIATED_DATA)
    return f"{FORMAT_VERSION}.{key_id(master)}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(token: str, keys: Sequence[bytes] | None = None) -> str:
    """The ID number in a sealed value; raises ValueError for an unknown key or a tampered value."""
    version, kid, payload = token.split(".", 2)
    if version != FORMAT_VERSION:
        raise ValueError(f"unknown sealed format {version}")
    master = next((key for key in (keys or current_keys()) if key_id(key) == kid), None)
    if master is None:
        raise ValueError(f"no key {kid} in the key ring")
    raw = base64.urlsafe_b64decode(payload)
    try:
        return AESGCM(_derive(master, b"aes-gcm")).decrypt(raw[:12], raw[12:], ASSOCIATED_DATA).decode()
    except InvalidTag:
        raise ValueError("the sealed ID number was altered or sealed under another key") from None


def mask(number: str | None) -> str:
    """An ID number with its middle hidden: 440902********1234."""
    if not number:
        return ""
    if len(number) <= 10:
        return number[:2] + "*" * max(len(number) - 4, 0) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def stored_columns(number: str) -> dict[str, str]:
    """The three stored columns of an ID number, for set-based inserts and updates."""
    number = normalise(number)
    return {"id_number_sealed": seal(number), "id_number_hmac": lookup_hmac(number), "id_number_masked": mask(number)}
