"""The one keyset-cursor codec: round trips, and one refusal code for every damaged or foreign cursor."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.errors import Invalid
from services.pagination import INVALID_CURSOR_CODE, decode_cursor, encode_cursor, split_page


def _raw_cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_its_key_with_its_types():
    moment = datetime(2024, 5, 6, 9, 41, 12, 5000, tzinfo=timezone(timedelta(hours=8)))
    cursor = encode_cursor("newest_first", (moment, 7))
    assert "=" not in cursor and cursor.isascii()
    assert decode_cursor(cursor, "newest_first", (datetime, int)) == [moment, 7]
    key = ["zxm", "张小明", 0.25, 17]
    assert decode_cursor(encode_cursor("name", key), "name", (str, str, float, int)) == key


def test_an_integer_is_a_valid_float_key():
    assert decode_cursor(encode_cursor("near", [0, 3, 9]), "near", (int, float, int)) == [0, 3, 9]


@pytest.mark.parametrize("cursor", [
    "garbage", "!!!", "%%%", "", "e30", "WzEsMl0",  # not base64 JSON, {}, [1, 2]
    _raw_cursor({"order": "other", "key": ["2024-01-01T00:00:00+00:00", 1]}),
    _raw_cursor({"order": "newest_first", "key": ["2024-01-01T00:00:00", 1]}),  # naive time
    _raw_cursor({"order": "newest_first", "key": ["yesterday", 1]}),
    _raw_cursor({"order": "newest_first", "key": ["2024-01-01T00:00:00+00:00", "1"]}),
    _raw_cursor({"order": "newest_first", "key": ["2024-01-01T00:00:00+00:00", True]}),
    _raw_cursor({"order": "newest_first", "key": ["2024-01-01T00:00:00+00:00"]}),
    _raw_cursor({"order": "newest_first", "key": "2024-01-01T00:00:00+00:00"}),
    _raw_cursor({"order": "newest_first"}),
    _raw_cursor(["2024-01-01T00:00:00+00:00", 1]),
])
def test_a_damaged_or_foreign_cursor_is_refused_with_the_one_code(cursor):
    with pytest.raises(Invalid) as raised:
        decode_cursor(cursor, "newest_first", (datetime, int))
    assert raised.value.code == INVALID_CURSOR_CODE == "invalid_cursor"
    assert raised.value.status == 422 and "cursor" in raised.value.fields


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_a_float_key_must_be_finite(value):
    cursor = _raw_cursor({"order": "near", "key": [float(value)]})
    with pytest.raises(Invalid):
        decode_cursor(cursor, "near", (float,))


def test_split_page_tells_whether_there_is_more():
    assert split_page([1, 2, 3], 2) == ([1, 2], True)
    assert split_page([1, 2], 2) == ([1, 2], False)
    assert split_page([], 2) == ([], False)


def test_datetimes_keep_their_offset_through_a_cursor():
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    (decoded,) = decode_cursor(encode_cursor("o", [moment]), "o", (datetime,))
    assert decoded == moment and decoded.utcoffset() == timedelta(0)
