"""Bulk import of the registry: validate every row, then write all or nothing (create or update by ID number).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Beneficiary, BeneficiaryCategory, ServicePoint, Station, User, id_numbers, utcnow
from models.enums import BeneficiaryStatus
from services.audit import record_audit
from services.errors import Conflict
from services.permissions import ensure_can_edit_registry
from services.registry.fields import (
    MAX_ADDRESS_LENGTH,
    MAX_VILLAGE_LENGTH,
    bounded_text,
    clean_text,
    fill_from_id_number,
    name_initials,
    parse_categories,
    parse_date,
    parse_gender,
    parse_home_location,
    parse_name,
    parse_phone,
    parse_risk_tier,
    validate_id_number,
)
from services.registry.stations import ensure_service_point, stations_by_code
from services.reporting.schedule_state import refresh_schedule_state
from services.validation import FieldErrors

CSV_COLUMNS = ("name", "id_number", "gender", "birth_date", "categories", "station_code", "village", "address",
               "lat", "lon", "phone")
# Columns a file may leave out entirely; an absent column leaves the stored value of re-imported people alone.
REQUIRED_CSV_COLUMNS = ("name", "id_number", "categories", "station_code")
# Rows per IN (...) lookup: far below SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 500
# People whose changes the check step spells out; the rest of the updated people are only counted.
CHANGES_PREVIEW_LIMIT = 50
# New villages named in an import's audit event (the first ones, when a county's first roster names more).
MAX_AUDITED_SERVICE_POINTS = 500


@dataclass(frozen=True)
class RowProblem:
    """One problem of an imported file: the spreadsheet line (header = 1), the column, why.

    `code` and `params` (the values it is about) are what the admin words in the page's language
    (admin/messages.roster_problem_text); `message` is the Chinese sentence the CLI prints.
    """

    line: int
    column: str
    code: str
    message: str
    params: Mapping = field(default_factory=dict)

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" [{self.column}]" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class NewServicePoint:
    """A village the file names that its station does not have yet: the import would create it."""

    station_code: str
    station_name: str
    village: str
    rows: int  # how many rows of the file name it
    first_line: int

    @property
    def key(self) -> tuple[str, str]:
        """What a confirmation names: the station's code and the village's name."""
        return self.station_code, self.village


@dataclass(frozen=True)
class FieldChange:
    """One field of an existing person the import changes, as stored values (codes, dates, names), not words."""

    field: str  # name, categories, gender, birth_date, station, service_point, address, home_location, phone, risk_tier
    old: object
    new: object


@dataclass(frozen=True)
class PersonChanges:
    """What the import changes for one existing person (the ID number only masked)."""

    line: int
    name: str
    id_number_masked: str
    changes: tuple[FieldChange, ...]


@dataclass
class ImportReport:
    """The outcome of an import: counts when it was written (or would be, on a dry run), else every problem.

    new_service_points: the villages the file would create. unconfirmed_service_points: when the import was
    given confirmations, the new villages missing from them; the import then wrote nothing (`refused`).
    changes: what changes for the first CHANGES_PREVIEW_LIMIT updated people, in file order.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False
    new_service_points: list[NewServicePoint] = field(default_factory=list)
    unconfirmed_service_points: list[NewServicePoint] = field(default_factory=list)
    changes: list[PersonChanges] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def refused(self) -> bool:
        """Whether a clean file was not written because a village it would create was not confirmed."""
        return bool(self.unconfirmed_service_points)

    @property
    def changes_not_listed(self) -> int:
        """Updated people beyond the preview."""
        return self.updated - len(self.changes)


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
        checker = FieldErrors("名册行有误")
        values = {"name": checker.run("name", parse_name, row.get("name"))}
        number = checker.run("id_number", validate_id_number, row.get("id_number"))
        if number:
            if number in self.first_line_of:
                first_line = self.first_line_of[number]
                checker.add("id_number", f"身份证号与第 {first_line} 行重复", "duplicate_in_file",
                            {"first_line": first_line})
            else:
                self.first_line_of[number] = line
            values["id_number"] = number
        values["categories"] = checker.run("categories", parse_categories, row.get("categories"))
        values["gender"] = checker.run("gender", parse_gender, row.get("gender"))
        values["birth_date"] = checker.run("birth_date", parse_date, row.get("birth_date"))
        fill_from_id_number(values, number)
        station_code = clean_text(row.get("station_code"))
        station = self.stations_by_code.get(station_code)
        if station is None:
            if station_code:
                checker.add("station_code", f"未知社工站编码“{station_code}”", "unknown_station",
                            {"value": station_code})
            else:
                checker.add("station_code", "社工站编码不能为空", "missing")
        if "lat" in row or "lon" in row:
            location = checker.run("lat", parse_home_location, row.get("lat"), row.get("lon"))
            values["home_latitude"], values["home_longitude"] = location or (None, None)
        if "address" in row:
            values["address"] = checker.run("address", bounded_text, row["address"], MAX_ADDRESS_LENGTH, "地址")
        if "phone" in row:
            values["phone"] = checker.run("phone", parse_phone, row["phone"])
        if "risk_tier" in row:
            values["risk_tier"] = checker.run("risk_tier", parse_risk_tier, row["risk_tier"])
        village = None
        if "village" in row:
            village = checker.run("village", bounded_text, row["village"], MAX_VILLAGE_LENGTH, "村/社区")
        self.problems.extend(RowProblem(line, error.field, error.code, error.message, error.params)
                             for error in checker.errors)
        if checker:
            return None
        values["name_initials"] = name_initials(values["name"])
        values["station"] = station
        return _CleanRow(line=line, station=station, village=village, values=values)


def _is_blank(row: Mapping) -> bool:
    return not any(clean_text(value) for value in row.values())


def _existing_by_id_number(numbers: list[str]) -> dict[str, Beneficiary]:
    found = {}
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        chunk = numbers[start:start + LOOKUP_CHUNK]
        found.update((id_numbers.normalise(person.id_number), person) for person in db.session.scalars(
            select(Beneficiary).where(Beneficiary.id_number.in_(chunk))))
    return found


def _service_points_by_village(station_ids: set[int]) -> dict[tuple[int, str], ServicePoint]:
    points = db.session.scalars(select(ServicePoint).where(ServicePoint.station_id.in_(sorted(station_ids))))
    return {(point.station_id, point.name): point for point in points}


def import_beneficiaries(records: Iterable[tuple[int, Mapping]], *, actor: User | None = None,
                         dry_run: bool = False, problems: Iterable[RowProblem] = (),
                         confirmed_service_points: Collection[tuple[str, str]] | None = None) -> ImportReport:
    """Validate every row, then upsert them all by ID number in one transaction, or write nothing.

    records: (line number as the user sees it, {column: value}) with the CSV's column names; a column
    absent from a row's keys leaves that attribute of an existing person alone. problems: what the
    reader already found (undecodable lines), which also stop the import. Villages become service
    points of the row's station. Lookups are done in bulk, never one query per row. On a dry run the
    counts are computed and everything is rolled back.

    confirmed_service_points: None creates every new village (the CLI, whose dry run lists them); else the
    (station code, village) pairs a person confirmed, and a new village of the file missing from them
    refuses the whole import: a typo in a village's name must not create a village. The file's own list
    is what counts, so a confirmation of a village the file does not need creates nothing.
    """
    ensure_can_edit_registry(actor)
    report = ImportReport(dry_run=dry_run, errors=list(problems))
    rows = [(line, row) for line, row in records if not _is_blank(row)]
    validator = _RowValidator(stations_by_code(clean_text(row.get("station_code")) for _, row in rows))
    clean_rows = [clean for clean in (validator.check(line, row) for line, row in rows) if clean is not None]
    report.errors = sorted(report.errors + validator.problems, key=lambda problem: problem.line)
    if report.errors:
        return report
    try:
        _upsert(clean_rows, report, confirmed_service_points)
        # Which villages the import created, so that who confirmed a new village can be looked up.
        record_audit(actor, "beneficiaries_imported", None, rows=len(clean_rows), created=report.created,
                     updated=report.updated, unchanged=report.unchanged,
                     service_points_created=[list(point.key) for point in
                                             report.new_service_points[:MAX_AUDITED_SERVICE_POINTS]])
        if dry_run or report.refused:
            # A dry run is the whole import, then discarded: the counts are exactly what a real run would write.
            db.session.rollback()
        else:
            db.session.commit()
    except IntegrityError:
        raise Conflict("导入时名册被同时修改，请重试", code="import_conflict") from None
    return report


# What a new person gets for a column the import does not give.
_NEW_PERSON_DEFAULTS = {"address": "", "phone": None, "home_latitude": None, "home_longitude": None,
                        "risk_tier": None, "service_point_id": None, "status": BeneficiaryStatus.ACTIVE}


def _column_values(values: dict) -> dict:
    """The validated values in table columns: objects become ids; categories live in their own table."""
    columns = {key: value for key, value in values.items()
               if key not in ("station", "service_point", "categories", "id_number")}
    if "id_number" in values:
        columns.update(id_numbers.stored_columns(values["id_number"]))
    columns["station_id"] = values["station"].id
    if "service_point" in values:
        columns["service_point_id"] = values["service_point"].id if values["service_point"] else None
    return columns


def _new_service_points(rows: list[_CleanRow], points: dict) -> list[NewServicePoint]:
    """The villages the rows name that their station lacks, in the order the file first names them."""
    first_line, counts, stations = {}, {}, {}
    for row in rows:
        if not row.village or (row.station.id, row.village) in points:
            continue
        key = (row.station.code, row.village)
        first_line.setdefault(key, row.line)
        counts[key] = counts.get(key, 0) + 1
        stations[key] = row.station
    return [NewServicePoint(station_code=code, station_name=stations[code, village].name, village=village,
                            rows=counts[code, village], first_line=line)
            for (code, village), line in first_line.items()]


def _upsert(rows: list[_CleanRow], report: ImportReport,
            confirmed_service_points: Collection[tuple[str, str]] | None) -> None:
    """Write the rows with set-based statements: a roster of 10,000 people is a handful of batched statements.

    Going through one ORM object per person costs several times more, and an import runs while people wait.
    """
    existing = _existing_by_id_number([row.values["id_number"] for row in rows])
    points = _service_points_by_village({row.station.id for row in rows})
    report.new_service_points = _new_service_points(rows, points)
    if confirmed_service_points is not None:
        confirmed = set(confirmed_service_points)
        report.unconfirmed_service_points = [point for point in report.new_service_points
                                             if point.key not in confirmed]
    inserts, updates, categories_of, previews = [], [], {}, []
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
        changed = _changed_fields(person, values)
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        updates.append({"id": person.id, "updated_at": utcnow(), **_column_values(values)})
        if "categories" in changed:
            categories_of[person.id_number] = values["categories"]
        if len(previews) < CHANGES_PREVIEW_LIMIT:
            previews.append((row, person, changed))
    report.changes = _describe_changes(previews)
    db.session.flush()
    ids = {number: person.id for number, person in existing.items()}
    inserted_ids = []
    if inserts:
        number_of = {id_numbers.lookup_hmac(number): number for number in categories_of if isinstance(number, str)}
        returned = db.session.execute(insert(Beneficiary).returning(Beneficiary.id, Beneficiary.id_number_hmac),
                                      inserts)
        for person_id, digest in returned:
            ids[number_of[digest]] = person_id
            inserted_ids.append(person_id)
    if updates:
        db.session.execute(update(Beneficiary), updates)
    _replace_categories({ids[number]: codes for number, codes in categories_of.items()})
    # Set-based writes pass the flush listeners by: new people and changed ones get their schedule state here.
    refresh_schedule_state([*inserted_ids, *(row["id"] for row in updates)])
    # The rows changed under the session's feet: loaded people must be read again.
    db.session.expire_all()


# Values compared but never shown: the ID number is the key the person was found by, initials follow the name.
_NOT_SHOWN = ("id_number", "name_initials")


def _changed_fields(person: Beneficiary, values: dict) -> dict[str, tuple[object, object]]:
    """{attribute: (stored, imported)} for what differs. Stations and villages compare by id: no lazy loads."""
    changed = {}
    for key, value in values.items():
        if key == "station":
            stored, value = person.station_id, value.id
        elif key == "service_point":
            stored, value = person.service_point_id, value.id if value is not None else None
        elif key == "id_number":
            continue  # the person was found by it
        else:
            stored = getattr(person, key)
        if stored != value:
            changed[key] = (stored, value)
    return changed


def _describe_changes(previews: list[tuple[_CleanRow, Beneficiary, dict]]) -> list[PersonChanges]:
    """The previewed people's changes with stations and villages by name: two lookups for the whole preview."""
    station_ids = {side for _, _, changed in previews if "station" in changed for side in changed["station"]}
    point_ids = {side for _, _, changed in previews if "service_point" in changed
                 for side in changed["service_point"] if side is not None}
    station_names = dict(db.session.execute(select(Station.id, Station.name).where(Station.id.in_(station_ids)))
                         .all()) if station_ids else {}
    point_names = dict(db.session.execute(select(ServicePoint.id, ServicePoint.name)
                                          .where(ServicePoint.id.in_(point_ids))).all()) if point_ids else {}
    described = []
    for row, person, changed in previews:
        field_changes = []
        for key, (old, new) in changed.items():
            if key in _NOT_SHOWN or key in ("home_latitude", "home_longitude"):
                continue
            if key == "station":
                old, new = station_names.get(old), station_names.get(new)
            elif key == "service_point":
                old, new = point_names.get(old), point_names.get(new)
            elif key == "categories":
                old, new = tuple(old), tuple(new)
            field_changes.append(FieldChange(key, old, new))
        if "home_latitude" in changed or "home_longitude" in changed:
            old = (person.home_latitude, person.home_longitude)
            new = (row.values.get("home_latitude"), row.values.get("home_longitude"))
            field_changes.append(FieldChange("home_location", None if old[0] is None else old,
                                             None if new[0] is None else new))
        if not field_changes:
            continue  # only the stored pinyin initials differ: counted as updated, nothing to show
        described.append(PersonChanges(line=row.line, name=row.values["name"],
                                       id_number_masked=person.id_number_masked,
                                       changes=tuple(sorted(field_changes, key=_field_order))))
    return described


_FIELD_ORDER = ("name", "gender", "birth_date", "categories", "risk_tier", "station", "service_point", "address",
                "home_location", "phone")


def _field_order(change: FieldChange) -> int:
    return _FIELD_ORDER.index(change.field) if change.field in _FIELD_ORDER else len(_FIELD_ORDER)


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


