"""The admin's catalog: every message of the site has its Chinese, plural forms included, and the compiled
catalog the app loads says the same as the one people edit."""

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[1] / "translations" / "zh_Hans_CN" / "LC_MESSAGES"


def _translated(string) -> bool:
    return all(string) if isinstance(string, tuple | list) else bool(string)


def test_every_message_has_its_chinese():
    catalog = read_po((CATALOG / "messages.po").open("rb"))
    untranslated = [message.id for message in catalog if message.id and not _translated(message.string)]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    assert untranslated == [] and fuzzy == []


def _entries(catalog) -> dict:
    # Plural messages come as lists from one reader and tuples from the other.
    def frozen(value):
        return tuple(value) if isinstance(value, tuple | list) else value

    return {frozen(message.id): frozen(message.string) for message in catalog if message.id}


def test_the_compiled_catalog_matches_the_edited_one():
    edited = _entries(read_po((CATALOG / "messages.po").open("rb")))
    compiled = _entries(read_mo((CATALOG / "messages.mo").open("rb")))
    assert compiled == edited
