"""The search rule: a full ID number or its last 4, 5 or 6 characters by keyed HMAC, anything else by name."""

import itertools

import pytest
from sqlalchemy import select

from extensions import db
from models import Beneficiary, id_numbers
from services.registry.bulk_import import import_beneficiaries
from services.registry.fields import complete_id_number
from services.registry.search import id_number_condition, search_beneficiaries
from tests.factories import make_beneficiary, make_station, make_supervisor, make_worker


def numbers_sharing_last_four() -> tuple[str, str]:
    """Two valid ID numbers with the same last 4 characters but different 5th- and 6th-from-last."""
    by_tail = {}
    for day, serial in itertools.product(range(10, 29), range(100, 200)):
        number = complete_id_number(f"440902195003{day:02d}{serial:03d}")
        other = by_tail.setdefault(number[-4:], number)
        if other[-5] != number[-5] and other[-6] != number[-6]:
            return other, number
    raise AssertionError("no pair found")


def number_ending_in_x() -> str:
    return next(number for serial in range(1000)
                if (number := complete_id_number(f"44090219600101{serial:03d}")).endswith("X"))


def found(worker, q) -> set[str]:
    return {hit.beneficiary.name for hit in search_beneficiaries(worker, q=q).items}


def test_a_tail_of_four_five_or_six_finds_exactly_the_people_ending_so(app):
    station = make_station()
    first, second = numbers_sharing_last_four()
    make_beneficiary(station, name="甲", id_number=first)
    make_beneficiary(station, name="乙", id_number=second)
    make_beneficiary(station, name="丙", id_number=complete_id_number("44090219700101555"))
    worker = make_worker(station)
    assert found(worker, first[-4:]) == {"甲", "乙"}
    assert found(worker, first[-5:]) == {"甲"}
    assert found(worker, second[-6:]) == {"乙"}
    assert found(worker, first) == {"甲"}
    # A wrong tail of the right shape finds no one rather than falling back to names.
    assert found(worker, "0000" if first[-4:] != "0000" else "1111") == set()


def test_the_check_character_x_may_end_a_tail_in_either_case(app):
    station = make_station()
    number = number_ending_in_x()
    make_beneficiary(station, name="带X", id_number=number)
    worker = make_worker(station)
    for term in (number[-4:], number[-5:].lower(), f" {number[-6:]} ", number.lower()):
        assert found(worker, term) == {"带X"}, term


def test_full_width_digits_typed_by_a_chinese_input_method_are_read_as_digits(app):
    station = make_station()
    number = complete_id_number("44090219500301777")
    make_beneficiary(station, name="全角", id_number=number)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number[-4:])
    assert found(make_worker(station), full_width) == {"全角"}


@pytest.mark.parametrize("term", ["123", "1234567", "12X4", "X123", "12345678901234567", "zxm", "张", "44 0902"])
def test_other_terms_are_not_id_number_searches(app, term):
    assert id_number_condition(term) is None


def test_names_and_initials_are_still_searched(app):
    station = make_station()
    make_beneficiary(station, name="张小明", name_initials="zxm")
    make_beneficiary(station, name="李四", name_initials="ls")
    worker = make_worker(station)
    assert found(worker, "小明") == {"张小明"}
    assert found(worker, "zx") == {"张小明"}


def test_a_tail_search_stays_within_the_users_stations(app):
    mine, theirs = make_station(), make_station()
    first, second = numbers_sharing_last_four()
    make_beneficiary(mine, name="本站", id_number=first)
    make_beneficiary(theirs, name="外站", id_number=second)
    assert found(make_worker(mine), first[-4:]) == {"本站"}
    assert found(make_supervisor(theirs), first[-4:]) == {"外站"}


def test_imported_people_are_found_by_tail_after_a_create_and_an_update(app):
    station = make_station()
    number = complete_id_number("44090219500301321")
    row = {"name": "导入", "id_number": number, "categories": "dibao", "station_code": station.code}
    assert import_beneficiaries([(2, row)]).created == 1
    assert import_beneficiaries([(2, row | {"name": "导入改"})]).updated == 1
    worker = make_worker(station)
    assert found(worker, number[-6:]) == {"导入改"}


def test_the_tail_columns_hold_keyed_digests_not_digits(app):
    number = complete_id_number("44090219500301654")
    person = make_beneficiary(id_number=number)
    row = db.session.execute(select(Beneficiary.id_number_tail4_hmac, Beneficiary.id_number_tail5_hmac,
                                    Beneficiary.id_number_tail6_hmac).where(Beneficiary.id == person.id)).one()
    assert len(set(row)) == 3
    assert all(number[-6:] not in digest and number[-5:] not in digest for digest in row)
    assert row[0] == id_numbers.tail_hmac(number[-4:])
    # A tail's digest is not the full number's, and differs under another key.
    assert row[2] != id_numbers.tail_hmac(number[-6:], b"\0" * 32)
