"""The registry of people served (服务对象): validation, pinyin initials, saving, revealing ID numbers, bulk import.

The admin's form, the CSV command and issue 5's Excel roster import all go through the same field
checks here, so a person refused by one is refused by all, with the same reason.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from pypinyin import Style, lazy_pinyin
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from stdnum.cn import ric

from extensions import db
from models import Beneficiary, BeneficiaryCategory, ServicePoint, Station, User, utcnow
from models.enums import BENEFICIARY_CATEGORIES, BENEFICIARY_STATUSES, RISK_TIERS
from services.audit import record_audit
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.geo import check_wgs84
from services.permissions import can_reveal_id_number
from services.stations import ensure_service_point

CSV_COLUMNS = ("name", "id_number", "gender", "birth_date", "categories", "station_code", "village", "address",
               "lat", "lon", "phone")
# Columns a file may leave out entirely; an absent column leaves the stored value of re-imported people alone.
REQUIRED_CSV_COLUMNS = ("name", "id_number", "categories", "station_code")
# Accepted beside CSV_COLUMNS so that rosters (and the demo) can set the visit-frequency tier.
OPTIONAL_CSV_COLUMNS = ("risk_tier",)

MAX_NAME_LENGTH = 64
MAX_ADDRESS_LENGTH = 255
MAX_VILLAGE_LENGTH = 64
MAX_PHONE_LENGTH = 32
MAX_REASON_LENGTH = 500
# Rows per IN (...) lookup: far below SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 500

# Polyphonic characters whose reading as a surname differs from their common reading (区 is Ou in
# Guangdong, 覃 is Qin), so that a worker typing "ozq" finds 区志强.
_SURNAME_INITIALS = {
    "曾": "z", "单": "s", "解": "x", "仇": "q", "查": "z", "区": "o", "乐": "y", "覃": "q", "翟": "z",
    "召": "s", "种": "c", "繁": "p", "秘": "b",
}
_GENDERS = {"male": "male", "m": "male", "男": "male", "female": "female", "f": "female", "女": "female"}
_CATEGORY_SEPARATORS = re.compile(r"[;；、]")
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_EXCEL_SCIENTIFIC = re.compile(r"\d(\.\d+)?E\+?\d+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,}")


class FieldProblem(Exception):
    """A refused field value: a stable code for programs and a message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RowProblem:
    """One problem of an imported file: the spreadsheet line (header = 1), the column, why."""

    line: int
    column: str
    code: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" [{self.column}]" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    """The outcome of an import: counts when it was written (or would be, on a dry run), else every problem."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# --- pinyin initials -------------------------------------------------------------------------------------------


def name_initials(name: str) -> str:
    """The lowercase first letters of a name's pinyin, for phone search: 张小明 → "zxm", 区志强 → "ozq".

    Latin words count by their first letter; punctuation such as the middle dot of 阿依古丽·买买提 is dropped.
    """
    name = (name or "").strip()
    letters = []
    if name and name[0] in _SURNAME_INITIALS:
        letters.append(_SURNAME_INITIALS[name[0]])
        name = name[1:]
    for piece in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"):
        # Characters pypinyin does not know come back as whole runs ("Tom "): keep each word's first letter.
        letters.extend(word[0].lower() for word in re.findall(r"[0-9A-Za-z]+", piece))
    return "".join(letters)[:MAX_NAME_LENGTH]


# --- field checks, shared by the form and the imports -------------------------------------------------------------


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def validate_id_number(value) -> str:
    """Normalise a resident ID number (full-width digits, lowercase x) and check it against GB 11643.

    Checks the length, the format, the check digit and the birth date. The place code is not checked:
    python-stdnum's table dates each county code, and elderly people's numbers, issued in the 1980s,
    carry codes younger than their birth year, so that check would refuse real people.
    """
    number = unicodedata.normalize("NFKC", _text(value)).replace(" ", "").upper()
    if not number:
        raise FieldProblem("missing", "身份证号不能为空")
    if _EXCEL_SCIENTIFIC.fullmatch(number):
        raise FieldProblem("id_number_mangled", "身份证号被 Excel 转成了科学计数法，请把该列设为文本后重新导出")
    if len(number) != 18:
        raise FieldProblem("id_number_length", f"身份证号应为 18 位（现为 {len(number)} 位）")
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise FieldProblem("id_number_format", "身份证号只能由数字组成，最后一位可为 X")
    # python-stdnum's calc_check_digit expects the full number and ignores its last character.
    if number[-1] != ric.calc_check_digit(number):
        raise FieldProblem("id_number_checksum", "身份证号校验位错误")
    try:
        born = birth_date_from_id_number(number)
    except ValueError:
        raise FieldProblem("id_number_birth_date", "身份证号中的出生日期无效") from None
    if born.year < 1900 or born > date.today():
        raise FieldProblem("id_number_birth_date", "身份证号中的出生日期无效")
    return number


def complete_id_number(first_17_digits: str) -> str:
    """Append the GB 11643 check digit to the first 17 digits of an ID number."""
    # python-stdnum's calc_check_digit expects a whole number and ignores its last character.
    return first_17_digits + ric.calc_check_digit(first_17_digits + "0")


def birth_date_from_id_number(number: str) -> date:
    """The birth date digits 7-14 of an ID number encode; ValueError when they are no date."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_from_id_number(number: str) -> str:
    """The gender a valid ID number encodes: the 17th digit is odd for men."""
    return "male" if int(number[16]) % 2 else "female"


def parse_gender(value) -> str | None:
    """male/female from 男/女, male/female or m/f; None when blank."""
    text = _text(value).lower()
    if not text:
        return None
    if text not in _GENDERS:
        raise FieldProblem("gender", f"性别“{_text(value)}”无效，应为 男 或 女")
    return _GENDERS[text]


def parse_date(value) -> date | None:
    """A date from a date, or from text such as 1950-03-01, 1950/3/1, 1950年3月1日 or 19500301; None when blank."""
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", _text(value))
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                parsed = date(*(int(part) for part in match.groups()))
            except ValueError:
                break
            if parsed.year >= 1900 and parsed <= date.today():
                return parsed
            break
    raise FieldProblem("date", f"日期“{text}”无效，应如 1950-03-01")


def _category_lookup() -> dict[str, str]:
    lookup = {}
    for code, labels in BENEFICIARY_CATEGORIES.items():
        lookup[code] = code
        lookup[labels["zh"]] = code
        lookup[labels["en"].lower()] = code
    return lookup


_CATEGORIES_BY_NAME = _category_lookup()


def parse_categories(value) -> list[str]:
    """Category codes from a list, or from text separated by ; ； or 、 — codes or Chinese labels (低保)."""
    pieces = _CATEGORY_SEPARATORS.split(value) if isinstance(value, str) else list(value or ())
    codes, unknown = [], []
    for piece in (_text(piece) for piece in pieces):
        if not piece:
            continue
        code = _CATEGORIES_BY_NAME.get(piece) or _CATEGORIES_BY_NAME.get(piece.lower())
        if code is None:
            unknown.append(piece)
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise FieldProblem("unknown_category", "未知类别：" + "、".join(f"“{name}”" for name in unknown))
    if not codes:
        raise FieldProblem("missing", "至少需要一个类别")
    return sorted(codes)


def _risk_tier_lookup() -> dict[str, str]:
    lookup = {}
    for code, labels in RISK_TIERS.items():
        lookup[code] = code
        lookup[labels["zh"]] = code
        lookup[labels["zh"].split("（")[0]] = code  # 高风险 for 高风险（每周）
    return lookup


_RISK_TIERS_BY_NAME = _risk_tier_lookup()


def parse_risk_tier(value) -> str | None:
    """A risk tier code (high/key/general or 高风险/重点/一般); None when blank."""
    text = _text(value)
    if not text:
        return None
    if text.lower() not in _RISK_TIERS_BY_NAME and text not in _RISK_TIERS_BY_NAME:
        raise FieldProblem("risk_tier", f"风险等级“{text}”无效，应为 高风险、重点 或 一般")
    return _RISK_TIERS_BY_NAME.get(text.lower()) or _RISK_TIERS_BY_NAME[text]


def _coordinate(value, label: str) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    text = unicodedata.normalize("NFKC", _text(value))
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise FieldProblem("coordinate", f"{label}“{text}”不是数字") from None


def parse_home_location(latitude, longitude) -> tuple[float | None, float | None]:
    """A WGS-84 (lat, lon) pair, or (None, None); one without the other, or off the globe, is refused."""
    lat, lon = _coordinate(latitude, "纬度"), _coordinate(longitude, "经度")
    if (lat is None) != (lon is None):
        raise FieldProblem("coordinate_pair", "经纬度须同时填写或同时留空")
    if lat is None:
        return None, None
    try:
        check_wgs84(lat, lon)
    except Invalid:
        raise FieldProblem("coordinate_range", f"坐标 {lat}, {lon} 超出范围（纬度 ±90，经度 ±180）") from None
    return lat, lon


def parse_name(value) -> str:
    """A person's name: required, at most 64 characters."""
    name = _text(value)
    if not name:
        raise FieldProblem("missing", "姓名不能为空")
    if len(name) > MAX_NAME_LENGTH:
        raise FieldProblem("too_long", f"姓名不能超过 {MAX_NAME_LENGTH} 个字")
    return name


def parse_phone(value) -> str | None:
    """A phone number of digits, spaces, dashes and brackets; None when blank."""
    phone = unicodedata.normalize("NFKC", _text(value))
    if not phone:
        return None
    if len(phone) > MAX_PHONE_LENGTH or not _PHONE.fullmatch(phone):
        raise FieldProblem("phone", f"电话“{phone}”格式不正确")
    return phone


def _bounded_text(value, limit: int, label: str) -> str:
    text = _text(value)
    if len(text) > limit:
        raise FieldProblem("too_long", f"{label}不能超过 {limit} 个字")
    return text


class _Checker:
    """Runs field checks, keeping every problem instead of stopping at the first."""

    def __init__(self):
        self.problems: list[tuple[str, FieldProblem]] = []

    def run(self, key: str, check: Callable, *args):
        try:
            return check(*args)
        except FieldProblem as problem:
            self.problems.append((key, problem))
            return None

    def refuse(self, key: str, code: str, message: str) -> None:
        self.problems.append((key, FieldProblem(code, message)))


def _ensure_may_edit_registry(actor: User | None) -> None:
    # actor None is the command line or the demo seeder, run by whoever operates the server.
    if actor is not None and actor.role != "admin":
        raise Forbidden("只有管理员可以修改服务对象名册", code="admin_only")


# --- the admin's form ---------------------------------------------------------------------------------------------

def _resolve(data: Mapping, key: str, model, checker: _Checker):
    """The row given as data[key] (an object) or data[key + '_id'] (its id); None when neither or blank."""
    if data.get(key) is not None:
        return data[key]
    row_id = data.get(f"{key}_id")
    if row_id in (None, ""):
        return None
    try:
        row = db.session.get(model, int(row_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        checker.refuse(key, "unknown", "不存在")
    return row


def _given(data: Mapping, key: str) -> bool:
    return key in data or f"{key}_id" in data


def save_beneficiary(beneficiary: Beneficiary | None, data: Mapping, actor: User | None) -> Beneficiary:
    """Create (beneficiary None) or edit a person from the admin's form, validate everything, audit, commit.

    data keys (absent keys keep the current value on edit): name, id_number, gender (male/female/男/女),
    birth_date (date or text), categories (codes or Chinese labels), station or station_id, service_point or
    service_point_id, address, home_latitude, home_longitude, phone, risk_tier, status. A blank gender or
    birth date is taken from the ID number. Raises Invalid with every refused field in .fields.
    """
    _ensure_may_edit_registry(actor)
    creating = beneficiary is None
    checker = _Checker()
    values = {}
    if creating or "name" in data:
        values["name"] = checker.run("name", parse_name, data.get("name"))
    id_number = beneficiary.id_number if beneficiary is not None else None
    if creating or "id_number" in data:
        id_number = values["id_number"] = checker.run("id_number", validate_id_number, data.get("id_number"))
    if creating or "categories" in data:
        values["categories"] = checker.run("categories", parse_categories, data.get("categories"))
    for key, parse in (("gender", parse_gender), ("birth_date", parse_date)):
        if creating or key in data:
            values[key] = checker.run(key, parse, data.get(key))
    if id_number:
        if "gender" in values and values["gender"] is None:
            values["gender"] = gender_from_id_number(id_number)
        if "birth_date" in values and values["birth_date"] is None:
            values["birth_date"] = birth_date_from_id_number(id_number)
    if "home_latitude" in data or "home_longitude" in data:
        current = (beneficiary.home_latitude, beneficiary.home_longitude) if beneficiary else (None, None)
        location = checker.run("home_latitude", parse_home_location, data.get("home_latitude", current[0]),
                               data.get("home_longitude", current[1]))
        values["home_latitude"], values["home_longitude"] = location or (None, None)
    for key, parse in (("address", lambda v: _bounded_text(v, MAX_ADDRESS_LENGTH, "地址")),
                       ("phone", parse_phone), ("risk_tier", parse_risk_tier)):
        if key in data:
            values[key] = checker.run(key, parse, data.get(key))
    if "status" in data:
        if data["status"] in BENEFICIARY_STATUSES:
            values["status"] = data["status"]
        else:
            checker.refuse("status", "status", "状态无效")
    if creating or _given(data, "station"):
        values["station"] = _resolve(data, "station", Station, checker)
        if values["station"] is None and not any(key == "station" for key, _ in checker.problems):
            checker.refuse("station", "missing", "请选择社工站")
    if _given(data, "service_point"):
        values["service_point"] = _resolve(data, "service_point", ServicePoint, checker)
    _check_service_point_belongs(beneficiary, values, checker)
    if values.get("id_number") and _id_number_taken(values["id_number"], beneficiary):
        checker.refuse("id_number", "id_number_taken", "该身份证号已登记")
    if checker.problems:
        fields = {}
        for key, problem in checker.problems:
            fields.setdefault(key, []).append(problem.message)
        raise Invalid("服务对象信息有误", fields=fields)
    return _write_beneficiary(beneficiary, values, actor)


def _check_service_point_belongs(beneficiary: Beneficiary | None, values: dict, checker: _Checker) -> None:
    station = values.get("station", beneficiary.station if beneficiary else None)
    point = values.get("service_point", beneficiary.service_point if beneficiary else None)
    if station is not None and point is not None and point.station_id != station.id:
        checker.refuse("service_point", "service_point_station", f"服务点“{point.name}”不属于{station.name}")


def _id_number_taken(number: str, beneficiary: Beneficiary | None) -> bool:
    statement = select(Beneficiary.id).where(Beneficiary.id_number == number)
    if beneficiary is not None:
        statement = statement.where(Beneficiary.id != beneficiary.id)
    return db.session.scalar(statement) is not None


def _write_beneficiary(beneficiary: Beneficiary | None, values: dict, actor: User | None) -> Beneficiary:
    creating = beneficiary is None
    if creating:
        beneficiary = Beneficiary(status="active")
    changed = sorted(key for key, value in values.items() if creating or getattr(beneficiary, key) != value)
    for key, value in values.items():
        setattr(beneficiary, key, value)
    beneficiary.name_initials = name_initials(beneficiary.name)
    db.session.add(beneficiary)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Invalid("该身份证号已登记", fields={"id_number": ["该身份证号已登记"]}) from None
    # Field names only: the audit log must not become a second copy of people's ID numbers.
    record_audit(actor, "beneficiary_changed", beneficiary, created=creating, fields=changed)
    db.session.commit()
    return beneficiary


# --- revealing an ID number ---------------------------------------------------------------------------------------


def reveal_id_number(user: User, beneficiary: Beneficiary, reason: str) -> str:
    """The full ID number, for a supervisor of the person's station or an admin who gives a reason; audited."""
    if not can_reveal_id_number(user, beneficiary):
        raise NotFound("服务对象不存在", code="beneficiary_not_found")
    reason = _text(reason)
    if not reason:
        raise Invalid("请填写查看原因", fields={"reason": ["required"]})
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid("查看原因过长", fields={"reason": [f"at most {MAX_REASON_LENGTH} characters"]})
    record_audit(user, "id_number_revealed", beneficiary, reason=reason)
    db.session.commit()
    return beneficiary.id_number


# --- bulk import --------------------------------------------------------------------------------------------------


@dataclass
class _CleanRow:
    line: int
    station: Station
    village: str | None  # None: the file has no village column, keep the current service point
    values: dict  # model attribute → value, only for what the row gives


class _RowValidator:
    """Checks imported rows one by one against stations loaded once, remembering ID numbers already seen."""

    def __init__(self, stations_by_code: dict[str, Station]):
        self.stations_by_code = stations_by_code
        self.first_line_of: dict[str, int] = {}
        self.problems: list[RowProblem] = []

    def check(self, line: int, row: Mapping) -> _CleanRow | None:
        checker = _Checker()
        values = {"name": checker.run("name", parse_name, row.get("name"))}
        number = checker.run("id_number", validate_id_number, row.get("id_number"))
        if number:
            if number in self.first_line_of:
                checker.refuse("id_number", "duplicate_in_file", f"身份证号与第 {self.first_line_of[number]} 行重复")
            else:
                self.first_line_of[number] = line
            values["id_number"] = number
        values["categories"] = checker.run("categories", parse_categories, row.get("categories"))
        gender = checker.run("gender", parse_gender, row.get("gender"))
        birth_date = checker.run("birth_date", parse_date, row.get("birth_date"))
        if number:
            values["gender"] = gender or gender_from_id_number(number)
            values["birth_date"] = birth_date or birth_date_from_id_number(number)
        station_code = _text(row.get("station_code"))
        station = self.stations_by_code.get(station_code)
        if station is None:
            message = f"未知社工站编码“{station_code}”" if station_code else "社工站编码不能为空"
            checker.refuse("station_code", "unknown_station" if station_code else "missing", message)
        if "lat" in row or "lon" in row:
            location = checker.run("lat", parse_home_location, row.get("lat"), row.get("lon"))
            values["home_latitude"], values["home_longitude"] = location or (None, None)
        if "address" in row:
            values["address"] = checker.run("address", _bounded_text, row["address"], MAX_ADDRESS_LENGTH, "地址")
        if "phone" in row:
            values["phone"] = checker.run("phone", parse_phone, row["phone"])
        if "risk_tier" in row:
            values["risk_tier"] = checker.run("risk_tier", parse_risk_tier, row["risk_tier"])
        village = None
        if "village" in row:
            village = checker.run("village", _bounded_text, row["village"], MAX_VILLAGE_LENGTH, "村/社区")
        for column, problem in checker.problems:
            self.problems.append(RowProblem(line, column, problem.code, problem.message))
        if checker.problems:
            return None
        values["name_initials"] = name_initials(values["name"])
        values["station"] = station
        return _CleanRow(line=line, station=station, village=village, values=values)


def _is_blank(row: Mapping) -> bool:
    return not any(_text(value) for value in row.values())


def _stations_by_code(codes: set[str]) -> dict[str, Station]:
    found, codes = {}, sorted(codes)
    for start in range(0, len(codes), LOOKUP_CHUNK):
        chunk = codes[start:start + LOOKUP_CHUNK]
        found.update((station.code, station) for station in db.session.scalars(
            select(Station).where(Station.code.in_(chunk))))
    return found


def _existing_by_id_number(numbers: list[str]) -> dict[str, Beneficiary]:
    found = {}
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        chunk = numbers[start:start + LOOKUP_CHUNK]
        found.update((person.id_number, person) for person in db.session.scalars(
            select(Beneficiary).where(Beneficiary.id_number.in_(chunk))))
    return found


def _service_points_by_village(station_ids: set[int]) -> dict[tuple[int, str], ServicePoint]:
    points = db.session.scalars(select(ServicePoint).where(ServicePoint.station_id.in_(sorted(station_ids))))
    return {(point.station_id, point.name): point for point in points}


def import_beneficiaries(records: Iterable[tuple[int, Mapping]], *, actor: User | None = None,
                         dry_run: bool = False, problems: Iterable[RowProblem] = ()) -> ImportReport:
    """Validate every row, then upsert them all by ID number in one transaction, or write nothing.

    records: (line number as the user sees it, {column: value}) with the CSV's column names; a column
    absent from a row's keys leaves that attribute of an existing person alone. problems: what the
    reader already found (undecodable lines), which also stop the import. Villages become service
    points of the row's station. Lookups are done in bulk, never one query per row. On a dry run the
    counts are computed and everything is rolled back.
    """
    _ensure_may_edit_registry(actor)
    report = ImportReport(dry_run=dry_run, errors=list(problems))
    rows = [(line, row) for line, row in records if not _is_blank(row)]
    validator = _RowValidator(_stations_by_code({_text(row.get("station_code")) for _, row in rows}))
    clean_rows = [clean for clean in (validator.check(line, row) for line, row in rows) if clean is not None]
    report.errors = sorted(report.errors + validator.problems, key=lambda problem: problem.line)
    if report.errors:
        return report
    try:
        _upsert(clean_rows, report)
        record_audit(actor, "beneficiaries_imported", None, rows=len(clean_rows), created=report.created,
                     updated=report.updated, unchanged=report.unchanged)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("导入时名册被同时修改，请重试", code="import_conflict") from None
    return report


# What a new person gets for a column the import does not give.
_NEW_PERSON_DEFAULTS = {"address": "", "phone": None, "home_latitude": None, "home_longitude": None,
                        "risk_tier": None, "service_point_id": None, "status": "active"}


def _column_values(values: dict) -> dict:
    """The validated values in table columns: objects become ids; categories live in their own table."""
    columns = {key: value for key, value in values.items() if key not in ("station", "service_point", "categories")}
    columns["station_id"] = values["station"].id
    if "service_point" in values:
        columns["service_point_id"] = values["service_point"].id if values["service_point"] else None
    return columns


def _upsert(rows: list[_CleanRow], report: ImportReport) -> None:
    """Write the rows with set-based statements: a roster of 10,000 people is a handful of batched statements.

    Going through one ORM object per person costs several times more, and an import runs while people wait.
    """
    existing = _existing_by_id_number([row.values["id_number"] for row in rows])
    points = _service_points_by_village({row.station.id for row in rows})
    inserts, updates, categories_of = [], [], {}
    for row in rows:
        values = dict(row.values)
        if row.village is not None:
            values["service_point"] = _service_point(points, row.station, row.village)
        person = existing.get(values["id_number"])
        if person is None:
            inserts.append(_NEW_PERSON_DEFAULTS | _column_values(values))
            categories_of[values["id_number"]] = values["categories"]
            report.created += 1
            continue
        changed = {key: value for key, value in values.items() if getattr(person, key) != value}
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        updates.append({"id": person.id, "updated_at": utcnow(), **_column_values(values)})
        if "categories" in changed:
            categories_of[person.id_number] = values["categories"]
    db.session.flush()
    ids = {number: person.id for number, person in existing.items()}
    if inserts:
        returned = db.session.execute(insert(Beneficiary).returning(Beneficiary.id, Beneficiary.id_number), inserts)
        ids.update((number, person_id) for person_id, number in returned)
    if updates:
        db.session.execute(update(Beneficiary), updates)
    _replace_categories({ids[number]: codes for number, codes in categories_of.items()})
    # The rows changed under the session's feet: loaded people must be read again.
    db.session.expire_all()


def _replace_categories(categories_by_person: dict[int, list[str]]) -> None:
    person_ids = sorted(categories_by_person)
    for start in range(0, len(person_ids), LOOKUP_CHUNK):
        chunk = person_ids[start:start + LOOKUP_CHUNK]
        db.session.execute(delete(BeneficiaryCategory).where(BeneficiaryCategory.beneficiary_id.in_(chunk)))
    rows = [{"beneficiary_id": person_id, "category": code}
            for person_id, codes in categories_by_person.items() for code in codes]
    if rows:
        db.session.execute(insert(BeneficiaryCategory), rows)


def _service_point(points: dict, station: Station, village: str) -> ServicePoint | None:
    if not village:
        return None
    key = (station.id, village)
    if key not in points:
        points[key] = ensure_service_point(station, village)
    return points[key]


# --- CSV files ----------------------------------------------------------------------------------------------------


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _decode_lines(raw: bytes) -> tuple[list[str], set[int], str]:
    """Decode line by line as UTF-8 (BOM or not) or GB18030; return the lines, the undecodable ones, the encoding.

    Excel saves Chinese CSVs as UTF-8 with BOM or as GB18030. Almost any UTF-8 Chinese text is also
    "valid" GB18030 (as gibberish), so UTF-8 wins whenever most non-ASCII lines decode as UTF-8, and a
    damaged UTF-8 file is reported line by line instead of being imported as mojibake.
    """
    had_bom = raw.startswith(codecs.BOM_UTF8)
    lines = raw.removeprefix(codecs.BOM_UTF8).splitlines(keepends=True)
    non_ascii = [line for line in lines if not line.isascii()]
    utf8_lines = sum(_decodes(line, "utf-8") for line in non_ascii)
    encoding = "utf-8" if had_bom or utf8_lines * 2 >= len(non_ascii) else "gb18030"
    decoded, bad = [], set()
    for index, line in enumerate(lines):
        try:
            decoded.append(line.decode(encoding))
        except UnicodeDecodeError:
            bad.add(index)
            decoded.append(line.decode(encoding, errors="replace"))
    return decoded, bad, encoding


def read_beneficiary_csv(raw: bytes) -> tuple[list[tuple[int, dict]], list[RowProblem]]:
    """Parse a roster CSV into (line, {column: value}) records and the problems found while reading.

    Lines are spreadsheet rows (header = 1; a quoted value spanning lines counts once). Columns are
    matched by header name, in any order; the header must hold REQUIRED_CSV_COLUMNS.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [], [RowProblem(1, "", "encoding", "文件是 UTF-16 编码，请另存为“CSV UTF-8”或 GB18030 编码的 CSV")]
    lines, bad_lines, encoding = _decode_lines(raw)
    reader = csv.reader(lines)
    records, problems, header = [], [], None
    physical_start, line = 0, 0
    try:
        for values in reader:
            line += 1
            undecodable = any(index in bad_lines for index in range(physical_start, reader.line_num))
            physical_start = reader.line_num
            if undecodable:
                message = f"含有无法识别的字符（按 {encoding.upper()} 解码失败），请以 UTF-8 或 GB18030 保存"
                problems.append(RowProblem(line, "", "encoding", message))
                if header is None:
                    return [], problems
                continue
            if header is None:
                header = [value.strip().lstrip("\ufeff").lower() for value in values]
                missing = [column for column in REQUIRED_CSV_COLUMNS if column not in header]
                if missing:
                    return [], [RowProblem(1, "", "header", "表头缺少列：" + ", ".join(missing)
                                           + "（应为 " + ",".join(CSV_COLUMNS) + "）")]
                continue
            if len(values) > len(header) and any(value.strip() for value in values[len(header):]):
                message = f"有 {len(values)} 个字段，表头只有 {len(header)} 列（地址中的逗号需加引号）"
                problems.append(RowProblem(line, "", "too_many_fields", message))
                continue
            padded = values[:len(header)] + [""] * (len(header) - len(values))
            records.append((line, dict(zip(header, padded, strict=True))))
    except csv.Error as error:
        problems.append(RowProblem(line + 1, "", "csv_format", f"CSV 格式错误：{error}"))
    if header is None and not problems:
        problems.append(RowProblem(1, "", "header", "文件是空的"))
    return records, problems


def import_beneficiary_csv(raw: bytes, *, actor: User | None = None, dry_run: bool = False) -> ImportReport:
    """Import a roster CSV (UTF-8, UTF-8 with BOM or GB18030): every problem reported, or every row upserted."""
    records, problems = read_beneficiary_csv(raw)
    return import_beneficiaries(records, actor=actor, dry_run=dry_run, problems=problems)
