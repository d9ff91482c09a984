"""Column types shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

# Every id and count column is a 32-bit INTEGER on PostgreSQL; a larger value fails the whole statement.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


def in_column_range(value: int) -> bool:
    """Whether an integer fits the database's INTEGER columns."""
    return INT_MIN <= value <= INT_MAX


def is_storable_text(value: str) -> bool:
    """Whether a string fits a text column: no NUL byte (PostgreSQL refuses it), no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite keeps no offset, so naive values would otherwise come back ambiguous; every write is
    converted to UTC and every read is tagged UTC, on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, _dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)
