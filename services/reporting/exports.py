"""Exports of visits and of the registry as CSV, XLSX and GeoJSON, streamed so that no export sits in memory.

Rows are read as plain Core rows (never ORM entities) in keyset batches by id (`WHERE id > :last ORDER BY id
LIMIT n`): each batch is one query with its station, village, worker, person and reviewer joined in, plus one
for its warnings and co-workers (visits) or categories (people). A batch is formatted by plain functions,
written and handed to the response before the next is read, so an export of a million visits runs in constant
memory and a number of queries that grows only with the batches. Visits are those that
services.visits.review.review_queue_query lists under the same scope and filters. Every export is audited
before its first byte, and the registry's full ID numbers only leave masked unless an admin gives a reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Integer, Select, Text, any_, cast, literal, select, type_coerce, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from extensions import db
from models import Beneficiary, BeneficiaryCategory, ServicePoint, Station, User, Visit, VisitWarning, id_numbers
from models.enums import (
    BENEFICIARY_CATEGORIES,
    BENEFICIARY_STATUSES,
    DOMAINS,
    FINDING_AREAS,
    FINDING_VALUES,
    GENDERS,
    NEEDS,
    RISK_TIERS,
    SERVICES,
    VISIT_KINDS,
    VISIT_STATUSES,
    WARNING_CODES,
)
from models.user import shown_name
from models.visit import visit_coworkers
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


# Latitude before longitude in every tabular export (visits and registry), as the bureau's forms read them;
# GeoJSON keeps RFC 7946's [lon, lat] in its geometry.
VISIT_COLUMNS = (
    Column("id", "编号", 8), Column("kind", "类型", 14), Column("status", "状态", 10), Column("station", "社工站", 16),
    Column("station_code", "社工站编码", 14), Column("service_point", "村/社区", 14), Column("worker", "社工", 12),
    Column("coworkers", "同行社工", 14), Column("beneficiary", "服务对象", 12),
    Column("started_at", "开始时间", 20), Column("ended_at", "结束时间", 20),
    Column("duration_minutes", "时长（分钟）", 10), Column("received_at", "接收时间", 20),
    Column("domains", "服务领域", 20), Column("services", "服务内容", 24), Column("people_count", "人次", 8),
    Column("latitude", "纬度（WGS-84）", 14), Column("longitude", "经度（WGS-84）", 14),
    Column("accuracy_m", "定位精度（米）", 12), Column("distance_from_home_m", "距登记住址（米）", 14),
    *(column for area, label in FINDING_AREAS.items() for column in (
        Column(f"finding_{area}", label["zh"], 14), Column(f"finding_{area}_note", f"{label['zh']}说明", 24))),
    Column("needs", "需求", 24), Column("follow_up_needed", "需跟进", 8), Column("follow_up_due", "跟进期限", 12),
    Column("photo_consent", "同意拍照", 8), Column("warning_count", "预警数", 8), Column("warnings", "预警", 24),
    Column("reviewer", "审核人", 12), Column("reviewed_at", "审核时间", 20), Column("review_comment", "审核意见", 24),
    Column("notes", "备注", 30),
)

# The headers of the bureau's roster, so that an export with full ID numbers imports again as it is.
BENEFICIARY_COLUMNS = (
    Column("name", "姓名", 12), Column("id_number", "身份证号", 22), Column("gender", "性别", 6),
    Column("birth_date", "出生日期", 12), Column("categories", "类别", 20), Column("station", "乡镇/街道", 16),
    Column("station_code", "社工站编码", 14), Column("village", "村/社区", 14), Column("address", "地址", 30),
    Column("phone", "联系电话", 16), Column("latitude", "纬度", 12), Column("longitude", "经度", 12),
    Column("risk_tier", "风险等级", 14), Column("status", "状态", 8),
)
COORDINATE_DECIMALS = 6
_COORDINATE_STEP = Decimal(1).scaleb(-COORDINATE_DECIMALS)


def _label(vocabulary, code: str | None) -> str:
    if not code:
        return ""
    return vocabulary[code]["zh"] if code in vocabulary else code


def _labels(vocabulary, codes) -> str:
    return "、".join(_label(vocabulary, code) for code in codes or ())


_CATEGORY_ORDER = {code: position for position, code in enumerate(BENEFICIARY_CATEGORIES)}


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _coordinate(value: float | None) -> Decimal | None:
    # A Decimal keeps its six places when written as text ("21.650000" in CSV), and is a number in XLSX.
    return Decimal(value).quantize(_COORDINATE_STEP) if value is not None else None


def _among(column, ids: list[int]):
    """`column IN (ids)` for one batch: one array parameter on PostgreSQL, where a thousand placeholders would make
    every batch's statement text new to the driver (psycopg parses and caches only short statements)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)


def _keyset_batches(statement: Select, key, batch_rows: int) -> Iterator[list]:
    """The rows of a statement ordered by `key` (its first column, unique), one query of `batch_rows` per batch.

    Each batch starts after the last key of the previous one, so every batch is one index range however deep
    the export is, no cursor stays open between batches, and memory stays at one batch.
    """
    connection = db.session.connection()
    last_key = None
    while True:
        batch = statement if last_key is None else statement.where(key > last_key)
        rows = connection.execute(batch.limit(batch_rows)).all()
        if rows:
            yield rows
        if len(rows) < batch_rows:
            return
        last_key = rows[-1][0]


# --- visits ------------------------------------------------------------------------------------------------------

_visits = Visit.__table__
_stations = Station.__table__
_points = ServicePoint.__table__
_people = Beneficiary.__table__
_workers = User.__table__.alias("worker")
_reviewers = User.__table__.alias("reviewer")
_coworkers = User.__table__.alias("coworker")


def _as_text(json_column):
    # Read as the stored text, not decoded by the driver: the few distinct lists (services, domains, needs) and
    # common findings are then decoded and labelled once each (_labelled_list, _labelled_findings), not per row.
    return cast(json_column, Text).label(json_column.name)


def _as_stored(utc_column):
    # The driver's own value (aware on PostgreSQL, naive UTC on SQLite) without UTCDateTime's per-value hook;
    # _local_time tags and converts it once.
    return type_coerce(utc_column, DateTime(timezone=True)).label(utc_column.name)


def _local_time(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored UTC time (aware, or naive as SQLite keeps it) in the local zone."""
    if moment is None:
        return None
    return moment.astimezone(zone) if moment.tzinfo is not None else moment.replace(tzinfo=UTC).astimezone(zone)


def _time_as_csv_text(moment: datetime | None, zone: ZoneInfo) -> str | None:
    # What tables.csv_value would write for the datetime ("2024-05-06 09:30:00"), without its strftime, the
    # costliest step of a CSV row.
    local = _local_time(moment, zone)
    return local.isoformat(" ", "seconds")[:19] if local is not None else None


def _time_as_xlsx_cell(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    # Whole seconds, as every other format shows them (a cell would otherwise keep the microseconds).
    local = _local_time(moment, zone)
    return local.replace(microsecond=0) if local is not None else None


def _time_as_iso_text(moment: datetime | None, zone: ZoneInfo) -> str | None:
    local = _local_time(moment, zone)
    return local.isoformat(timespec="seconds") if local is not None else None


# How each format takes a time: CSV as local text, XLSX as a local datetime cell, GeoJSON as ISO 8601 with offset.
_TIME_WRITERS: dict[str, Callable[[datetime | None, ZoneInfo], object]] = {
    "csv": _time_as_csv_text, "xlsx": _time_as_xlsx_cell, "geojson": _time_as_iso_text,
}


# The columns of a visit export row, in the order _visit_values reads them (Core columns: rows, not entities).
_VISIT_SELECT = (
    _visits.c.id, _visits.c.kind, _visits.c.status, _stations.c.name, _stations.c.code, _points.c.name,
    shown_name(_workers), _people.c.name, _as_stored(_visits.c.started_at),
    _as_stored(_visits.c.ended_at), _as_stored(_visits.c.received_at), _as_text(_visits.c.domains),
    _as_text(_visits.c.services), _visits.c.people_count, _visits.c.latitude, _visits.c.longitude,
    _visits.c.accuracy_m, _visits.c.distance_from_home_m, _as_text(_visits.c.findings), _as_text(_visits.c.needs),
    _visits.c.follow_up_needed, _visits.c.follow_up_due, _visits.c.photo_consent, _visits.c.warning_count,
    shown_name(_reviewers), _as_stored(_visits.c.reviewed_at), _visits.c.review_comment,
    _visits.c.notes,
)


def visit_export_statement(user: User, filters: QueueFilters | None) -> Select:
    """The visits of the review queue under the same scope and filters, as one Core SELECT of plain rows by id.

    Station, village, worker, person and reviewer are joined in, so a batch is one query; the caller pages
    it by id (`WHERE visits.id > :last ORDER BY id LIMIT n`), one primary-key range per batch.
    """
    criteria = review_queue_query(user, filters).whereclause
    statement = (
        select(*_VISIT_SELECT)
        .select_from(
            _visits.join(_stations, _visits.c.station_id == _stations.c.id)
            .join(_workers, _visits.c.worker_id == _workers.c.id)
            .outerjoin(_points, _visits.c.service_point_id == _points.c.id)
            .outerjoin(_people, _visits.c.beneficiary_id == _people.c.id)
            .outerjoin(_reviewers, _visits.c.reviewer_id == _reviewers.c.id)
        )
        .order_by(_visits.c.id)
    )
    return statement if criteria is None else statement.where(criteria)


def _visit_details_of(rows) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The warnings' codes and the co-workers' names of one batch of visits, in one query."""
    visit_ids = [row[0] for row in rows]
    warned_ids = [row[0] for row in rows if row[_WARNING_COUNT]]
    warnings: dict[int, list[str]] = {}
    coworkers: dict[int, list[str]] = {}
    coworker_names = (
        select(visit_coworkers.c.visit_id.label("visit_id"), literal(1).label("detail"),
               _coworkers.c.id.label("position"),
               shown_name(_coworkers).label("text"))
        .join_from(visit_coworkers, _coworkers, visit_coworkers.c.user_id == _coworkers.c.id)
        .where(_among(visit_coworkers.c.visit_id, visit_ids))
    )
    if warned_ids:
        warning_table = VisitWarning.__table__
        statement = union_all(
            select(warning_table.c.visit_id.label("visit_id"), literal(0).label("detail"),
                   warning_table.c.id.label("position"), warning_table.c.code.label("text"))
            .where(_among(warning_table.c.visit_id, warned_ids)),
            coworker_names,
        ).order_by("visit_id", "detail", "position")
    else:
        statement = coworker_names.order_by(visit_coworkers.c.visit_id, _coworkers.c.id)
    for visit_id, detail, _order, text in db.session.connection().execute(statement):
        (coworkers if detail else warnings).setdefault(visit_id, []).append(text)
    return warnings, coworkers


_WARNING_COUNT = _VISIT_SELECT.index(_visits.c.warning_count)


_KIND_LABELS = {code: label["zh"] for code, label in VISIT_KINDS.items()}
_STATUS_LABELS = {code: label["zh"] for code, label in VISIT_STATUSES.items()}
_LIST_VOCABULARIES = {"domains": DOMAINS, "services": SERVICES, "needs": NEEDS}
# Distinct values seen in one export, kept so that each is decoded once; bounded, so memory stays constant.
_DISTINCT_TEXTS_KEPT = 4096


@lru_cache(maxsize=_DISTINCT_TEXTS_KEPT)
def _labelled_list(vocabulary_name: str, stored: str | None) -> str:
    """A stored JSON list of codes (services, domains, needs) as its Chinese labels joined with 、."""
    return _labels(_LIST_VOCABULARIES[vocabulary_name], json.loads(stored) if stored else ())


@lru_cache(maxsize=_DISTINCT_TEXTS_KEPT)
def _labelled_findings(stored: str | None) -> tuple[str, ...]:
    """Stored findings as (answer, note) per area of the form, in FINDING_AREAS' order; blanks where unanswered."""
    findings = json.loads(stored) if stored else {}
    values: list[str] = []
    for area in FINDING_AREAS:
        finding = findings.get(area) if isinstance(findings, dict) else None
        finding = finding if isinstance(finding, dict) else {}
        values += [_label(FINDING_VALUES, finding.get("value")), finding.get("note") or ""]
    return tuple(values)


def _visit_values(row, warnings: dict[int, list[str]], coworkers: dict[int, list[str]], zone: ZoneInfo,
                  when: Callable) -> ExportRow:
    (visit_id, kind, status, station_name, station_code, point_name, worker_name, person_name, started_at,
     ended_at, received_at, domains, services, people_count, latitude, longitude,
     accuracy_m, distance_m, findings, needs, follow_up_needed, follow_up_due, photo_consent, warning_count,
     reviewer_name, reviewed_at, review_comment, notes) = row
    coworker_names = coworkers.get(visit_id)
    warning_codes = warnings.get(visit_id)
    return ExportRow(values=[
        visit_id, _KIND_LABELS.get(kind, kind), _STATUS_LABELS.get(status, status), station_name, station_code,
        point_name or "", worker_name, "、".join(coworker_names) if coworker_names else "",
        person_name or "", when(started_at, zone), when(ended_at, zone),
        round((ended_at - started_at).total_seconds() / 60, 1), when(received_at, zone),
        _labelled_list("domains", domains), _labelled_list("services", services), people_count,
        _coordinate(latitude), _coordinate(longitude), _rounded(accuracy_m, 1), _rounded(distance_m, 1),
        *_labelled_findings(findings),
        _labelled_list("needs", needs), "是" if follow_up_needed else "否", follow_up_due,
        "是" if photo_consent else "否", warning_count,
        _labels(WARNING_CODES, warning_codes) if warning_codes else "",
        (reviewer_name or "") if reviewed_at is not None else "",
        when(reviewed_at, zone), review_comment or "", notes or "",
    ], point=(longitude, latitude) if latitude is not None and longitude is not None else None)


def _visit_rows(statement: Select, batch_rows: int, export_format: str) -> Iterator[ExportRow]:
    """Every visit of the statement, read in keyset batches of `batch_rows`: two queries a batch, at most."""
    zone, when = time_zone(), _TIME_WRITERS[export_format]
    for rows in _keyset_batches(statement, _visits.c.id, batch_rows):
        warnings, coworkers = _visit_details_of(rows)
        for row in rows:
            yield _visit_values(row, warnings, coworkers, zone, when)


def export_visits(user: User, filters: QueueFilters | None, export_format: str, *,
                  batch_rows: int = BATCH_ROWS) -> ExportFile:
    """Visits under the review queue's filters, in the user's scope, as a streamed CSV, XLSX or GeoJSON; audited.

    The whole ledger (台账) of each visit, by record number: who, when, where, what was found in the four
    areas, needs, follow-up, services and domains, warnings, and the decision that stands. GeoJSON gives
    every visit a feature, in WGS-84 lon/lat order; a visit without a location (a care call) has a null
    geometry, so the file holds the same rows as the other formats.
    """
    writer = _writer(export_format)
    record_audit(user, "export", None, dataset="visits", format=export_format, filters=_jsonable(filters))
    db.session.commit()
    rows = _visit_rows(visit_export_statement(user, filters), batch_rows, export_format)
    table = ExportTable("走访记录", VISIT_COLUMNS, rows)
    return ExportFile(_filename("visits", export_format), MIMETYPES[export_format], writer(table))


# --- beneficiaries -----------------------------------------------------------------------------------------------


def beneficiary_export_statement(user: User, filters: BeneficiaryExportFilters | None) -> Select:
    """The people of the user's stations under the filters, by id, with their station and village."""
    filters = filters or BeneficiaryExportFilters()
    statement = (
        select(Beneficiary.id, Beneficiary.name, Beneficiary.id_number_sealed, Beneficiary.id_number_masked,
               Beneficiary.gender, Beneficiary.birth_date,
               Station.name, Station.code, ServicePoint.name, Beneficiary.address, Beneficiary.phone,
               Beneficiary.home_latitude, Beneficiary.home_longitude, Beneficiary.risk_tier, Beneficiary.status)
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
            .where(_among(BeneficiaryCategory.beneficiary_id, person_ids))
            .order_by(BeneficiaryCategory.beneficiary_id, BeneficiaryCategory.category)
        ):
            categories.setdefault(person_id, []).append(code)
    # In the registry's own order (低保 before 特困 before 残疾人), as the bureau's forms list them.
    return {person_id: sorted(codes, key=_CATEGORY_ORDER.get) for person_id, codes in categories.items()}


def _beneficiary_rows(statement: Select, full_id_numbers: bool, batch_rows: int) -> Iterator[ExportRow]:
    for rows in _keyset_batches(statement, Beneficiary.id, batch_rows):
        categories = _categories_of([row[0] for row in rows])
        for row in rows:
            (person_id, name, id_number_sealed, id_number_masked, gender, birth_date, station_name, station_code,
             point_name, address, phone, latitude, longitude, risk_tier, status) = row
            point = (longitude, latitude) if latitude is not None and longitude is not None else None
            yield ExportRow(values=[
                name, id_numbers.unseal(id_number_sealed) if full_id_numbers else id_number_masked,
                _label(GENDERS, gender),
                birth_date, _labels(BENEFICIARY_CATEGORIES, categories.get(person_id)), station_name, station_code,
                point_name or "", address or "", phone or "", _coordinate(latitude), _coordinate(longitude),
                _label(RISK_TIERS, risk_tier), _label(BENEFICIARY_STATUSES, status),
            ], point=point)


def export_beneficiaries(user: User, filters: BeneficiaryExportFilters | None, export_format: str, *,
                         full_id_numbers: bool = False, reason: str | None = None,
                         batch_rows: int = BATCH_ROWS) -> ExportFile:
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
    rows = _beneficiary_rows(beneficiary_export_statement(user, filters), full_id_numbers, batch_rows)
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
    if isinstance(value, Decimal):
        return float(value)
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
