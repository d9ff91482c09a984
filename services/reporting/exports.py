"""Exports of visits and of the registry as CSV, XLSX and GeoJSON, streamed so that no export sits in memory.

Rows come from a server-side cursor in batches (`yield_per`); each batch is written and handed to the
response before the next is fetched, with one extra query per batch for its warnings or categories.
Visits are selected by services.visits.review.review_queue_query, so an export holds exactly the rows the
review queue lists under the same filters, in the same order. Every export is audited before its
first byte, and the registry's full ID numbers only leave masked unless an admin gives a reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from extensions import db
from models import Beneficiary, BeneficiaryCategory, ServicePoint, Station, User, Visit, VisitWarning, id_numbers
from models.enums import (
    BENEFICIARY_CATEGORIES,
    BENEFICIARY_STATUSES,
    GENDERS,
    RISK_TIERS,
    SERVICES,
    VISIT_KINDS,
    VISIT_STATUSES,
    WARNING_CODES,
)
from services.audit import record_audit
from services.errors import Invalid
from services.localtime import time_zone
from services.permissions import MAX_REVEAL_REASON_LENGTH, ensure_can_export_full_ids, scope_beneficiaries
from services.reporting.tables import Column, csv_chunks, xlsx_chunks
from services.visits.review import QueueFilters, review_queue_query

BATCH_ROWS = 1000
EXPORT_FORMATS = ("csv", "xlsx", "geojson")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}


@dataclass(frozen=True)
class ExportRow:
    """One exported row: its values in column order and, for GeoJSON, its WGS-84 point (lon, lat) or None."""

    values: list
    point: tuple[float, float] | None = None


@dataclass(frozen=True)
class ExportTable:
    """What to export: the columns and a lazy iterator of rows (consumed once, while the response streams)."""

    title: str
    columns: tuple[Column, ...]
    rows: Iterator[ExportRow]


@dataclass(frozen=True)
class ExportFile:
    """A download: its file name, media type and the lazy chunks of its body."""

    filename: str
    mimetype: str
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class BeneficiaryExportFilters:
    """Which registered people to export; None means no narrowing on that field."""

    station_id: int | None = None
    category: str | None = None
    status: str | None = None


VISIT_COLUMNS = (
    Column("id", "编号", 8), Column("kind", "类型", 14), Column("status", "状态", 10), Column("station", "社工站", 16),
    Column("station_code", "社工站编码", 14), Column("service_point", "村/社区", 14), Column("worker", "社工", 12),
    Column("beneficiary", "服务对象", 12), Column("started_at", "开始时间", 20), Column("ended_at", "结束时间", 20),
    Column("duration_minutes", "时长（分钟）", 10), Column("received_at", "接收时间", 20),
    Column("services", "服务内容", 24), Column("people_count", "人次", 8), Column("latitude", "纬度（WGS-84）", 14),
    Column("longitude", "经度（WGS-84）", 14), Column("accuracy_m", "定位精度（米）", 12),
    Column("distance_from_home_m", "距登记住址（米）", 14), Column("warning_count", "预警数", 8),
    Column("warnings", "预警", 24), Column("reviewed_at", "审核时间", 20), Column("review_comment", "审核意见", 24),
    Column("notes", "备注", 30),
)

# The headers of the bureau's roster, so that an export with full ID numbers imports again as it is.
BENEFICIARY_COLUMNS = (
    Column("name", "姓名", 12), Column("id_number", "身份证号", 22), Column("gender", "性别", 6),
    Column("birth_date", "出生日期", 12), Column("categories", "类别", 20), Column("station", "乡镇/街道", 16),
    Column("station_code", "社工站编码", 14), Column("village", "村/社区", 14), Column("address", "地址", 30),
    Column("phone", "联系电话", 16), Column("longitude", "经度", 12), Column("latitude", "纬度", 12),
    Column("risk_tier", "风险等级", 14), Column("status", "状态", 8),
)


def _label(vocabulary, code: str | None) -> str:
    if not code:
        return ""
    return vocabulary[code]["zh"] if code in vocabulary else code


def _labels(vocabulary, codes) -> str:
    return "、".join(_label(vocabulary, code) for code in codes or ())


_CATEGORY_ORDER = {code: position for position, code in enumerate(BENEFICIARY_CATEGORIES)}


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return moment.astimezone(zone) if moment is not None else None


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


# --- visits ------------------------------------------------------------------------------------------------------

_Worker = aliased(User)


def visit_export_statement(user: User, filters: QueueFilters | None) -> Select:
    """The review queue's SELECT (same scope, filters and order), reduced to the exported columns."""
    return (
        review_queue_query(user, filters)
        .with_only_columns(
            Visit.id, Visit.kind, Visit.status, Visit.started_at, Visit.ended_at, Visit.received_at, Visit.services,
            Visit.people_count, Visit.latitude, Visit.longitude, Visit.accuracy_m, Visit.distance_from_home_m,
            Visit.warning_count, Visit.reviewed_at, Visit.review_comment, Visit.notes, Station.name, Station.code,
            ServicePoint.name, _Worker.display_name, _Worker.username, Beneficiary.name,
        )
        .join_from(Visit, Station, Visit.station_id == Station.id)
        .outerjoin_from(Visit, ServicePoint, Visit.service_point_id == ServicePoint.id)
        .join_from(Visit, _Worker, Visit.worker_id == _Worker.id)
        .outerjoin_from(Visit, Beneficiary, Visit.beneficiary_id == Beneficiary.id)
    )


def _warning_codes_of(visit_ids: list[int]) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    if visit_ids:
        for visit_id, code in db.session.execute(
            select(VisitWarning.visit_id, VisitWarning.code).where(VisitWarning.visit_id.in_(visit_ids))
            .order_by(VisitWarning.visit_id, VisitWarning.id)
        ):
            codes.setdefault(visit_id, []).append(code)
    return codes


def _visit_rows(statement: Select) -> Iterator[ExportRow]:
    zone = time_zone()
    result = db.session.execute(statement.execution_options(yield_per=BATCH_ROWS))
    for batch in result.partitions():
        warnings = _warning_codes_of([row[0] for row in batch if row.warning_count])
        for row in batch:
            (visit_id, kind, status, started_at, ended_at, received_at, services, people_count, latitude, longitude,
             accuracy_m, distance_m, warning_count, reviewed_at, review_comment, notes, station_name, station_code,
             point_name, worker_display_name, worker_username, beneficiary_name) = row
            point = (longitude, latitude) if latitude is not None and longitude is not None else None
            yield ExportRow(values=[
                visit_id, _label(VISIT_KINDS, kind), _label(VISIT_STATUSES, status), station_name, station_code,
                point_name or "", worker_display_name or worker_username, beneficiary_name or "",
                _local(started_at, zone), _local(ended_at, zone),
                round((ended_at - started_at).total_seconds() / 60, 1),
                _local(received_at, zone), _labels(SERVICES, services), people_count, latitude, longitude,
                _rounded(accuracy_m, 1), _rounded(distance_m, 1), warning_count,
                _labels(WARNING_CODES, warnings.get(visit_id)), _local(reviewed_at, zone), review_comment or "",
                notes or "",
            ], point=point)


def export_visits(user: User, filters: QueueFilters | None, export_format: str) -> ExportFile:
    """Visits under the review queue's filters, in the user's scope, as a streamed CSV, XLSX or GeoJSON; audited.

    GeoJSON gives every visit a feature, in WGS-84 lon/lat order; a visit without a location (a care
    call) has a null geometry, so the file holds the same rows as the list and the other formats.
    """
    writer = _writer(export_format)
    record_audit(user, "export", None, dataset="visits", format=export_format, filters=_jsonable(filters))
    db.session.commit()
    table = ExportTable("走访记录", VISIT_COLUMNS, _visit_rows(visit_export_statement(user, filters)))
    return ExportFile(_filename("visits", export_format), MIMETYPES[export_format], writer(table))


# --- beneficiaries -----------------------------------------------------------------------------------------------


def beneficiary_export_statement(user: User, filters: BeneficiaryExportFilters | None) -> Select:
    """The people of the user's stations under the filters, by id, with their station and village."""
    filters = filters or BeneficiaryExportFilters()
    statement = (
        select(Beneficiary.id, Beneficiary.name, Beneficiary.id_number_sealed, Beneficiary.id_number_masked,
               Beneficiary.gender, Beneficiary.birth_date,
               Station.name, Station.code, ServicePoint.name, Beneficiary.address, Beneficiary.phone,
               Beneficiary.home_longitude, Beneficiary.home_latitude, Beneficiary.risk_tier, Beneficiary.status)
        .join_from(Beneficiary, Station, Beneficiary.station_id == Station.id)
        .outerjoin_from(Beneficiary, ServicePoint, Beneficiary.service_point_id == ServicePoint.id)
        .order_by(Beneficiary.id)
    )
    statement = scope_beneficiaries(statement, user)
    if filters.station_id is not None:
        statement = statement.where(Beneficiary.station_id == filters.station_id)
    if filters.status:
        statement = statement.where(Beneficiary.status == filters.status)
    if filters.category:
        statement = statement.where(Beneficiary.id.in_(
            select(BeneficiaryCategory.beneficiary_id).where(BeneficiaryCategory.category == filters.category)))
    return statement


def _categories_of(person_ids: list[int]) -> dict[int, list[str]]:
    categories: dict[int, list[str]] = {}
    if person_ids:
        for person_id, code in db.session.execute(
            select(BeneficiaryCategory.beneficiary_id, BeneficiaryCategory.category)
            .where(BeneficiaryCategory.beneficiary_id.in_(person_ids))
            .order_by(BeneficiaryCategory.beneficiary_id, BeneficiaryCategory.category)
        ):
            categories.setdefault(person_id, []).append(code)
    # In the registry's own order (低保 before 特困 before 残疾人), as the bureau's forms list them.
    return {person_id: sorted(codes, key=_CATEGORY_ORDER.get) for person_id, codes in categories.items()}


def _beneficiary_rows(statement: Select, full_id_numbers: bool) -> Iterator[ExportRow]:
    result = db.session.execute(statement.execution_options(yield_per=BATCH_ROWS))
    for batch in result.partitions():
        categories = _categories_of([row[0] for row in batch])
        for row in batch:
            (person_id, name, id_number_sealed, id_number_masked, gender, birth_date, station_name, station_code,
             point_name, address, phone, longitude, latitude, risk_tier, status) = row
            point = (longitude, latitude) if latitude is not None and longitude is not None else None
            yield ExportRow(values=[
                name, id_numbers.unseal(id_number_sealed) if full_id_numbers else id_number_masked,
                _label(GENDERS, gender),
                birth_date, _labels(BENEFICIARY_CATEGORIES, categories.get(person_id)), station_name, station_code,
                point_name or "", address or "", phone or "", longitude, latitude, _label(RISK_TIERS, risk_tier),
                _label(BENEFICIARY_STATUSES, status),
            ], point=point)


def export_beneficiaries(user: User, filters: BeneficiaryExportFilters | None, export_format: str, *,
                         full_id_numbers: bool = False, reason: str | None = None) -> ExportFile:
    """Registered people of the user's stations as a streamed CSV, XLSX or GeoJSON (home locations); audited.

    ID numbers are masked (440902********1234) unless an admin asks for them in full and says why;
    the audit event records the filters and whether ID numbers left the system unmasked.
    """
    writer = _writer(export_format)
    reason = (reason or "").strip()
    if full_id_numbers:
        ensure_can_export_full_ids(user)
        if not reason:
            raise Invalid("导出完整身份证号须填写原因", code="reason_required", fields={"reason": ["required"]})
        if len(reason) > MAX_REVEAL_REASON_LENGTH:
            raise Invalid("原因过长", code="reason_too_long", params={"limit": MAX_REVEAL_REASON_LENGTH},
                          fields={"reason": [f"at most {MAX_REVEAL_REASON_LENGTH} characters"]})
    details = {"dataset": "beneficiaries", "format": export_format, "filters": _jsonable(filters),
               "full_id_numbers": full_id_numbers}
    if full_id_numbers:
        details["reason"] = reason
    record_audit(user, "export", None, **details)
    db.session.commit()
    rows = _beneficiary_rows(beneficiary_export_statement(user, filters), full_id_numbers)
    table = ExportTable("服务对象", BENEFICIARY_COLUMNS, rows)
    return ExportFile(_filename("beneficiaries", export_format), MIMETYPES[export_format], writer(table))


# --- writers -----------------------------------------------------------------------------------------------------


def _jsonable(filters) -> dict:
    if filters is None:
        return {}
    return {key: value.isoformat() if isinstance(value, date) else value
            for key, value in asdict(filters).items() if value is not None}


def _filename(dataset: str, export_format: str) -> str:
    stamp = datetime.now(time_zone()).strftime("%Y%m%d-%H%M")
    return f"zoufang-{dataset}-{stamp}.{export_format}"


def _writer(export_format: str) -> Callable[[ExportTable], Iterator[bytes]]:
    if export_format not in WRITERS:
        raise Invalid(f"不支持的导出格式 {export_format}", code="export_format_unknown",
                      params={"format": export_format}, fields={"format": [f"one of {', '.join(EXPORT_FORMATS)}"]})
    return WRITERS[export_format]


def _csv(table: ExportTable) -> Iterator[bytes]:
    return csv_chunks([column.header for column in table.columns], (row.values for row in table.rows))


def _xlsx(table: ExportTable) -> Iterator[bytes]:
    return xlsx_chunks(table.title, table.columns, (row.values for row in table.rows))


def _json_value(value):
    if isinstance(value, date):
        return value.isoformat()
    return value


def geojson_chunks(table: ExportTable) -> Iterator[bytes]:
    """A FeatureCollection (RFC 7946: WGS-84, [lon, lat]); properties keyed by column key, times with offset."""
    keys = [column.key for column in table.columns]
    yield b'{"type": "FeatureCollection", "features": [\n'
    parts, separator = [], ""
    for count, row in enumerate(table.rows, start=1):
        geometry = {"type": "Point", "coordinates": list(row.point)} if row.point is not None else None
        feature = {"type": "Feature", "geometry": geometry,
                   "properties": {key: _json_value(value) for key, value in zip(keys, row.values, strict=True)}}
        parts.append(separator + json.dumps(feature, ensure_ascii=False))
        separator = ",\n"
        if count % BATCH_ROWS == 0:
            yield "".join(parts).encode()
            parts = []
    yield ("".join(parts) + "\n]}\n").encode()


WRITERS = {"csv": _csv, "xlsx": _xlsx, "geojson": geojson_chunks}

__all__ = [
    "BENEFICIARY_COLUMNS", "BeneficiaryExportFilters", "EXPORT_FORMATS", "ExportFile", "VISIT_COLUMNS",
    "beneficiary_export_statement", "export_beneficiaries", "export_visits", "visit_export_statement",
]
