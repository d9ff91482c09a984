"""Keyset cursors: one opaque format and one refusal for every list paginated on its sort key.

A cursor carries the name of the order it was made for and the sort key of the last item of a page. It is
URL-safe base64 of JSON with its padding stripped; datetimes travel as ISO 8601 with their offset. A forged,
damaged or other-order cursor is refused with the one code INVALID_CURSOR_CODE, whichever list it was sent to.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from datetime import datetime

from models.types import in_column_range, is_storable_text
from services.errors import Invalid

INVALID_CURSOR_CODE = "invalid_cursor"


def encode_cursor(order: str, key: Sequence) -> str:
    """An opaque cursor for the position just after the item whose sort key (in `order`) is `key`."""
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    raw = json.dumps({"order": order, "key": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str, key_types: Sequence[type]) -> list:
    """The sort key a cursor of `order` carries, each value of its type in key_types; else Invalid."""
    try:
        payload = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        values = payload["key"]
        if payload["order"] != order or not isinstance(values, list) or len(values) != len(key_types):
            raise ValueError
        return [_typed(value, wanted) for value, wanted in zip(values, key_types, strict=True)]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise Invalid("分页游标无效，请从第一页重新加载", code=INVALID_CURSOR_CODE,
                      fields={"cursor": ["invalid or does not match this query"]}) from None


def split_page(rows: list, limit: int) -> tuple[list, bool]:
    """The first `limit` rows of a query asked for limit + 1, and whether there was more."""
    return rows[:limit], len(rows) > limit


def _typed(value, wanted: type):
    if isinstance(value, bool):
        raise ValueError
    if wanted is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    if wanted is float:
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError
        return value
    if not isinstance(value, wanted):
        raise ValueError
    # A forged key must not reach the query as a value the columns cannot hold (a 500 on PostgreSQL).
    if wanted is int and not in_column_range(value):
        raise ValueError
    if wanted is str and not is_storable_text(value):
        raise ValueError
    return value
