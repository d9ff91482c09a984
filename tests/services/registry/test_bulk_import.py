"""The registry's bulk import: new villages need confirming, updates say what changes, problems are codes + params."""

import math
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Beneficiary, ServicePoint
from services.registry.bulk_import import (
    CHANGES_PREVIEW_LIMIT,
    LOOKUP_CHUNK,
    FieldChange,
    import_beneficiaries,
)
from services.registry.fields import complete_id_number
from tests.factories import make_beneficiary, make_service_point, make_station

ZHANG = complete_id_number("44090219500301001")
LI = complete_id_number("44090219620715002")


@pytest.fixture
def station(app):
    return make_station(code="440902100", name="金塘镇")


def row(name, id_number, station_code="440902100", village="东村", **overrides):
    return {"name": name, "id_number": id_number, "categories": "低保", "station_code": station_code,
            "village": village, **overrides}


def numbered(count: int, offset: int = 0) -> list[str]:
    return [complete_id_number(f"440902{date(1940, 1, 1) + timedelta(days=n):%Y%m%d}{n % 1000:03d}")
            for n in range(offset, offset + count)]


def villages_of(station) -> list[str]:
    return sorted(db.session.scalars(select(ServicePoint.name).where(ServicePoint.station_id == station.id)))


# --- new villages ----------------------------------------------------------------------------------------------


def test_new_villages_are_listed_per_station_on_a_dry_run(station):
    make_service_point(station, name="东村")
    other = make_station(code="440902200", name="羊角镇")

    report = import_beneficiaries([(2, row("张三", ZHANG)), (3, row("李四", LI, village="新村仔")),
                                   (4, row("王五", numbered(1)[0], village="新村仔")),
                                   (5, row("赵六", numbered(1, 5)[0], station_code=other.code, village="新村仔"))],
                                  dry_run=True)

    assert report.ok
    assert [(p.station_code, p.station_name, p.village, p.rows, p.first_line) for p in report.new_service_points] == [
        ("440902100", "金塘镇", "新村仔", 2, 3), ("440902200", "羊角镇", "新村仔", 1, 5)]
    assert villages_of(station) == ["东村"]


def test_an_unconfirmed_new_village_refuses_the_whole_import(station):
    make_service_point(station, name="东村")
    rows = [(2, row("张三", ZHANG)), (3, row("李四", LI, village="新村仔"))]

    report = import_beneficiaries(rows, confirmed_service_points=set())

    assert report.ok and report.refused
    assert [point.village for point in report.unconfirmed_service_points] == ["新村仔"]
    assert report.created == 2  # the counts are what confirming would write
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 0
    assert villages_of(station) == ["东村"]


def test_a_confirmed_new_village_is_created(station):
    report = import_beneficiaries([(2, row("李四", LI, village="新村仔"))],
                                  confirmed_service_points={("440902100", "新村仔")})

    assert report.ok and not report.refused and report.created == 1
    assert villages_of(station) == ["新村仔"]
    assert db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == LI)).service_point.name == "新村仔"


def test_confirmations_are_matched_by_station_and_name_against_the_file(station):
    other = make_station(code="440902200", name="羊角镇")
    # The same name under another station, and a village the file does not need, confirm nothing.
    confirmed = {(other.code, "新村仔"), ("440902100", "新村"), ("440902100", "根本不在文件里的村")}

    report = import_beneficiaries([(2, row("李四", LI, village="新村仔"))], confirmed_service_points=confirmed)

    assert report.refused
    assert villages_of(station) == [] and villages_of(other) == []
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) == 0


def test_a_village_created_meanwhile_needs_no_confirmation(station):
    make_service_point(station, name="新村仔")

    report = import_beneficiaries([(2, row("李四", LI, village="新村仔"))], confirmed_service_points=set())

    assert not report.refused and report.new_service_points == [] and report.created == 1


def test_without_confirmations_every_new_village_is_created_as_before(station):
    """The CLI's path: its dry run lists the new villages, a real run creates them."""
    report = import_beneficiaries([(2, row("李四", LI, village="西村"))])

    assert report.created == 1 and [point.village for point in report.new_service_points] == ["西村"]
    assert villages_of(station) == ["西村"]


# --- what changes per person -----------------------------------------------------------------------------------


def test_updates_list_each_changed_field_with_old_and_new_values(station):
    east, west = make_service_point(station, name="东村"), make_service_point(station, name="西村")
    other = make_station(code="440902200", name="羊角镇")
    make_service_point(other, name="西村")
    zhang = make_beneficiary(station, name="张三", name_initials="zs", id_number=ZHANG, categories=["dibao"],
                             service_point=east, address="东村 1 号", gender="male", birth_date=date(1950, 3, 1),
                             phone=None, home_latitude=21.6, home_longitude=110.9)
    make_beneficiary(station, name="李四", name_initials="ls", id_number=LI, categories=["dibao"], service_point=west,
                     address="", gender="female", birth_date=date(1962, 7, 15), home_latitude=None, home_longitude=None)

    report = import_beneficiaries([
        (2, row("张三", ZHANG, station_code=other.code, village="西村", categories="低保;独居老人",
                address="西村 9 号", phone="13900139000", lat="21.7", lon="110.95")),
        (3, row("李四", LI, village="西村", address="")),
    ], dry_run=True, confirmed_service_points=set())

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    [person] = report.changes
    assert (person.line, person.name, person.id_number_masked) == (2, "张三", zhang.id_number_masked)
    assert ZHANG not in repr(report.changes)
    assert person.changes == (
        FieldChange("categories", ("dibao",), ("dibao", "elderly_alone")),
        FieldChange("station", "金塘镇", "羊角镇"),
        FieldChange("service_point", "东村", "西村"),
        FieldChange("address", "东村 1 号", "西村 9 号"),
        FieldChange("home_location", (21.6, 110.9), (21.7, 110.95)),
        FieldChange("phone", None, "13900139000"),
    )
    assert report.changes_not_listed == 0


def test_the_preview_is_bounded_and_the_rest_counted(station):
    numbers = numbered(CHANGES_PREVIEW_LIMIT + 7)
    import_beneficiaries([(line, row(f"人{line}", number)) for line, number in enumerate(numbers, start=2)])

    report = import_beneficiaries([(line, row(f"人{line}", number, address="新地址"))
                                   for line, number in enumerate(numbers, start=2)], dry_run=True)

    assert report.updated == CHANGES_PREVIEW_LIMIT + 7
    assert len(report.changes) == CHANGES_PREVIEW_LIMIT and report.changes_not_listed == 7
    assert [person.line for person in report.changes] == list(range(2, CHANGES_PREVIEW_LIMIT + 2))


def _updating_rows(numbers, other_station_code):
    """Every person moves station and village, changes category, address and location: the most a diff shows."""
    return [(line, row(f"人{line}", number, station_code=other_station_code, village=f"新{line % 7}村",
                       categories="特困", address=f"{line} 号", lat="21.7", lon="110.9"))
            for line, number in enumerate(numbers, start=2)]


@pytest.mark.parametrize("count", [10_000])
def test_a_10000_row_update_costs_a_constant_number_of_queries_per_batch(station, count_queries, count):
    other = make_station(code="440902200", name="羊角镇")
    numbers = numbered(count)
    assert import_beneficiaries([(line, row(f"人{line}", number, village=f"旧{line % 5}村"))
                                 for line, number in enumerate(numbers, start=2)]).created == count

    with count_queries() as small:
        import_beneficiaries(_updating_rows(numbers[:LOOKUP_CHUNK], other.code), dry_run=True)
    with count_queries() as large:
        report = import_beneficiaries(_updating_rows(numbers, other.code), dry_run=True)

    assert report.updated == count and len(report.changes) == CHANGES_PREVIEW_LIMIT
    assert report.changes[0].changes[0] == FieldChange("categories", ("dibao",), ("tekun",))
    batches = math.ceil(count / LOOKUP_CHUNK)
    # One batch costs a fixed set of statements (26 on SQLite, the change preview's two lookups included); each
    # further batch of 500 people adds its own few (the people, their categories, the categories' replacement,
    # the schedule refresh: 5 on SQLite), never one per person or per change shown.
    per_batch = 6
    assert large.count <= small.count + (batches - 1) * per_batch, large.statements[small.count:][:40]


# --- problems as codes and parameters --------------------------------------------------------------------------


def test_row_problems_carry_a_code_and_the_values_they_are_about(station):
    report = import_beneficiaries([
        (2, row("张三", ZHANG)),
        (3, row("张三", ZHANG, categories="低保;贫困户", phone="电话")),
        (4, row("李四", LI, station_code="999", gender="未知", address="长" * 300)),
    ])

    found = {(problem.line, problem.column, problem.code): dict(problem.params) for problem in report.errors}
    assert found == {
        (3, "id_number", "duplicate_in_file"): {"first_line": 2},
        (3, "categories", "unknown_category"): {"values": ["贫困户"]},
        (3, "phone", "phone"): {"value": "电话"},
        (4, "gender", "gender"): {"value": "未知"},
        (4, "station_code", "unknown_station"): {"value": "999"},
        (4, "address", "too_long"): {"limit": 255},
    }
    # The CLI prints the Chinese sentence, as before.
    assert any("身份证号与第 2 行重复" in str(problem) for problem in report.errors)
