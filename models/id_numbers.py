"""ID numbers at rest: AES-GCM ciphertext, a keyed HMAC for exact lookups, and the masked form.

Searching by the last 4, 5 or 6 characters (what people read off a card or a form) goes through keyed HMACs
of those tails too: one indexed column per length, so no more of the number is stored readable than the
masked form already shows. A search answers whether a tail matches, so a user can learn the 5th and 6th
characters from the end of the numbers of people they may see: those are the day of birth, which the
registry shows anyway.

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
# The tail lengths a search may give, each with its own lookup column (tail_columns).
TAIL_LENGTHS = (4, 5, 6)
# A tail digest is truncated to 64 bits: at most ~1.8 million distinct tails exist, so a false match is
# about one in 10^13 per search, and the three indexes stay a quarter of a full digest's size.
TAIL_HMAC_HEX_LENGTH = 16
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


def tail_column(length: int) -> str:
    """The name of the column holding the keyed HMAC of the last `length` characters."""
    return f"id_number_tail{length}_hmac"


def tail_hmac(tail: str, master: bytes | None = None) -> str:
    """The keyed HMAC (truncated hex) of the last characters of an ID number, for the tail searches.

    Its key is derived apart from the full number's, and the length is part of the message, so a tail's
    digest never equals the full number's or another length's.
    """
    mac_key = _derive(master or current_keys()[0], b"tail hmac")
    tail = normalise(tail)
    return hmac.new(mac_key, f"{len(tail)}:{tail}".encode(), hashlib.sha256).hexdigest()[:TAIL_HMAC_HEX_LENGTH]


def lookup_columns(number: str, master: bytes | None = None) -> dict[str, str]:
    """Every keyed lookup column of an ID number: the full number's HMAC and those of its tails."""
    number = normalise(number)
    return {"id_number_hmac": lookup_hmac(number, master),
            **{tail_column(length): tail_hmac(number[-length:], master) for length in TAIL_LENGTHS}}


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
    """Every stored column of an ID number (sealed, lookups, masked), for the model and set-based writes."""
    number = normalise(number)
    return {"id_number_sealed": seal(number), **lookup_columns(number), "id_number_masked": mask(number)}
