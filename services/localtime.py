"""The deployment's local time zone (config TIMEZONE): times are stored in UTC and shown and counted in it."""

from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_TIME_ZONE = "Asia/Shanghai"


@cache
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def time_zone() -> ZoneInfo:
    """The configured zone, built once per name however often it is asked for."""
    return _zone_named(current_app.config.get("TIMEZONE", DEFAULT_TIME_ZONE))
