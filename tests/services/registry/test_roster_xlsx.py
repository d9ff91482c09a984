"""Reading the bureau's XLSX roster: header variants, station names, numeric ID numbers, all-or-nothing imports."""

import base64
import io
import os
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Beneficiary, ServicePoint
from services.errors import Forbidden, NotFound
from services.registry import roster_xlsx
from services.registry.fields import complete_id_number
from services.registry.roster_xlsx import (
    STAGED_PREFIX,
    check_roster_upload,
    commit_roster_upload,
    find_header,
    import_roster,
    read_roster_xlsx,
)
from services.storage import get_storage
from tests.factories import make_admin, make_station, make_supervisor, roster_xlsx_bytes

ZHANG = complete_id_number("44090219500301001")
LI = complete_id_number("44090219620715002")
WANG = complete_id_number("44090219800101003")
BAD_CHECKSUM = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")

STANDARD_HEADER = ["姓名", "身份证号", "类别", "乡镇/街道", "村/社区", "地址", "联系电话", "经度", "纬度"]


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Beneficiary))


def person(id_number) -> Beneficiary:
    db.session.expire_all()
    return db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == id_number))


@pytest.fixture
def station(app):
    return make_station(code="440902100", name="金塘镇")


def test_header_variants_and_a_title_row_are_understood(station):
    raw = roster_xlsx_bytes(
        [
            ["序号", " 姓 名 ", "公民身份号码", "人员类别", "乡镇（街道）", "村居", "家庭住址", "手机号",
             "东经", "北纬"],
            [1, "张三", ZHANG, "低保、特困", "金塘镇", "东村", "东村 1 号", 13800138000, 110.92, 21.66],
            [2, "李四", LI, "低保边缘户，残疾人", "金塘镇", "西村", "西村 2 号", "0668-1234567", "110.93", "21.67"],
        ],
        title_rows=[["茂南区困难群众花名册（2024 年 5 月）"], [], ["填报单位：金塘镇社工站"]],
    )

    report = import_roster(raw)

    assert report.ok, report.errors
    assert (report.created, report.updated) == (2, 0)
    zhang, li = person(ZHANG), person(LI)
    assert zhang.name == "张三" and zhang.categories == ["dibao", "tekun"]
    assert zhang.station_id == station.id and zhang.service_point.name == "东村"
    assert zhang.phone == "13800138000" and zhang.address == "东村 1 号"
    assert (zhang.home_latitude, zhang.home_longitude) == (21.66, 110.92)
    assert li.categories == ["dibao_edge", "disabled"] and li.phone == "0668-1234567"
    assert (li.home_latitude, li.home_longitude) == (21.67, 110.93)
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) == 2


@pytest.mark.parametrize("header, field", [
    ("身份证号码", "id_number"), ("公民身份号码", "id_number"), ("乡镇(街道)", "station"), ("乡镇（街道）", "station"),
    ("乡镇街道", "station"), ("所属乡镇", "station"), ("村(社区)", "village"), ("村居", "village"),
    ("手机号", "phone"), ("电话", "phone"), ("东经", "lon"), ("longitude", "lon"), ("纬 度", "lat"),
    ("身份证号*", "id_number"),
])
def test_header_aliases(header, field):
    found = find_header([["标题"], ["姓名", "身份证号", header] if field != "id_number" else ["姓名", header]])

    assert found.row == 2
    assert field in found.columns
    assert found.labels[field] == header.strip()


def test_no_header_in_the_first_rows_is_reported(app):
    records, problems, _ = read_roster_xlsx(roster_xlsx_bytes([["名单"], ["张三", ZHANG]]))

    assert records == []
    assert [problem.code for problem in problems] == ["header"]


def test_a_missing_required_column_is_reported(station):
    report = import_roster(roster_xlsx_bytes([["姓名", "身份证号", "乡镇/街道"], ["张三", ZHANG, "金塘镇"]]))

    assert [(problem.code, problem.line) for problem in report.errors] == [("header", 1)]
    assert "类别" in report.errors[0].message
    assert people_count() == 0


def test_bad_rows_are_all_reported_row_by_row_and_nothing_is_written(station):
    raw = roster_xlsx_bytes([
        ["名册"],
        ["姓名", "身份证号码", "类别", "乡镇(街道)", "村/社区"],
        ["好人", WANG, "低保", "金塘镇", "东村"],
        ["坏校验", BAD_CHECKSUM, "低保", "金塘镇", "东村"],
        ["怪类别", LI, "贫困户", "金塘镇", "东村"],
        ["无此镇", complete_id_number("44090219700101004"), "低保", "不存在镇", "东村"],
        ["数字号", 440902195003010000, "低保", "金塘镇", "东村"],
        ["浮点号", 4.40902195003011e17, "特困", "金塘镇", "东村"],
    ])

    report = import_roster(raw)

    problems = [(problem.line, problem.column, problem.code) for problem in report.errors]
    assert problems == [
        (4, "身份证号码", "id_number_checksum"),
        (5, "类别", "unknown_category"),
        (6, "乡镇(街道)", "unknown_station"),
        (7, "身份证号码", "id_number_numeric"),
        (8, "身份证号码", "id_number_numeric"),
    ]
    assert "贫困户" in report.errors[1].message and "不存在镇" in report.errors[2].message
    assert "文本" in report.errors[3].message
    assert people_count() == 0
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_numeric_id_number_that_passes_the_checksum_is_still_refused(station):
    exact = int(ZHANG) if ZHANG[-1] != "X" else int(LI)

    report = import_roster(roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", exact, "低保", "金塘镇"]]))

    assert [problem.code for problem in report.errors] == ["id_number_numeric"]
    assert people_count() == 0


def test_reimporting_updates_people_by_id_number(station):
    li = ["李四", LI, "特困", "金塘镇", "东村", "东村 2 号", "", None, None]
    first = roster_xlsx_bytes([
        STANDARD_HEADER, ["张三", ZHANG, "低保", "金塘镇", "东村", "东村 1 号", "13800138000", 110.92, 21.66], li])
    assert import_roster(first).created == 2
    zhang_id = person(ZHANG).id

    second = roster_xlsx_bytes([
        STANDARD_HEADER, ["张三", ZHANG, "低保;独居老人", "金塘镇", "西村", "西村 9 号", "13900139000", 110.92, 21.66],
        li])
    report = import_roster(second)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    zhang = person(ZHANG)
    assert zhang.id == zhang_id
    assert zhang.categories == ["dibao", "elderly_alone"]
    assert zhang.address == "西村 9 号" and zhang.phone == "13900139000" and zhang.service_point.name == "西村"
    assert people_count() == 2


def test_station_by_code_and_ambiguous_names(station):
    other = make_station(code="440903200", name="城关镇")
    make_station(code="440904200", name="城关镇")
    raw = roster_xlsx_bytes([["姓名", "身份证号", "类别", "乡镇/街道"],
                ["张三", ZHANG, "低保", "440902100"],
                ["李四", LI, "低保", "城关镇"]])

    report = import_roster(raw)

    assert [(problem.line, problem.code) for problem in report.errors] == [(3, "ambiguous_station")]
    assert "440903200" in report.errors[0].message

    with_codes = roster_xlsx_bytes([["姓名", "身份证号", "类别", "乡镇/街道", "社工站编码"],
                       ["张三", ZHANG, "低保", "金塘镇", ""],
                       ["李四", LI, "低保", "城关镇", "440903200"]])
    assert import_roster(with_codes).ok
    assert person(ZHANG).station_id == station.id and person(LI).station_id == other.id


def test_dry_run_counts_and_writes_nothing(station):
    report = import_roster(roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"]]), dry_run=True)

    assert report.ok and report.dry_run and report.created == 1
    assert people_count() == 0


def test_not_a_workbook_and_old_excel_files_are_refused(app):
    assert [p.code for p in import_roster(b"PK\x03\x04 not really a zip").errors] == ["xlsx_format"]
    assert [p.code for p in import_roster(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)).errors] == ["xls_format"]


def test_csv_files_still_go_through_the_csv_reader(station):
    raw = f"name,id_number,categories,station_code\n张三,{ZHANG},低保,440902100\n".encode()

    assert import_roster(raw).created == 1
    assert person(ZHANG).name == "张三"


@pytest.mark.parametrize("categories", ["低保户/独居", "低保、独居老人", "dibao;elderly_alone", "低保；独居",
                                        "低保，独居老人", "低保 , 空巢老人"])
def test_csv_and_xlsx_rosters_read_categories_by_the_same_rule(station, categories):
    csv_raw = f'name,id_number,categories,station_code\n张三,{ZHANG},"{categories}",440902100\n'.encode()
    xlsx_raw = roster_xlsx_bytes([["姓名", "身份证号", "类别", "乡镇/街道"], ["李四", LI, categories, "金塘镇"]])

    assert import_roster(csv_raw).created == 1 and import_roster(xlsx_raw).created == 1
    assert person(ZHANG).categories == person(LI).categories == ["dibao", "elderly_alone"]


def test_a_large_roster_is_read_with_a_bounded_number_of_queries(station, count_queries):
    rows = [["姓名", "身份证号", "类别", "乡镇/街道", "村/社区"]]
    rows += [[f"人{n}", complete_id_number(f"440902{date(1950, 1, 1) + timedelta(days=n):%Y%m%d}{n % 1000:03d}"),
              "低保", "金塘镇", f"村{n % 5}"] for n in range(1, 1201)]
    raw = roster_xlsx_bytes(rows)

    with count_queries() as counter:
        report = import_roster(raw)

    assert report.ok and report.created == 1200
    assert counter.count < 40


def test_staged_upload_is_confirmed_once_by_its_stager(station):
    admin, other_admin = make_admin(), make_admin()
    raw = roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"]])

    report, token = check_roster_upload(raw, admin)
    assert report.ok and token and people_count() == 0

    with pytest.raises(NotFound):
        commit_roster_upload(token, other_admin)
    assert commit_roster_upload(token, admin).created == 1
    assert people_count() == 1
    with pytest.raises(NotFound):
        commit_roster_upload(token, admin)


def test_a_bad_upload_is_not_staged(station):
    admin = make_admin()
    raw = roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", BAD_CHECKSUM, "低保", "金塘镇"]])

    report, token = check_roster_upload(raw, admin)

    assert not report.ok and token is None
    assert list(get_storage().iter_objects(STAGED_PREFIX)) == []


def test_stale_staged_uploads_are_removed_when_another_is_staged(app, station):
    admin = make_admin()
    raw = roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"]])
    _, old_token = check_roster_upload(raw, admin)
    old_key = f"{STAGED_PREFIX}{admin.id}-{old_token}"
    storage = get_storage()
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(Path(app.config["UPLOAD_DIR"]) / old_key, (two_days_ago, two_days_ago))

    check_roster_upload(raw, admin)

    assert not storage.exists(old_key)


def test_only_admins_import(station):
    supervisor = make_supervisor(station)
    raw = roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"]])

    with pytest.raises(Forbidden):
        check_roster_upload(raw, supervisor)
    with pytest.raises(Forbidden):
        import_roster(raw, actor=supervisor)
    assert people_count() == 0


def test_a_workbook_that_unpacks_to_too_much_is_refused_unread(station, monkeypatch):
    raw = roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"]])
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    monkeypatch.setattr(roster_xlsx, "MAX_UNPACKED_BYTES", unpacked - 1)

    assert [problem.code for problem in import_roster(raw).errors] == ["too_large"]
    assert people_count() == 0


# --- the attack surface of an uploaded workbook (a zip of XML): refused with a clear message, nothing written ---

def _rewritten(raw: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with some members replaced or added, as a hostile file would be assembled."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member.filename, (replace or {}).get(member.filename, source.read(member.filename)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def _refused_with(raw: bytes) -> list[str]:
    report = import_roster(raw)
    assert not report.ok and people_count() == 0
    return [problem.code for problem in report.errors]


def _roster(*extra_rows) -> bytes:
    return roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"], *extra_rows])


def test_a_zip_bomb_is_refused_before_it_is_inflated(station):
    bomb = b"<x/>" + b" " * (40 * 1024 * 1024)
    raw = _rewritten(_roster(), add={"xl/media/padding.xml": bomb})
    assert len(raw) < 1024 * 1024
    assert _refused_with(raw) == ["zip_bomb"]


def test_a_sheet_of_1048576_rows_is_refused_without_reading_it(station):
    raw = _roster()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    padded = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:D1048576"/>', sheet)
    assert padded != sheet
    assert _refused_with(_rewritten(raw, replace={"xl/worksheets/sheet1.xml": padded})) == ["too_many_rows"]


def test_rows_past_the_limit_are_not_read_even_when_blank(station, monkeypatch):
    monkeypatch.setattr(roster_xlsx, "MAX_SHEET_LINES", 50)
    raw = roster_xlsx_bytes([STANDARD_HEADER[:4], ["张三", ZHANG, "低保", "金塘镇"], *([[None, None, None, " "]] * 80)])
    assert "too_many_rows" in _refused_with(raw)


def test_formulas_are_refused(station):
    assert _refused_with(_roster(["=HYPERLINK(\"http://example.invalid\",\"x\")", LI, "低保", "金塘镇"])) == ["formula"]
    assert _refused_with(roster_xlsx_bytes([STANDARD_HEADER[:4], ["李四", "=1+1", "低保", "金塘镇"]])) == ["formula"]


def test_a_10_mb_cell_is_refused(station):
    huge = base64.b64encode(os.urandom(7_500_000)).decode()
    assert len(huge) >= 10_000_000
    assert _refused_with(_roster(["李四", LI, "低保", "金塘镇", huge])) == ["cell_too_long"]


def test_external_links_are_refused(station):
    link = (b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<externalBook r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
            b'</externalLink>')
    raw = _rewritten(_roster(), add={"xl/externalLinks/externalLink1.xml": link})
    assert _refused_with(raw) == ["external_link"]
