"""The bureau's roster spreadsheet (花名册): read an XLSX with Chinese headers into the registry import's rows.

Headers vary from county to county (身份证号 / 身份证号码 / 公民身份号码, 乡镇(街道) / 所属乡镇, ...), a
title row often sits above them, and Excel stores long ID numbers as numbers. This module finds the
header row, maps the columns, resolves the township column to a station by name or code and hands
the rows to services.beneficiaries.import_beneficiaries, which validates and writes them; every rule
about a field lives there once. It also stages an uploaded file between the admin's dry run and the
confirmation, in the shared storage, so any app server can finish what another one checked.
"""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain

from openpyxl import load_workbook
from sqlalchemy import or_, select

from extensions import db
from models import Station, User
from services.errors import Invalid, NotFound
from services.permissions import ensure_can_edit_registry
from services.registry.bulk_import import LOOKUP_CHUNK, ImportReport, RowProblem, import_beneficiaries
from services.registry.csv_reader import read_beneficiary_csv
from services.storage import MissingObject, get_storage

# How far down a title, a date line or a blank row may push the header.
HEADER_SEARCH_ROWS = 10
MAX_ROSTER_ROWS = 200_000
# A 200,000-row roster unpacks to well under this; a zip bomb declares far more (and zipfile never
# inflates a member past its declared size, so checking the declarations is enough).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# openpyxl keeps every shared string in memory, even in read-only mode: this bounds that memory.
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
# Spreadsheet XML deflates 5-20 times; a member past this ratio (and this size) is a zip bomb.
MAX_COMPRESSION_RATIO = 200
MIN_BOMB_CHECK_BYTES = 1024 * 1024
# Rows read at all, blank ones included, so a sheet padded to Excel's 1,048,576 rows ends early.
MAX_SHEET_LINES = MAX_ROSTER_ROWS + 10_000
# No field of a roster is longer; a 10 MB cell is an attack or a mistake, refused before it is processed.
MAX_CELL_CHARACTERS = 1000
STAGED_PREFIX = "imports/roster/"
STAGED_LIFETIME = timedelta(days=1)

_XLSX_MAGIC = b"PK\x03\x04"
_OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"
# Dropped before comparing headers, so 乡镇(街道), 乡镇（街道）, 乡镇/街道 and 乡镇 街道 are one header.
_HEADER_NOISE = re.compile(r"[\s()\[\]/\\、_\-·.:：*＊]")
_TOKEN = re.compile(r"[0-9a-f]{32}")

# Import field → the headers meaning it, compared after NFKC, lower-casing and dropping _HEADER_NOISE.
HEADER_ALIASES = {
    "name": ("姓名", "服务对象姓名", "对象姓名", "名字", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "公民身份证号", "公民身份证号码", "身份证", "证件号码",
                  "身份号码", "idnumber"),
    "categories": ("类别", "对象类别", "人员类别", "服务对象类别", "困难类别", "类型", "人员类型", "categories"),
    "station": ("乡镇街道", "乡镇", "街道", "镇街", "所属乡镇", "所属乡镇街道", "所属街道", "乡镇街", "社工站",
                "station"),
    "station_code": ("社工站编码", "站点编码", "stationcode"),
    "village": ("村社区", "村居", "村", "社区", "所属村", "所属村社区", "村委会", "村居委会", "village"),
    "address": ("地址", "住址", "家庭住址", "详细地址", "居住地址", "现住址", "address"),
    "phone": ("联系电话", "电话", "手机号", "手机", "手机号码", "联系方式", "电话号码", "phone"),
    "lon": ("经度", "东经", "longitude", "lon", "lng"),
    "lat": ("纬度", "北纬", "latitude", "lat"),
    "gender": ("性别", "gender"),
    "birth_date": ("出生日期", "出生年月日", "birthdate"),
    "risk_tier": ("风险等级", "风险级别", "risktier"),
}
REQUIRED_FIELDS = ("name", "id_number", "categories")
# What the bureau's template calls each field, for messages.
FIELD_LABELS = {
    "name": "姓名", "id_number": "身份证号", "categories": "类别", "station": "乡镇/街道", "station_code": "社工站编码",
    "village": "村/社区", "address": "地址", "phone": "联系电话", "lon": "经度", "lat": "纬度", "gender": "性别",
    "birth_date": "出生日期", "risk_tier": "风险等级",
}
def normalise_header(value) -> str:
    """A header cell reduced for comparison: 乡镇（街道） → 乡镇街道, ' 身份证号码* ' → 身份证号码."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).lower()
    return _HEADER_NOISE.sub("", text)


_FIELD_OF_HEADER = {normalise_header(alias): field for field, aliases in HEADER_ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class RosterHeader:
    """Where the header is (1-based sheet row) and which column index holds which field, as the file names it."""

    row: int
    columns: dict[str, int]
    labels: dict[str, str]


def find_header(rows: list[tuple]) -> RosterHeader | None:
    """The first row among `rows` naming at least a name and an ID number column; None when there is none.

    When two columns mean the same field (联系电话 and 手机号), the leftmost one is used.
    """
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns, labels = {}, {}
        for column, value in enumerate(row):
            field = _FIELD_OF_HEADER.get(normalise_header(value))
            if field is not None and field not in columns:
                columns[field] = column
                labels[field] = str(value).strip()
        if "name" in columns and "id_number" in columns:
            return RosterHeader(row=index + 1, columns=columns, labels=labels)
    return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _cell(row: tuple, column: int | None):
    if column is None or column >= len(row):
        return None
    return row[column]


@dataclass
class _SheetRow:
    line: int
    values: dict
    station_text: str
    station_code_text: str


def _numeric_id_problem(line: int, label: str, value) -> RowProblem:
    shown = f"{value:.0f}" if isinstance(value, float) else str(value)
    return RowProblem(line, label, "id_number_numeric",
                      f"身份证号“{shown}”存成了数字格式（Excel 只保留 15 位有效数字，末几位可能已变成 0），"
                      "请把该列设为“文本”后重新录入", {"value": shown})


def _unsafe_cell_problem(line: int, row: tuple) -> RowProblem | None:
    """A formula or an over-long cell: refused, not evaluated or truncated."""
    for value in row:
        if isinstance(value, str) and value.startswith("="):
            return RowProblem(line, "", "formula", "含有公式，请复制后“选择性粘贴为数值”再导入")
        if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
            return RowProblem(line, "", "cell_too_long", f"单元格内容超过 {MAX_CELL_CHARACTERS} 个字符",
                              {"limit": MAX_CELL_CHARACTERS})
    return None


def _sheet_rows(rows: Iterator[tuple], header: RosterHeader, problems: list[RowProblem]) -> list[_SheetRow]:
    columns = header.columns
    result = []
    for line, row in enumerate(rows, start=header.row + 1):
        if line > MAX_SHEET_LINES:
            problems.append(RowProblem(line, "", "too_many_rows", f"一次最多导入 {MAX_ROSTER_ROWS} 行，请拆分文件",
                                       {"limit": MAX_ROSTER_ROWS}))
            break
        unsafe = _unsafe_cell_problem(line, row)
        if unsafe is not None:
            problems.append(unsafe)
            continue
        if not any(_text(value) for value in row):
            continue
        if len(result) >= MAX_ROSTER_ROWS:
            problems.append(RowProblem(line, "", "too_many_rows", f"一次最多导入 {MAX_ROSTER_ROWS} 行，请拆分文件",
                                       {"limit": MAX_ROSTER_ROWS}))
            break
        values = {"name": _text(_cell(row, columns["name"]))}
        raw_id = _cell(row, columns["id_number"])
        if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            problems.append(_numeric_id_problem(line, header.labels["id_number"], raw_id))
        values["id_number"] = _text(raw_id)
        values["categories"] = _text(_cell(row, columns.get("categories")))
        for field in ("village", "address", "phone", "gender", "risk_tier"):
            if field in columns:
                values[field] = _text(_cell(row, columns[field]))
        for field in ("lat", "lon"):
            if field in columns:
                value = _cell(row, columns[field])
                values[field] = value if isinstance(value, int | float) else _text(value)
        if "birth_date" in columns:
            born = _cell(row, columns["birth_date"])
            values["birth_date"] = born.date() if isinstance(born, datetime) else born
        result.append(_SheetRow(line=line, values=values,
                                station_text=_text(_cell(row, columns.get("station"))),
                                station_code_text=_text(_cell(row, columns.get("station_code")))))
    return result


def _stations_named(keys: set[str]) -> dict[str, list[Station]]:
    """Stations whose name or code is one of keys, by that key; a name two stations share lists both."""
    found: dict[str, list[Station]] = {}
    keys = sorted(key for key in keys if key)
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start:start + LOOKUP_CHUNK]
        for station in db.session.scalars(select(Station).where(or_(Station.name.in_(chunk), Station.code.in_(chunk)))):
            for key in {station.name, station.code} & set(chunk):
                found.setdefault(key, []).append(station)
    return found


def _resolve_stations(sheet_rows: list[_SheetRow], header: RosterHeader, problems: list[RowProblem]) -> None:
    """Turn each row's 社工站编码, or else its 乡镇/街道 (a station name or code), into the core's station_code."""
    stations = _stations_named({row.station_code_text or row.station_text for row in sheet_rows})
    for row in sheet_rows:
        by_code = bool(row.station_code_text)
        key = row.station_code_text or row.station_text
        label = header.labels.get("station_code" if by_code else "station", FIELD_LABELS["station"])
        matches = [station for station in stations.get(key, []) if not by_code or station.code == key]
        row.values["station_code"] = matches[0].code if len(matches) == 1 else key
        if not key:
            problems.append(RowProblem(row.line, label, "missing_station", f"{label}不能为空", {"column": label}))
        elif not matches:
            problems.append(RowProblem(row.line, label, "unknown_station",
                                       f"未知乡镇/街道“{key}”（应为社工站名称或编码）", {"value": key}))
        elif len(matches) > 1:
            codes = "、".join(sorted(station.code for station in matches))
            problems.append(RowProblem(row.line, label, "ambiguous_station",
                                       f"有多个社工站名为“{key}”（编码 {codes}），请改填社工站编码",
                                       {"value": key, "codes": sorted(station.code for station in matches)}))


def read_roster_xlsx(raw: bytes) -> tuple[list[tuple[int, dict]], list[RowProblem], dict[str, str]]:
    """Parse a roster workbook into the import core's (sheet row, {field: value}) records.

    Returns the records, the problems found while reading (no header, numeric ID numbers, unknown
    stations) and, per import field, the header as this file spells it, for the report. The first
    sheet with a recognisable header is read, in openpyxl's read-only (streaming) mode.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            refusal = _container_problem(archive.infolist())
        if refusal is not None:
            return [], [refusal], {}
        # Formulas are read as their text ("=..."), to be refused: a cached result may not be what the
        # formula says, and a formula passed on to an export runs in the next reader's Excel.
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=False, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return [], [RowProblem(1, "", "xlsx_format", "文件不是有效的 Excel（.xlsx）工作簿")], {}
    try:
        for sheet in workbook.worksheets:
            declared_rows = sheet.max_row or 0
            if declared_rows > MAX_SHEET_LINES:
                message = f"工作表有 {declared_rows} 行，一次最多导入 {MAX_ROSTER_ROWS} 行，请拆分文件"
                return [], [RowProblem(1, "", "too_many_rows", message,
                                       {"limit": MAX_ROSTER_ROWS, "rows": declared_rows})], {}
            rows = sheet.iter_rows(values_only=True)
            top = [row for _, row in zip(range(HEADER_SEARCH_ROWS), rows, strict=False)]
            header = find_header(top)
            if header is None:
                continue
            missing = [FIELD_LABELS[field] for field in REQUIRED_FIELDS if field not in header.columns]
            if "station" not in header.columns and "station_code" not in header.columns:
                missing.append(FIELD_LABELS["station"])
            if missing:
                return [], [RowProblem(header.row, "", "header", "表头缺少列：" + "、".join(missing),
                                       {"missing": missing})], header.labels
            problems: list[RowProblem] = []
            sheet_rows = _sheet_rows(chain(top[header.row:], rows), header, problems)
            _resolve_stations(sheet_rows, header, problems)
            return [(row.line, row.values) for row in sheet_rows], problems, header.labels
    finally:
        workbook.close()
    expected_labels = [FIELD_LABELS[field] for field in ("name", "id_number", "categories", "station")]
    expected = "、".join(expected_labels)
    return [], [RowProblem(1, "", "header", f"前 {HEADER_SEARCH_ROWS} 行中找不到表头（应含 {expected} 等列）",
                           {"kind": "not_found", "rows": HEADER_SEARCH_ROWS, "expected": expected_labels})], {}


def _container_problem(members: list[zipfile.ZipInfo]) -> RowProblem | None:
    """Refuse, before anything is inflated, a workbook that unpacks to too much, a zip bomb, shared strings
    too large to hold, or links to other files (external workbooks, which Excel would fetch)."""
    if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        return RowProblem(1, "", "too_large", "工作簿解压后过大，请拆分文件", {"kind": "unpacked"})
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIN_BOMB_CHECK_BYTES and ratio > MAX_COMPRESSION_RATIO:
            return RowProblem(1, "", "zip_bomb", "工作簿的压缩比异常（疑似“压缩炸弹”），已拒绝")
        if member.filename.lower().endswith("sharedstrings.xml") and member.file_size > MAX_SHARED_STRINGS_BYTES:
            return RowProblem(1, "", "too_large", "工作簿中的文字过多，请拆分文件", {"kind": "text"})
        if member.filename.lower().startswith("xl/externallinks/"):
            return RowProblem(1, "", "external_link",
                              "工作簿引用了外部文件（外部链接），请断开链接、只保留数值后再导入")
    return None


# The core's column each of the reader's own findings is about: where both speak of one cell, the reader's
# message (in the file's words) is kept and the core's dropped.
_CORE_COLUMN_OF_READER_CODE = {"id_number_numeric": "id_number", "unknown_station": "station_code",
                               "ambiguous_station": "station_code", "missing_station": "station_code"}


def _column_label(column: str, labels: dict[str, str]) -> str:
    if column == "station_code":
        return labels.get("station_code") or labels.get("station") or FIELD_LABELS["station"]
    return labels.get(column) or FIELD_LABELS.get(column, column)


def _in_file_words(report: ImportReport, reader_problems: list[RowProblem], labels: dict[str, str]) -> None:
    """Name the core's columns as the file does, and report each cell once, in the reader's words if it spoke."""
    claimed = {(problem.line, _CORE_COLUMN_OF_READER_CODE[problem.code]) for problem in reader_problems
               if problem.code in _CORE_COLUMN_OF_READER_CODE}
    merged = []
    for problem in report.errors:
        if problem in reader_problems:
            merged.append(problem)
        elif (problem.line, problem.column) not in claimed:
            merged.append(RowProblem(problem.line, _column_label(problem.column, labels), problem.code,
                                     problem.message, problem.params))
    report.errors = sorted(merged, key=lambda problem: problem.line)


def is_xlsx(raw: bytes) -> bool:
    """Whether the bytes are a zip container, as every .xlsx is (judged by content, not by file name)."""
    return raw.startswith(_XLSX_MAGIC)


def import_roster(raw: bytes, *, actor: User | None = None, dry_run: bool = False,
                  confirmed_service_points: Collection[tuple[str, str]] | None = None) -> ImportReport:
    """Import a roster file, XLSX (Chinese headers) or CSV (the documented English columns), told apart by content.

    Every problem is reported and nothing is written when any row is bad; otherwise everyone is
    upserted by ID number in one transaction (or only counted, on a dry run). confirmed_service_points:
    as for import_beneficiaries (None creates every new village the file names).
    """
    if raw.startswith(_OLD_EXCEL_MAGIC):
        problem = RowProblem(1, "", "xls_format", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx")
        return ImportReport(errors=[problem], dry_run=dry_run)
    if not is_xlsx(raw):
        records, problems = read_beneficiary_csv(raw)
        return import_beneficiaries(records, actor=actor, dry_run=dry_run, problems=problems,
                                    confirmed_service_points=confirmed_service_points)
    records, problems, labels = read_roster_xlsx(raw)
    report = import_beneficiaries(records, actor=actor, dry_run=dry_run, problems=problems,
                                  confirmed_service_points=confirmed_service_points)
    _in_file_words(report, problems, labels)
    return report


# --- staging between the admin's dry run and the confirmation ----------------------------------------------------


def _staged_key(actor: User, token: str) -> str:
    return f"{STAGED_PREFIX}{actor.id}-{token}"


def check_roster_upload(raw: bytes, actor: User) -> tuple[ImportReport, str | None]:
    """Dry-run an uploaded roster; when it is clean, stage it and return the token that confirms it.

    The report lists the villages the file would create (each needs its confirmation at commit_roster_upload)
    and what changes for the first updated people. The file is kept in the shared storage (not in one
    server's memory) until it is confirmed, or for STAGED_LIFETIME; stale staged files are removed whenever
    a new one is staged.
    """
    ensure_can_edit_registry(actor)
    if not raw:
        raise Invalid("请选择名册文件", code="file_required", fields={"file": ["required"]})
    report = import_roster(raw, actor=actor, dry_run=True)
    if not report.ok:
        return report, None
    storage = get_storage()
    _remove_stale_staged(storage)
    token = secrets.token_hex(16)
    storage.put(_staged_key(actor, token), raw)
    return report, token


def commit_roster_upload(token: str, actor: User,
                         confirmed_service_points: Collection[tuple[str, str]] = ()) -> ImportReport:
    """Import the roster staged by check_roster_upload, checking every row again; the staged file goes once written.

    confirmed_service_points: the (station code, village) pairs the person ticked. The villages to create are
    worked out again from the file and the registry as they are now; when one of them is not among the
    confirmed, nothing is written, the report says which (`refused`) and the staged file stays for another try.
    A staged file is only the stager's to confirm; an unknown or expired token is NotFound.
    """
    ensure_can_edit_registry(actor)
    if not _TOKEN.fullmatch(token or ""):
        raise NotFound("待导入的文件不存在或已过期，请重新上传", code="staged_roster_not_found")
    storage, key = get_storage(), _staged_key(actor, token)
    try:
        raw = storage.get(key)
    except MissingObject:
        raise NotFound("待导入的文件不存在或已过期，请重新上传", code="staged_roster_not_found") from None
    report = import_roster(raw, actor=actor, dry_run=False, confirmed_service_points=confirmed_service_points)
    if report.ok and not report.refused:
        storage.delete(key)
    return report


def _remove_stale_staged(storage) -> None:
    oldest_kept = datetime.now(UTC) - STAGED_LIFETIME
    for stored in list(storage.iter_objects(STAGED_PREFIX)):
        if stored.modified_at < oldest_kept:
            storage.delete(stored.key)


__all__ = [
    "HEADER_ALIASES", "RosterHeader", "check_roster_upload", "commit_roster_upload", "find_header", "import_roster",
    "is_xlsx", "normalise_header", "read_roster_xlsx",
]
