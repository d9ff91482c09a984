"""flask beneficiaries import FILE.csv [--dry-run]: clean files, re-imports, row-level reports, encodings."""

from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Beneficiary, ServicePoint
from services.registry.fields import complete_id_number
from tests.factories import make_station

HEADER = "name,id_number,gender,birth_date,categories,station_code,village,address,lat,lon,phone"
ZHANG = complete_id_number("44090219500301001")  # odd sequence: a man
LI = complete_id_number("44090219620715002")


@pytest.fixture
def station():
    return make_station(code="440902100", name="金塘镇")


def write_csv(tmp_path, lines, encoding="utf-8", name="roster.csv"):
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode(encoding))
    return path


def import_file(runner, path, *options):
    return runner.invoke(args=["beneficiaries", "import", str(path), *options])


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Beneficiary))


def person(id_number) -> Beneficiary:
    db.session.expire_all()
    return db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == id_number))


def clean_lines(station_code="440902100"):
    return [f"张小明,{ZHANG},男,1950-03-01,低保；独居老人,{station_code},牙象村,牙象村3队12号,21.7603,110.9412,",
            f"李秀英,{LI},女,1962/7/15,tekun,{station_code},牙象村,牙象村1队2号,,,0668-2345678"]


def test_clean_file_is_imported(runner, station, tmp_path):
    result = import_file(runner, write_csv(tmp_path, clean_lines()))
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    zhang = person(ZHANG)
    assert (zhang.name, zhang.name_initials, zhang.gender, zhang.birth_date) == ("张小明", "zxm", "male",
                                                                                date(1950, 3, 1))
    assert zhang.categories == ["dibao", "elderly_alone"]
    assert (zhang.home_latitude, zhang.home_longitude) == (21.7603, 110.9412)
    assert zhang.station_id == station.id and zhang.service_point.name == "牙象村"
    li = person(LI)
    assert li.home_latitude is None and li.phone == "0668-2345678"
    assert li.service_point_id == zhang.service_point_id  # one service point per village
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "beneficiaries_imported"))
    assert audit.details["created"] == 2


def test_reimport_updates_by_id_number_without_duplicates(runner, station, tmp_path):
    assert import_file(runner, write_csv(tmp_path, clean_lines())).exit_code == 0
    changed = [clean_lines()[0].replace("牙象村3队12号", "牙象村5队1号"), clean_lines()[1]]
    result = import_file(runner, write_csv(tmp_path, changed, name="again.csv"))
    assert result.exit_code == 0, result.output
    assert "created 0, updated 1, unchanged 1" in result.output
    assert people_count() == 2
    assert person(ZHANG).address == "牙象村5队1号"
    assert person(ZHANG).categories == ["dibao", "elderly_alone"]


def test_reimport_replaces_categories_and_moves_people_between_villages(runner, station, tmp_path):
    assert import_file(runner, write_csv(tmp_path, clean_lines())).exit_code == 0
    moved = [clean_lines()[0].replace("低保；独居老人", "特困").replace("牙象村,", "塘尾村,"), clean_lines()[1]]
    result = import_file(runner, write_csv(tmp_path, moved, name="again.csv"))
    assert result.exit_code == 0, result.output
    zhang = person(ZHANG)
    assert zhang.categories == ["tekun"] and zhang.service_point.name == "塘尾村"
    assert person(LI).categories == ["tekun"] and person(LI).service_point.name == "牙象村"


@pytest.mark.parametrize(
    ("bad_line", "column", "words"),
    [
        (f"王五,{ZHANG[:-1]}{(int(ZHANG[-1]) + 1) % 10},男,,dibao,440902100,,,,,", "id_number", "校验位"),
        ("王五,44090219500301001,男,,dibao,440902100,,,,,", "id_number", "18 位"),
        (f"王五,{complete_id_number('44090219501301001')},男,,dibao,440902100,,,,,", "id_number", "出生日期"),
        (f"王五,{complete_id_number('44090219500301003')},男,,低保;富豪,440902100,,,,,", "categories", "富豪"),
        (f"王五,{complete_id_number('44090219500301003')},男,,dibao,440999999,,,,,", "station_code", "440999999"),
        (f"王五,{complete_id_number('44090219500301003')},男,,dibao,440902100,,,21.7,,", "lat", "同时"),
        (f"王五,{complete_id_number('44090219500301003')},男,,dibao,440902100,,,21.7,210.5,", "lat", "范围"),
        (f"王五,{complete_id_number('44090219500301003')},未知,,dibao,440902100,,,,,", "gender", "性别"),
        (f"王五,{complete_id_number('44090219500301003')},男,1950-02-30,dibao,440902100,,,,,", "birth_date", "日期"),
        (f",{complete_id_number('44090219500301003')},男,,dibao,440902100,,,,,", "name", "姓名"),
        (f"王五,{ZHANG},男,,dibao,440902100,,,,,", "id_number", "第 2 行"),
    ],
)
def test_a_bad_row_is_reported_by_line_and_nothing_is_written(runner, station, tmp_path, bad_line, column, words):
    result = import_file(runner, write_csv(tmp_path, [*clean_lines(), bad_line]))
    assert result.exit_code == 1
    assert f"line 4 [{column}]" in result.output and words in result.output
    assert "line 2" not in result.output.replace("第 2 行", "")
    assert people_count() == 0
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) == 0


def test_every_bad_row_is_reported_at_once(runner, station, tmp_path):
    lines = ["王五,123,男,,dibao,440902100,,,,,", *clean_lines(), "赵六,,女,,unknown,nowhere,,,,,"]
    result = import_file(runner, write_csv(tmp_path, lines))
    assert result.exit_code == 1
    for expected in ("line 2 [id_number]", "line 5 [id_number]", "line 5 [categories]", "line 5 [station_code]"):
        assert expected in result.output
    assert "4 problem(s)" in result.output


def test_a_failed_reimport_leaves_the_registry_untouched(runner, station, tmp_path):
    assert import_file(runner, write_csv(tmp_path, clean_lines())).exit_code == 0
    lines = [clean_lines()[0].replace("牙象村3队12号", "改了"), "王五,123,男,,dibao,440902100,,,,,"]
    assert import_file(runner, write_csv(tmp_path, lines, name="bad.csv")).exit_code == 1
    assert person(ZHANG).address == "牙象村3队12号"


def test_utf8_with_bom_is_accepted(runner, station, tmp_path):
    result = import_file(runner, write_csv(tmp_path, clean_lines(), encoding="utf-8-sig"))
    assert result.exit_code == 0, result.output
    assert person(ZHANG).name == "张小明"


def test_gb18030_from_excel_is_accepted(runner, station, tmp_path):
    result = import_file(runner, write_csv(tmp_path, clean_lines(), encoding="gb18030"))
    assert result.exit_code == 0, result.output
    assert person(ZHANG).name == "张小明" and person(LI).name == "李秀英"
    assert person(ZHANG).service_point.name == "牙象村"


def test_broken_encoding_is_reported_by_line_and_nothing_is_written(runner, station, tmp_path):
    path = write_csv(tmp_path, clean_lines())
    damaged = path.read_bytes().replace("李秀英".encode(), "李秀".encode() + b"\xff\xfe")
    path.write_bytes(damaged)
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 3" in result.output and "UTF-8" in result.output
    assert "Traceback" not in result.output
    assert people_count() == 0


def test_dry_run_reports_counts_and_writes_nothing(runner, station, tmp_path):
    result = import_file(runner, write_csv(tmp_path, clean_lines()), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "created 2" in result.output
    assert people_count() == 0
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) == 0


def test_a_missing_required_column_is_reported_on_line_1(runner, station, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("name,id_number,gender\n张小明," + ZHANG + ",男\n", encoding="utf-8")
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 1" in result.output and "categories" in result.output and "station_code" in result.output


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = import_file(runner, tmp_path / "absent.csv")
    assert result.exit_code == 2
