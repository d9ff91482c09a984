"""Language of the admin site: Chinese by default, English selectable."""

from flask import session

SUPPORTED_LOCALES = ("zh_Hans_CN", "en")


def select_locale() -> str:
    """The locale chosen in this session, else the configured default (zh_Hans_CN)."""
    chosen = session.get("locale")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return "zh_Hans_CN"
