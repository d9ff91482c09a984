"""Language of the admin site: Chinese by default, English selectable, enum labels from models/enums.py."""

from collections.abc import Mapping

from flask import current_app, has_request_context, session
from flask_babel import get_locale, pgettext, refresh

SUPPORTED_LOCALES = ("zh_Hans_CN", "en")
SESSION_KEY = "locale"


def select_locale() -> str:
    """The locale chosen in this session, else the configured default (zh_Hans_CN)."""
    chosen = session.get(SESSION_KEY) if has_request_context() else None
    if chosen in SUPPORTED_LOCALES:
        return chosen
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    return default if default in SUPPORTED_LOCALES else "zh_Hans_CN"


def choose_locale(locale: str) -> bool:
    """Remember a supported locale in the session; return False (and change nothing) for any other."""
    if locale not in SUPPORTED_LOCALES:
        return False
    session[SESSION_KEY] = locale
    refresh()  # Flask-Babel caches the locale per context; drop the stale one
    return True


def _label_language() -> str:
    return "en" if str(get_locale() or "").startswith("en") else "zh"


def enum_label(vocabulary: Mapping, code: str | None) -> str:
    """The label of a code in the current language (the same labels as /api/v1/meta); unknown codes as is."""
    if code is None:
        return ""
    entry = vocabulary.get(code)
    return entry[_label_language()] if entry else code


def enum_choices(vocabulary: Mapping) -> list[tuple[str, str]]:
    """(code, label) pairs of a vocabulary in the current language, for select fields and filters."""
    language = _label_language()
    return [(code, entry[language]) for code, entry in vocabulary.items()]


def list_separator() -> str:
    """What joins the items of a list in running text: 、 in Chinese, a comma in English."""
    return pgettext("enumeration", ", ")


def html_lang() -> str:
    """The page's `lang` attribute for the current locale."""
    return "en" if _label_language() == "en" else "zh-CN"
