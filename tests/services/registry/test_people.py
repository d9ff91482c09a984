"""services.beneficiaries: pinyin initials, ID checks, the admin's save, revealing ID numbers, the import core."""

from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Beneficiary
from services.errors import Forbidden, Invalid, NotFound
from services.registry.bulk_import import import_beneficiaries
from services.registry.csv_reader import read_beneficiary_csv
from services.registry.fields import complete_id_number, name_initials, validate_id_number
from services.registry.people import BeneficiaryChanges, reveal_id_number, save_beneficiary
from services.validation import FieldProblem
from tests.factories import (
    beneficiary_changes,
    make_admin,
    make_beneficiary,
    make_service_point,
    make_station,
    make_supervisor,
    make_worker,
)

pytestmark = pytest.mark.usefixtures("app")

ZHANG = complete_id_number("44090219500301001")
WOMAN = complete_id_number("44090219620715002")


def audit_events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- name_initials ---


@pytest.mark.parametrize(
    ("name", "initials"),
    [("张小明", "zxm"), ("李秀英", "lxy"), ("区志强", "ozq"), ("曾长乐", "zcl"), ("单田芳", "stf"), ("覃海", "qh"),
     ("欧阳娜娜", "oynn"), ("阿依古丽·买买提", "ayglmmt"), ("Tom 李", "tl"), (" 陈 丽 ", "cl"), ("", "")],
)
def test_name_initials(name, initials):
    assert name_initials(name) == initials


# --- validate_id_number ---


def test_a_valid_id_number_is_normalised():
    with_x = next(complete_id_number(f"4409021950030100{n}") for n in range(10)
                  if complete_id_number(f"4409021950030100{n}").endswith("X"))
    assert validate_id_number(with_x.lower()) == with_x
    full_width = ZHANG.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert validate_id_number(f" {full_width} ") == ZHANG


@pytest.mark.parametrize(
    ("number", "code"),
    [("", "missing"), ("4409021950030100", "id_number_length"), ("44090219500301001A", "id_number_format"),
     (ZHANG[:-1] + str((int(ZHANG[-1]) + 1) % 10), "id_number_checksum"),
     (complete_id_number("44090219500230001"), "id_number_birth_date"),
     (complete_id_number("44090221000101001"), "id_number_birth_date"),
     ("4.40902E+17", "id_number_mangled")],
)
def test_bad_id_numbers_are_refused(number, code):
    with pytest.raises(FieldProblem) as refused:
        validate_id_number(number)
    assert refused.value.code == code


# --- save_beneficiary ---


def form(station, **overrides) -> BeneficiaryChanges:
    return beneficiary_changes(station, **{"id_number": ZHANG, **overrides})


def test_save_creates_a_person_with_initials_derived_fields_and_an_audit():
    station, admin = make_station(), make_admin()
    person = save_beneficiary(None, form(station), admin)
    db.session.expire_all()
    assert (person.name_initials, person.gender, person.birth_date) == ("zxm", "male", date(1950, 3, 1))
    assert person.categories == ["dibao", "tekun"] and person.risk_tier == "key"
    [event] = audit_events("beneficiary_changed")
    assert event.actor_id == admin.id and event.object_id == person.id and event.details["created"] is True
    assert ZHANG not in str(event.details)


def test_save_edits_only_what_is_given_and_keeps_initials_current():
    station = make_station()
    person = save_beneficiary(None, form(station), make_admin())
    save_beneficiary(person, BeneficiaryChanges(name="区志强", station=station), make_admin())
    db.session.expire_all()
    assert (person.name, person.name_initials, person.address) == ("区志强", "ozq", "牙象村1号")
    assert audit_events("beneficiary_changed")[-1].details == {"created": False, "fields": ["name"]}


def test_save_reports_every_bad_field_at_once_and_writes_nothing():
    station = make_station()
    bad = form(station, name="", id_number="123", categories=("dibao", "富豪"), gender="x", home_latitude=95,
               home_longitude=110.9, phone="call me", risk_tier="urgent", status="gone")
    with pytest.raises(Invalid) as refused:
        save_beneficiary(None, bad, make_admin())
    assert set(refused.value.fields) == {"name", "id_number", "categories", "gender", "home_latitude", "phone",
                                         "risk_tier", "status"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Beneficiary)) == 0


def test_save_refuses_a_service_point_of_another_station():
    station, other = make_station(), make_station()
    with pytest.raises(Invalid) as refused:
        save_beneficiary(None, form(station, service_point=make_service_point(other)), make_admin())
    assert "service_point" in refused.value.fields


def test_save_refuses_half_a_location_and_a_missing_station():
    with pytest.raises(Invalid) as refused:
        save_beneficiary(None, form(None, home_longitude=None), make_admin())
    assert {"home_latitude", "station"} <= set(refused.value.fields)


def test_save_refuses_an_id_number_already_registered():
    station = make_station()
    make_beneficiary(station, id_number=ZHANG)
    with pytest.raises(Invalid) as refused:
        save_beneficiary(None, form(station), make_admin())
    assert "id_number" in refused.value.fields


def test_only_admins_may_save():
    station = make_station()
    with pytest.raises(Forbidden):
        save_beneficiary(None, form(station), make_supervisor(station))


# --- reveal_id_number ---


def test_supervisor_of_the_station_reveals_with_a_reason_and_it_is_audited():
    station = make_station()
    person = make_beneficiary(station, id_number=ZHANG)
    supervisor = make_supervisor(station)
    assert reveal_id_number(supervisor, person, "核对低保材料") == ZHANG
    [event] = audit_events("id_number_revealed")
    assert (event.actor_id, event.object_id, event.details["reason"]) == (supervisor.id, person.id, "核对低保材料")


def test_admin_may_reveal_any_station():
    person = make_beneficiary(make_station(), id_number=ZHANG)
    assert reveal_id_number(make_admin(), person, "年度核查") == ZHANG


@pytest.mark.parametrize("who", ["worker of the station", "supervisor of another station"])
def test_others_get_not_found_and_nothing_is_audited(who):
    station = make_station()
    person = make_beneficiary(station)
    user = make_worker(station) if who.startswith("worker") else make_supervisor(make_station())
    with pytest.raises(NotFound):
        reveal_id_number(user, person, "好奇")
    assert audit_events("id_number_revealed") == []


def test_a_reason_is_required():
    station = make_station()
    with pytest.raises(Invalid) as refused:
        reveal_id_number(make_supervisor(station), make_beneficiary(station), "   ")
    assert "reason" in refused.value.fields
    assert audit_events("id_number_revealed") == []


# --- import_beneficiaries ---


def roster_rows(count, station_code, village="牙象村"):
    return [(line, {"name": f"测试{line}", "id_number": complete_id_number(f"44090219500301{line:03d}"),
                    "gender": "", "birth_date": "", "categories": "dibao", "station_code": station_code,
                    "village": village, "address": "", "lat": "21.7", "lon": "110.9", "phone": ""})
            for line in range(2, count + 2)]


def lookups(counter) -> int:
    return sum(statement.lstrip().upper().startswith("SELECT") for statement in counter.statements)


def test_import_queries_and_writes_in_bulk_not_per_row(count_queries):
    station = make_station()
    make_service_point(station, name="牙象村")
    with count_queries() as small:
        assert import_beneficiaries(roster_rows(5, station.code), actor=None).created == 5
    db.session.query(Beneficiary).delete()
    db.session.commit()
    with count_queries() as large:
        assert import_beneficiaries(roster_rows(120, station.code), actor=None).created == 120
    assert large.count == small.count  # writes are batched too
    with count_queries() as again:
        assert import_beneficiaries(roster_rows(120, station.code), actor=None).unchanged == 120
    assert lookups(again) == lookups(small) + 1  # the existing people's categories, in one selectin
    assert again.count == lookups(again) + 1  # unchanged people: no writes but the audit event


def test_columns_absent_from_the_records_keep_stored_values():
    station = make_station()
    person = make_beneficiary(station, id_number=ZHANG, address="老地址", phone="0668-1234567")
    row = {"name": "张小明", "id_number": ZHANG, "categories": "低保", "station_code": station.code}
    report = import_beneficiaries([(2, row)], actor=None)
    assert report.updated == 1
    db.session.expire_all()
    assert (person.name, person.address, person.phone, person.name_initials) == ("张小明", "老地址",
                                                                                 "0668-1234567", "zxm")


def test_import_by_a_non_admin_is_forbidden():
    station = make_station()
    with pytest.raises(Forbidden):
        import_beneficiaries(roster_rows(1, station.code), actor=make_worker(station))


# --- read_beneficiary_csv ---

HEADER = "name,id_number,gender,birth_date,categories,station_code,village,address,lat,lon,phone\n"


def test_lines_are_spreadsheet_rows_even_with_a_quoted_line_break():
    text = HEADER + f'张三,{ZHANG},,,dibao,S1,,"一号\n二号",,,\n李四,{WOMAN},,,dibao,S1,,,,,\n'
    records, problems = read_beneficiary_csv(text.encode())
    assert problems == []
    assert [(line, row["name"]) for line, row in records] == [(2, "张三"), (3, "李四")]
    assert records[0][1]["address"] == "一号\n二号"


def test_a_damaged_utf8_file_is_reported_not_read_as_gb18030():
    good = [f"张{n},{ZHANG},,,低保,S1,村,地址,,,\n".encode() for n in range(3)]
    raw = HEADER.encode() + good[0] + "李四".encode()[:-1] + b",x,,,,,,,,,\n" + good[1] + good[2]
    records, problems = read_beneficiary_csv(raw)
    assert [(problem.line, problem.code) for problem in problems] == [(3, "encoding")]
    assert [row["name"] for _, row in records] == ["张0", "张1", "张2"]


def test_gb18030_is_detected():
    records, problems = read_beneficiary_csv((HEADER + f"区志强,{ZHANG},男,,低保,S1,塘口村,,,,\n").encode("gb18030"))
    assert problems == [] and records[0][1]["name"] == "区志强" and records[0][1]["village"] == "塘口村"


def test_more_fields_than_the_header_is_reported():
    row = f"张三,{ZHANG},,,dibao,S1,,一号,二号,21.7,110.9,0668\n"
    records, problems = read_beneficiary_csv((HEADER + row).encode())
    assert [(problem.line, problem.code) for problem in problems] == [(2, "too_many_fields")]


def test_utf16_and_empty_files_are_reported_on_line_1():
    assert read_beneficiary_csv(HEADER.encode("utf-16"))[1][0].line == 1
    assert read_beneficiary_csv(b"")[1][0].code == "header"
