"""Streamed exports: the review queue's rows, parsed back from CSV, XLSX and GeoJSON; scope, masking, audit."""

import csv
import inspect
import io
import json
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import insert, select

from extensions import db
from models import AuditEvent, Visit
from services.errors import Forbidden, Invalid
from services.reporting.exports import (
    BENEFICIARY_COLUMNS,
    VISIT_COLUMNS,
    BeneficiaryExportFilters,
    export_beneficiaries,
    export_visits,
)
from services.visits.review import QueueFilters, review_queue_query
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_service_point,
    make_station,
    make_supervisor,
    make_worker,
)

VISIT_HEADERS = [column.header for column in VISIT_COLUMNS]
BENEFICIARY_HEADERS = [column.header for column in BENEFICIARY_COLUMNS]


def column_letter(headers: list[str], header: str) -> str:
    return get_column_letter(headers.index(header) + 1)


def body(export) -> bytes:
    return b"".join(export.chunks)


def csv_rows(data: bytes) -> list[dict]:
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> tuple[list, list[list]]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows[0], rows[1:]


def queue_ids(user, filters) -> list[int]:
    return [visit.id for visit in db.session.scalars(review_queue_query(user, filters))]


@pytest.fixture
def scene(app):
    """Two stations; a mix of kinds, statuses and warnings at the first, one visit at the second."""
    home, away = make_station(name="金塘镇"), make_station(name="袂花镇")
    village = make_service_point(home, name="东村")
    worker, away_worker = make_worker(home, display_name="王社工"), make_worker(away)
    zhang = make_beneficiary(home, name="张三", service_point=village)
    li = make_beneficiary(home, name="李四")
    base = datetime(2024, 5, 6, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
    visits = [
        make_reviewable_visit(worker, zhang, warnings=("far_from_home",), started_at=base, received_at=base,
                              services=["policy_implementation", "resource_linking"], notes="门口有积水",
                              distance_from_home_m=512.34),
        make_reviewable_visit(worker, li, started_at=base + timedelta(hours=1), received_at=base + timedelta(hours=2)),
        make_reviewable_visit(worker, li, kind="care_call", latitude=None, longitude=None, accuracy_m=None,
                              started_at=base + timedelta(days=1), received_at=base + timedelta(days=1),
                              status="approved"),
        make_reviewable_visit(worker, zhang, warnings=("too_short", "poor_accuracy"),
                              started_at=base + timedelta(days=2), received_at=base + timedelta(days=2)),
    ]
    away_visit = make_reviewable_visit(away_worker, make_beneficiary(away), received_at=base)
    return {"home": home, "away": away, "worker": worker, "visits": visits, "away_visit": away_visit,
            "supervisor": make_supervisor(home), "admin": make_admin(), "zhang": zhang}


@pytest.mark.parametrize("filters", [
    QueueFilters(status=None),
    QueueFilters(status="submitted"),
    QueueFilters(status=None, has_warnings=True),
    QueueFilters(status=None, kind="care_call"),
    QueueFilters(status=None, beneficiary_name="张"),
    QueueFilters(status=None, warning_code="too_short"),
    QueueFilters(status=None, received_from=date(2024, 5, 7), received_to=date(2024, 5, 8)),
])
def test_csv_holds_the_review_queues_rows_by_record_number(scene, filters):
    user = scene["supervisor"]

    rows = csv_rows(body(export_visits(user, filters, "csv")))

    # The ledger is read by id (keyset batches), so it lists the queue's rows in the order they were recorded.
    assert [int(row["编号"]) for row in rows] == sorted(queue_ids(user, filters))


def test_csv_speaks_chinese_and_local_time(scene):
    first = scene["visits"][0]

    data = body(export_visits(scene["supervisor"], QueueFilters(status=None), "csv"))

    assert data.decode("utf-8-sig").splitlines()[0].split(",") == VISIT_HEADERS
    row = next(row for row in csv_rows(data) if int(row["编号"]) == first.id)
    assert row["类型"] == "入户走访" and row["状态"] == "待审核"
    assert row["开始时间"] == "2024-05-06 09:30:00" and row["接收时间"] == "2024-05-06 09:30:00"
    assert row["结束时间"] == "2024-05-06 09:50:00" and row["时长（分钟）"] == "20.0"
    assert row["社工站"] == "金塘镇" and row["村/社区"] == "" and row["社工"] == "王社工" and row["服务对象"] == "张三"
    assert row["服务内容"] == "政策落实、资源链接" and row["预警"] == "距离登记住址过远" and row["预警数"] == "1"
    assert row["距登记住址（米）"] == "512.3" and row["备注"] == "门口有积水"
    assert (float(row["纬度（WGS-84）"]), float(row["经度（WGS-84）"])) == (first.latitude, first.longitude)


def test_xlsx_reads_back_with_the_same_rows_numbers_and_local_times(scene):
    filters = QueueFilters(status=None)

    header, rows = xlsx_rows(body(export_visits(scene["admin"], filters, "xlsx")))

    assert header == VISIT_HEADERS
    assert [row[0] for row in rows] == sorted(queue_ids(scene["admin"], filters))
    first = next(row for row in rows if row[0] == scene["visits"][0].id)
    values = dict(zip(VISIT_HEADERS, first, strict=True))
    assert values["开始时间"] == datetime(2024, 5, 6, 9, 30)
    assert values["人次"] == 1 and values["预警数"] == 1 and isinstance(values["纬度（WGS-84）"], float)
    assert values["类型"] == "入户走访"


def test_geojson_is_wgs84_lon_lat_with_null_geometry_for_visits_without_a_place(scene):
    filters = QueueFilters(status=None)

    collection = json.loads(body(export_visits(scene["supervisor"], filters, "geojson")))

    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [feature["properties"]["id"] for feature in features] == sorted(queue_ids(scene["supervisor"], filters))
    by_id = {feature["properties"]["id"]: feature for feature in features}
    first, call = scene["visits"][0], scene["visits"][2]
    assert by_id[first.id]["geometry"] == {"type": "Point", "coordinates": [first.longitude, first.latitude]}
    assert by_id[call.id]["geometry"] is None
    assert by_id[call.id]["properties"]["kind"] == "电话/视频探访"
    assert by_id[first.id]["properties"]["started_at"] == "2024-05-06T09:30:00+08:00"


def test_supervisors_export_their_stations_only(scene):
    ids = {int(row["编号"]) for row in csv_rows(body(export_visits(scene["supervisor"], QueueFilters(status=None),
                                                                    "csv")))}
    all_ids = {int(row["编号"]) for row in csv_rows(body(export_visits(scene["admin"], QueueFilters(status=None),
                                                                        "csv")))}

    assert scene["away_visit"].id not in ids
    assert ids == {visit.id for visit in scene["visits"]}
    assert all_ids == ids | {scene["away_visit"].id}


def test_every_export_is_audited_with_its_filters(scene):
    export_visits(scene["supervisor"], QueueFilters(status="approved", received_from=date(2024, 5, 1)), "xlsx")

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.actor_id == scene["supervisor"].id
    assert event.details == {"dataset": "visits", "format": "xlsx",
                             "filters": {"status": "approved", "received_from": "2024-05-01"}}


def test_an_unknown_format_is_refused_and_not_audited(scene):
    with pytest.raises(Invalid):
        export_visits(scene["admin"], None, "pdf")
    assert db.session.scalar(select(AuditEvent)) is None


def test_beneficiaries_are_masked_by_default_and_scoped(scene):
    away_person = make_beneficiary(scene["away"], name="外站")

    rows = csv_rows(body(export_beneficiaries(scene["supervisor"], None, "csv")))

    assert [row["姓名"] for row in rows] == ["张三", "李四"]
    zhang = scene["zhang"]
    assert rows[0]["身份证号"] == zhang.id_number_masked != zhang.id_number
    assert rows[0]["类别"] == "低保" and rows[0]["乡镇/街道"] == "金塘镇" and rows[0]["村/社区"] == "东村"
    assert rows[0]["性别"] == "女" and rows[0]["出生日期"] == "1950-03-01" and rows[0]["状态"] == "在册"
    assert away_person.name not in {row["姓名"] for row in rows}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.details["full_id_numbers"] is False and event.details["dataset"] == "beneficiaries"


def test_beneficiary_filters(scene):
    make_beneficiary(scene["home"], name="王五", categories=["tekun", "disabled"], status="closed")

    rows = csv_rows(body(export_beneficiaries(scene["admin"], BeneficiaryExportFilters(category="tekun"), "csv")))
    assert [(row["姓名"], row["类别"], row["状态"]) for row in rows] == [("王五", "特困、残疾人", "已销档")]
    rows = csv_rows(body(export_beneficiaries(scene["admin"], BeneficiaryExportFilters(
        station_id=scene["home"].id, status="active"), "csv")))
    assert [row["姓名"] for row in rows] == ["张三", "李四"]


def test_full_id_numbers_need_an_admin_and_a_reason_and_are_audited(scene):
    with pytest.raises(Forbidden):
        export_beneficiaries(scene["supervisor"], None, "csv", full_id_numbers=True, reason="核对")
    with pytest.raises(Invalid):
        export_beneficiaries(scene["admin"], None, "csv", full_id_numbers=True, reason="  ")
    assert db.session.scalar(select(AuditEvent)) is None

    header, rows = xlsx_rows(body(export_beneficiaries(scene["admin"], None, "xlsx", full_id_numbers=True,
                                                       reason="民政局年度核对")))

    assert header == [column.header for column in BENEFICIARY_COLUMNS]
    assert rows[0][1] == scene["zhang"].id_number
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.actor_id == scene["admin"].id
    assert event.details["full_id_numbers"] is True and event.details["reason"] == "民政局年度核对"


FORMULAS = ['=HYPERLINK("http://example.invalid","点我")', "+1+1", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_text_that_spreadsheets_would_run_as_a_formula_stays_text(scene, formula):
    visit = scene["visits"][1]
    visit.notes = formula
    db.session.commit()
    filters = QueueFilters(status=None, beneficiary_name="李四", kind="home_visit")

    row = csv_rows(body(export_visits(scene["admin"], filters, "csv")))[0]
    assert row["备注"] == "'" + formula

    workbook = load_workbook(io.BytesIO(body(export_visits(scene["admin"], filters, "xlsx"))))
    cell = workbook.worksheets[0][f"{column_letter(VISIT_HEADERS, '备注')}2"]
    assert (cell.value, cell.data_type) == (formula.replace("\r", "\n"), "s")  # XML reads \r back as \n


@pytest.mark.parametrize("formula", FORMULAS)
def test_registry_exports_keep_formula_like_text_as_text(scene, formula):
    zhang = scene["zhang"]
    zhang.address = formula
    db.session.commit()
    filters = BeneficiaryExportFilters(station_id=scene["home"].id)

    rows = csv_rows(body(export_beneficiaries(scene["admin"], filters, "csv")))
    assert rows[0]["姓名"] == "张三" and rows[0]["地址"] == "'" + formula

    workbook = load_workbook(io.BytesIO(body(export_beneficiaries(scene["admin"], filters, "xlsx"))))
    cell = workbook.worksheets[0][f"{column_letter(BENEFICIARY_HEADERS, '地址')}2"]
    assert (cell.value, cell.data_type) == (formula.replace("\r", "\n"), "s")  # XML reads \r back as \n


def test_the_xlsx_temporary_file_is_deleted_even_when_the_download_is_abandoned(scene, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    finished = export_visits(scene["admin"], None, "xlsx")
    body(finished)
    abandoned = export_visits(scene["admin"], None, "xlsx")
    next(abandoned.chunks)
    assert list(tmp_path.glob("zoufang-export-*"))
    abandoned.chunks.close()

    assert list(tmp_path.glob("zoufang-export-*")) == []


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "geojson"])
def test_thousands_of_rows_stream_in_batches_with_a_bounded_number_of_queries(scene, count_queries, export_format):
    worker, start = scene["worker"], datetime(2024, 6, 1, tzinfo=UTC)
    db.session.execute(insert(Visit), [
        {"client_id": uuid.uuid4().hex, "body_fingerprint": "0" * 64, "worker_id": worker.id,
         "station_id": worker.station_id, "beneficiary_id": scene["zhang"].id, "kind": "home_visit",
         "services": ["policy_implementation"], "started_at": start + timedelta(minutes=n),
         "ended_at": start + timedelta(minutes=n + 20), "latitude": 21.6, "longitude": 110.9,
         "received_at": start + timedelta(minutes=n), "warning_count": n % 2,
         "warning_severity": n % 2} for n in range(3000)])
    db.session.commit()
    filters = QueueFilters(status=None)

    export = export_visits(scene["supervisor"], filters, export_format)
    assert inspect.isgenerator(export.chunks)
    with count_queries() as counter:
        chunks = list(export.chunks)

    assert counter.count <= 10
    if export_format == "csv":
        assert len(chunks) >= 3
        assert len(csv_rows(b"".join(chunks))) == 3004
    elif export_format == "geojson":
        assert len(chunks) >= 3
        assert len(json.loads(b"".join(chunks))["features"]) == 3004
    else:
        assert len(xlsx_rows(b"".join(chunks))[1]) == 3004


# --- the whole ledger (台账) -----------------------------------------------------------------------------------------

FULL_FINDINGS = {
    "basic_living": {"value": "ok", "note": "米面充足"},
    "safety": {"value": "concern", "note": "电线老化"},
    "family_support": {"value": "concern", "note": "子女半年未探望"},
    "care_received": {"value": "ok", "note": ""},
}


@pytest.fixture
def ledger_visit(scene):
    """A visit with every field of the form filled in, decided by a named supervisor."""
    home = scene["home"]
    village = make_service_point(home, name="西村")
    partner = make_worker(home, display_name="陈社工")
    reviewer = make_supervisor(home, display_name="赵督导")
    started = datetime(2024, 5, 9, 1, 30, 15, 250000, tzinfo=UTC)  # 09:30:15.25 in Asia/Shanghai
    return make_reviewable_visit(
        scene["worker"], make_beneficiary(home, name="王五", service_point=village), warnings=("far_from_home",),
        started_at=started, ended_at=started + timedelta(minutes=45), received_at=started + timedelta(hours=1),
        service_point_id=village.id, services=["policy_implementation", "resource_linking"],
        domains=["social_assistance", "elderly_care"], latitude=21.6574321987, longitude=110.918765432,
        accuracy_m=12.345, distance_from_home_m=1834.56, findings=FULL_FINDINGS,
        needs=["daily_care", "home_adaptation"], follow_up_needed=True, follow_up_due=date(2024, 5, 23),
        photo_consent=True, people_count=2, coworkers=[partner], notes="门口有积水", status="approved",
        reviewer_id=reviewer.id, reviewed_at=started + timedelta(days=1), review_comment="情况属实，请按期跟进",
    )


LEDGER_ROW = {
    "类型": "入户走访", "状态": "已通过", "社工站": "金塘镇", "村/社区": "西村", "社工": "王社工", "同行社工": "陈社工",
    "服务对象": "王五", "开始时间": "2024-05-09 09:30:15", "结束时间": "2024-05-09 10:15:15", "时长（分钟）": "45.0",
    "接收时间": "2024-05-09 10:30:15", "服务领域": "社会救助、养老服务", "服务内容": "政策落实、资源链接", "人次": "2",
    "纬度（WGS-84）": "21.657432", "经度（WGS-84）": "110.918765", "定位精度（米）": "12.3",
    "距登记住址（米）": "1834.6",
    "基本生活（吃穿住医）": "正常", "基本生活（吃穿住医）说明": "米面充足",
    "安全隐患（房、水、电、气）": "有问题", "安全隐患（房、水、电、气）说明": "电线老化",
    "家庭赡养/抚养": "有问题", "家庭赡养/抚养说明": "子女半年未探望",
    "照料情况": "正常", "照料情况说明": "",
    "需求": "生活照料、适老化改造", "需跟进": "是", "跟进期限": "2024-05-23", "同意拍照": "是", "预警数": "1",
    "预警": "距离登记住址过远", "审核人": "赵督导", "审核时间": "2024-05-10 09:30:15",
    "审核意见": "情况属实，请按期跟进", "备注": "门口有积水",
}


def test_the_csv_carries_the_whole_ledger_in_chinese(scene, ledger_visit):
    rows = csv_rows(body(export_visits(scene["supervisor"], QueueFilters(status="approved"), "csv")))

    row = next(row for row in rows if int(row["编号"]) == ledger_visit.id)
    assert row == {"编号": str(ledger_visit.id), "社工站编码": scene["home"].code, **LEDGER_ROW}
    assert list(row) == VISIT_HEADERS


def test_the_xlsx_carries_the_same_ledger_with_numbers_dates_and_local_times(scene, ledger_visit):
    header, rows = xlsx_rows(body(export_visits(scene["admin"], QueueFilters(status="approved"), "xlsx")))

    values = dict(zip(header, next(row for row in rows if row[0] == ledger_visit.id), strict=True))
    assert values["纬度（WGS-84）"] == 21.657432 and values["经度（WGS-84）"] == 110.918765
    assert values["开始时间"] == datetime(2024, 5, 9, 9, 30, 15)
    assert values["审核时间"] == datetime(2024, 5, 10, 9, 30, 15)
    assert values["跟进期限"] == datetime(2024, 5, 23) and values["人次"] == 2 and values["距登记住址（米）"] == 1834.6
    not_text = {"纬度（WGS-84）", "经度（WGS-84）", "开始时间", "结束时间", "接收时间", "审核时间", "跟进期限", "人次",
                "预警数", "时长（分钟）", "定位精度（米）", "距登记住址（米）"}
    texts = {key: value for key, value in values.items() if key in LEDGER_ROW and key not in not_text}
    assert texts == {key: LEDGER_ROW[key] or None for key in texts}


def test_the_geojson_properties_carry_the_ledger_and_the_geometry_stays_lon_lat(scene, ledger_visit):
    collection = json.loads(body(export_visits(scene["admin"], QueueFilters(status="approved"), "geojson")))

    feature = next(item for item in collection["features"] if item["properties"]["id"] == ledger_visit.id)
    assert feature["geometry"]["coordinates"] == [110.918765432, 21.6574321987]
    properties = feature["properties"]
    assert (properties["latitude"], properties["longitude"]) == (21.657432, 110.918765)
    assert properties["finding_safety"] == "有问题" and properties["finding_safety_note"] == "电线老化"
    assert properties["needs"] == "生活照料、适老化改造" and properties["follow_up_due"] == "2024-05-23"
    assert properties["reviewer"] == "赵督导" and properties["review_comment"] == "情况属实，请按期跟进"
    assert properties["started_at"] == "2024-05-09T09:30:15+08:00"
    assert properties["coworkers"] == "陈社工" and properties["domains"] == "社会救助、养老服务"


def test_a_visit_without_findings_or_a_decision_leaves_those_cells_blank(scene):
    rows = csv_rows(body(export_visits(scene["admin"], QueueFilters(status="submitted", kind="home_visit"), "csv")))

    row = rows[0]
    assert row["基本生活（吃穿住医）"] == "" and row["安全隐患（房、水、电、气）说明"] == "" and row["需求"] == ""
    assert row["需跟进"] == "否" and row["跟进期限"] == "" and row["审核人"] == "" and row["审核时间"] == ""
    assert row["同行社工"] == ""


def test_a_returned_visit_shows_its_reviewer_and_comment_as_the_decision_that_stands(scene):
    reviewer = make_supervisor(scene["home"], display_name="钱督导")
    visit = make_reviewable_visit(scene["worker"], scene["zhang"], status="returned", reviewer_id=reviewer.id,
                                  reviewed_at=datetime(2024, 5, 7, 2, 0, tzinfo=UTC), review_comment="请补拍门牌")

    rows = csv_rows(body(export_visits(scene["admin"], QueueFilters(status="returned"), "csv")))

    assert [(int(row["编号"]), row["状态"], row["审核人"], row["审核意见"], row["审核时间"]) for row in rows] == [
        (visit.id, "退回补充", "钱督导", "请补拍门牌", "2024-05-07 10:00:00")]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_latitude_comes_before_longitude_in_every_table(scene, export_format):
    visits = export_visits(scene["admin"], None, export_format)
    people = export_beneficiaries(scene["admin"], None, export_format)

    for headers, latitude, longitude in ((visit_headers_of(visits, export_format), "纬度（WGS-84）", "经度（WGS-84）"),
                                         (visit_headers_of(people, export_format), "纬度", "经度")):
        assert headers.index(latitude) + 1 == headers.index(longitude)


def visit_headers_of(export, export_format) -> list[str]:
    data = body(export)
    if export_format == "csv":
        return data.decode("utf-8-sig").splitlines()[0].split(",")
    return list(xlsx_rows(data)[0])


def test_registry_coordinates_have_six_decimals_latitude_first(scene):
    person = make_beneficiary(scene["home"], name="赵六", home_latitude=21.65, home_longitude=110.9187654321)

    rows = csv_rows(body(export_beneficiaries(scene["admin"], None, "csv")))
    row = next(row for row in rows if row["姓名"] == "赵六")
    assert (row["纬度"], row["经度"]) == ("21.650000", "110.918765")
    header, sheet_rows = xlsx_rows(body(export_beneficiaries(scene["admin"], None, "xlsx")))
    values = dict(zip(header, next(row for row in sheet_rows if row[0] == "赵六"), strict=True))
    assert (values["纬度"], values["经度"]) == (21.65, 110.918765)
    collection = json.loads(body(export_beneficiaries(scene["admin"], None, "geojson")))
    feature = next(item for item in collection["features"] if item["properties"]["name"] == "赵六")
    assert feature["geometry"]["coordinates"] == [person.home_longitude, person.home_latitude]


@pytest.mark.parametrize("field, header", [
    ("review_comment", "审核意见"), ("findings", "安全隐患（房、水、电、气）说明"), ("coworker", "同行社工"),
])
def test_the_ledgers_free_text_is_kept_as_text_not_formulas(scene, field, header):
    formula = '=HYPERLINK("http://example.invalid","点我")'
    home = scene["home"]
    overrides = {
        "review_comment": {"review_comment": formula},
        "findings": {"findings": {"safety": {"value": "concern", "note": formula}}},
        "coworker": {"coworkers": [make_worker(home, display_name=formula)]},
    }[field]
    make_reviewable_visit(scene["worker"], scene["zhang"], kind="case_service", **overrides)
    filters = QueueFilters(status=None, kind="case_service")

    assert csv_rows(body(export_visits(scene["admin"], filters, "csv")))[0][header] == "'" + formula
    workbook = load_workbook(io.BytesIO(body(export_visits(scene["admin"], filters, "xlsx"))))
    cell = workbook.worksheets[0][f"{column_letter(VISIT_HEADERS, header)}2"]
    assert (cell.value, cell.data_type) == (formula, "s")


def add_visits(scene, count: int) -> None:
    """`count` more visits at the home station, every third with a co-worker and every other one warned."""
    partner = make_worker(scene["home"], display_name="陈社工")
    for number in range(count):
        make_reviewable_visit(scene["worker"], scene["zhang"], warnings=("too_short",) if number % 2 else (),
                              coworkers=[partner] if number % 3 == 0 else [])


@pytest.mark.parametrize("batch_rows", [3, 7])
@pytest.mark.parametrize("export_format", ["csv", "xlsx", "geojson"])
def test_each_batch_costs_two_queries_whatever_its_size(scene, count_queries, batch_rows, export_format):
    add_visits(scene, 17)
    visit_count = 4 + 17
    export = export_visits(scene["supervisor"], QueueFilters(status=None), export_format, batch_rows=batch_rows)
    with count_queries() as counter:
        data = b"".join(export.chunks)

    full_batches, rest = divmod(visit_count, batch_rows)
    # A batch: its rows (station, village, worker, person, reviewer joined) and its warnings and co-workers.
    # A last full batch is followed by one empty read that ends the export.
    expected = 2 * full_batches + (2 if rest else 1)
    assert counter.count == expected
    if export_format == "csv":
        rows = csv_rows(data)
        assert [int(row["编号"]) for row in rows] == sorted(int(row["编号"]) for row in rows)
        assert len(rows) == visit_count
        assert sum(row["同行社工"] == "陈社工" for row in rows) == 6


def test_keyset_batches_read_every_row_once_whatever_the_batch_size(scene):
    add_visits(scene, 10)
    expected = csv_rows(body(export_visits(scene["admin"], QueueFilters(status=None), "csv")))

    for batch_rows in (1, 2, 5, 14, 15, 1000):
        rows = csv_rows(body(export_visits(scene["admin"], QueueFilters(status=None), "csv", batch_rows=batch_rows)))
        assert rows == expected
