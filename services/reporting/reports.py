"""The bureau's report for any date range: rows per station, per county and a total, as XLSX and CSV.

build_report returns codes and numbers (a row's level, whether a county is assigned, the period and the
scope's region); the admin page words them in its language, the downloads below in Chinese (they are the
bureau's forms, whatever language the page is in).

What is counted (approved visits only, by the local date they started, both ends of the range included):
- 入户走访人次: the sum of people_count of home visits (one visit to a household of two is 2 人次);
- 个案服务件, 社区活动场次, 政策宣传次, 困难帮扶次, 电话/视频探访次: the number of such visits;
- hours of 防汛救灾 and 疫情防控 duty: the sum of ended_at − started_at of those visits;
- 服务对象人数: distinct people named on those visits (closed ones included: they were served);
- the two 100% coverages: registered (active) people served in the range ÷ all registered, and
  villages/communities with a service point ÷ all villages under the townships in the report.
Visits belong to the station that recorded them, people to the station they are registered at,
villages to the township they are in. The report's scope is the user's (a supervisor their stations)
narrowed to one region — a city, a county or a township/station — by its code.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import Integer, and_, case, cast, exists, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased

from extensions import db
from models import Beneficiary, Region, ServicePoint, Station, User, Visit
from models.enums import DUTY_KINDS, BeneficiaryStatus, VisitStatus
from services.errors import Invalid, NotFound
from services.permissions import station_ids_in_scope
from services.registry.stations import stations_by_code
from services.reporting.schedules import epoch_seconds, local_midnight
from services.reporting.tables import append_xlsx_row, csv_bytes, fit_column_widths, xlsx_bytes

MAX_RANGE_DAYS = 366 * 3
# A row's level (ReportRow.level).
STATION, COUNTY, TOTAL = "station", "county", "total"
# The downloads' words for the row codes (the page words them in its own language: admin/reports.py).
DOWNLOAD_LEVEL_WORDS = {STATION: "社工站", COUNTY: "县/区", TOTAL: "合计"}
DOWNLOAD_NO_COUNTY = "未划分县区"
DOWNLOAD_ALL_STATIONS = "全部"

# (field, Chinese header, number format) of the figures, in the order of the spreadsheet columns.
FIGURE_COLUMNS = (
    ("approved_visits", "审核通过走访记录（条）", "0"),
    ("home_visit_person_times", "入户走访（人次）", "0"),
    ("case_services", "个案服务（件）", "0"),
    ("community_activities", "社区活动（场次）", "0"),
    ("policy_outreach", "政策宣传（次）", "0"),
    ("hardship_assistance", "困难帮扶（次）", "0"),
    ("care_calls", "电话/视频探访（次）", "0"),
    ("disaster_relief_hours", "防汛救灾（小时）", "0.00"),
    ("epidemic_response_hours", "疫情防控（小时）", "0.00"),
    ("people_served", "服务对象（人）", "0"),
    ("registered", "在册服务对象（人）", "0"),
    ("registered_served", "其中已服务（人）", "0"),
    ("registry_coverage", "服务对象覆盖率", "0.0%"),
    ("villages", "村/社区（个）", "0"),
    ("villages_with_point", "已建服务点的村/社区（个）", "0"),
    ("village_coverage", "服务点覆盖率", "0.0%"),
)
DUTY_HOUR_FIELDS = {"disaster_relief": "disaster_relief_hours", "epidemic_response": "epidemic_response_hours"}
COUNTED_KINDS = {
    "home_visit": "home_visit_person_times", "case_service": "case_services",
    "community_activity": "community_activities", "policy_outreach": "policy_outreach",
    "hardship_assistance": "hardship_assistance", "care_call": "care_calls",
}


@dataclass
class ReportRow:
    """The figures of one station, one county or the total.

    level is STATION, COUNTY or TOTAL. county_assigned is False for the stations whose township lies
    under no county, and for the county row that groups them (its code and name are then blank); the
    station rows' parent_name is their county's name (blank when unassigned).
    """

    level: str
    code: str
    name: str
    parent_name: str = ""
    county_assigned: bool = True
    approved_visits: int = 0
    home_visit_person_times: int = 0
    case_services: int = 0
    community_activities: int = 0
    policy_outreach: int = 0
    hardship_assistance: int = 0
    care_calls: int = 0
    disaster_relief_hours: float = 0.0
    epidemic_response_hours: float = 0.0
    people_served: int = 0
    registered: int = 0
    registered_served: int = 0
    villages: int = 0
    villages_with_point: int = 0

    @property
    def registry_coverage(self) -> float | None:
        return self.registered_served / self.registered if self.registered else None

    @property
    def village_coverage(self) -> float | None:
        return self.villages_with_point / self.villages if self.villages else None

    def add(self, other: ReportRow) -> None:
        """Add another row's additive figures (all but people_served, which is counted per level)."""
        for item in fields(self):
            if item.name not in {"level", "code", "name", "parent_name", "county_assigned", "people_served"}:
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass
class Report:
    """A report: its range and scope, and its rows at each level."""

    start: date
    end: date
    region: Region | None
    stations: list[ReportRow]
    counties: list[ReportRow]
    total: ReportRow

    @property
    def month(self) -> date | None:
        """The first day of the month when the range is exactly one calendar month, else None."""
        if self.start.day != 1 or (self.end + timedelta(days=1)).day != 1:
            return None
        return self.start if (self.start.year, self.start.month) == (self.end.year, self.end.month) else None

    @property
    def total_repeats_a_row(self) -> bool:
        """Whether the total only repeats the one county row (a county's or station's report): then it is left out
        of the table of stations and counties."""
        return len(self.counties) == 1


def build_report(user: User, start: date, end: date, region_code: str | None = None) -> Report:
    """The report of approved work from `start` to `end` (local dates, inclusive) in the user's scope.

    region_code narrows it to a city, a county or a township (a station's region) — or a station code.
    A fixed number of queries, whatever the volume.
    """
    if end < start:
        raise Invalid("结束日期不能早于开始日期", code="date_range_reversed", fields={"end": ["before start"]})
    if (end - start).days > MAX_RANGE_DAYS:
        raise Invalid("统计区间过长", code="date_range_too_long", params={"limit": MAX_RANGE_DAYS},
                      fields={"end": [f"at most {MAX_RANGE_DAYS} days"]})
    township, county, city = aliased(Region), aliased(Region), aliased(Region)
    region = _region_for(region_code) if region_code else None
    stations = (
        select(Station.id, Station.code, Station.name, township.id, county.id, county.code, county.name)
        .outerjoin(township, township.id == Station.region_id)
        .outerjoin(county, county.id == township.parent_id)
        .outerjoin(city, city.id == county.parent_id)
    )
    if region_code:
        stations = stations.where(or_(Station.code == region_code, township.code == region_code,
                                      county.code == region_code, city.code == region_code))
    in_scope = station_ids_in_scope(user)
    if in_scope is not None:
        stations = stations.where(Station.id.in_(in_scope))
    # Stations under no county last, on every database (SQLite sorts NULL first, PostgreSQL last).
    station_info = db.session.execute(stations.order_by(county.code.is_(None), county.code, Station.code)).all()
    if region_code and in_scope is not None and not station_info:
        # Zeros under another station's name would still tell what exists outside the user's scope.
        raise NotFound("行政区划不存在", code="region_not_found")
    station_ids = [row[0] for row in station_info]

    started_from, started_before = local_midnight(start), local_midnight(end + timedelta(days=1))
    approved = and_(Visit.status == VisitStatus.APPROVED, Visit.started_at >= started_from,
                    Visit.started_at < started_before, Visit.station_id.in_(station_ids))
    station_rows = {
        station_id: ReportRow(STATION, code, name, parent_name=county_name or "",
                              county_assigned=county_id is not None)
        for station_id, code, name, _township_id, county_id, _county_code, county_name in station_info
    }
    _add_visit_figures(station_rows, approved)
    people = _people_figures(station_ids, approved)
    for station_id, row in station_rows.items():
        row.registered = people.registered.get(station_id, 0)
        row.registered_served = people.registered_served.get(station_id, 0)
        row.people_served = people.served_by_station.get(station_id, 0)
    _add_village_figures(station_rows, station_info)

    county_rows: dict[int | None, ReportRow] = {}
    for station_id, _code, _name, _township_id, county_id, county_code, county_name in station_info:
        county_row = county_rows.setdefault(
            county_id, ReportRow(COUNTY, county_code or "", county_name or "", county_assigned=county_id is not None))
        county_row.add(station_rows[station_id])
    # The total is named after the region reported on; blank (worded "total" at the edge) for the whole scope.
    total = ReportRow(TOTAL, region.code if region else "", region.name if region else "")
    for row in county_rows.values():
        total.add(row)
    for county_id, row in county_rows.items():
        row.people_served = people.served_by_county.get(county_id, 0)
    total.people_served = people.served_in_total
    return Report(start=start, end=end, region=region, stations=list(station_rows.values()),
                  counties=list(county_rows.values()), total=total)


def _region_for(code: str) -> Region:
    region = db.session.scalar(select(Region).where(Region.code == code))
    if region is None:
        station = stations_by_code([code]).get(code)
        region = station.region if station is not None else None
        if station is not None and region is None:
            return Region(code=station.code, name=station.name, level="township")
    if region is None:
        raise NotFound("行政区划不存在", code="region_not_found")
    return region


def _add_visit_figures(rows: dict, approved) -> None:
    """Per-station sums and counts of approved visits by kind and duty hours (one query, hashed by station).

    Distinct people are counted apart (_people_figures): a DISTINCT among these sums would make the
    database sort every approved visit of the range.
    """
    duration = epoch_seconds(Visit.ended_at) - epoch_seconds(Visit.started_at)
    columns = [func.count(Visit.id)]
    for kind in COUNTED_KINDS:
        counted = Visit.people_count if kind == "home_visit" else literal(1)
        columns.append(func.coalesce(func.sum(case((Visit.kind == kind, counted), else_=0)), 0))
    for kind in sorted(DUTY_KINDS):
        columns.append(func.coalesce(func.sum(case((Visit.kind == kind, duration), else_=0)), 0))
    statement = select(Visit.station_id, *columns).where(approved).group_by(Visit.station_id)
    for station_id, visits, *figures in db.session.execute(statement):
        row = rows[station_id]
        row.approved_visits = visits
        counts, duty_seconds = figures[:len(COUNTED_KINDS)], figures[len(COUNTED_KINDS):]
        for field_name, value in zip(COUNTED_KINDS.values(), counts, strict=True):
            setattr(row, field_name, int(value))
        for kind, seconds in zip(sorted(DUTY_KINDS), duty_seconds, strict=True):
            setattr(row, DUTY_HOUR_FIELDS[kind], round(float(seconds) / 3600, 2))


def _add_village_figures(rows: dict, station_info) -> None:
    """Per-station villages under its township, and those with a service point."""
    township_to_station = {row[3]: row[0] for row in station_info if row[3] is not None}
    if not township_to_station:
        return
    with_point = exists().where(ServicePoint.region_id == Region.id)
    statement = (
        select(Region.parent_id, func.count(Region.id), func.count(case((with_point, Region.id))))
        .where(Region.level == "village", Region.parent_id.in_(list(township_to_station)))
        .group_by(Region.parent_id)
    )
    for township_id, villages, with_service_point in db.session.execute(statement):
        row = rows[township_to_station[township_id]]
        row.villages += villages
        row.villages_with_point += with_service_point


@dataclass
class _PeopleFigures:
    """The report's figures about people, per level."""

    registered: dict[int, int]
    registered_served: dict[int, int]
    served_by_station: dict[int, int]
    served_by_county: dict[int | None, int]
    served_in_total: int


def _people_figures(station_ids: list[int], approved) -> _PeopleFigures:
    """Registered people, those of them served, and distinct people served per station, county and in total.

    One statement, one pass over the range's approved visits: they are reduced to distinct (station,
    person) pairs once (a CTE), and every figure is an aggregate of those pairs or a semi-join on them.
    A person served by two stations counts once in their county and once in the total. (The former
    `count(CASE WHEN beneficiaries.id IN (SELECT visits.beneficiary_id ...))` degraded to people × visits
    once the visits outgrew the memory the planner may hash them in.)
    """
    township = aliased(Region)
    # Each pair carries the person's own station and status, so "registered and served" needs no second
    # look-up per person (a semi-join the planner cannot size on a CTE).
    pairs = (
        select(Visit.station_id, Visit.beneficiary_id, Beneficiary.station_id.label("home_station_id"),
               Beneficiary.status.label("home_status"))
        .join(Beneficiary, Beneficiary.id == Visit.beneficiary_id)
        .where(approved)
        .group_by(Visit.station_id, Visit.beneficiary_id, Beneficiary.station_id, Beneficiary.status)
        .cte("served_pairs")
    )
    no_key = cast(null(), Integer)
    statement = union_all(
        select(literal("registered"), Beneficiary.station_id, func.count(Beneficiary.id))
        .where(Beneficiary.status == BeneficiaryStatus.ACTIVE, Beneficiary.station_id.in_(station_ids))
        .group_by(Beneficiary.station_id),
        select(literal("registered_served"), pairs.c.home_station_id, func.count(func.distinct(pairs.c.beneficiary_id)))
        .where(pairs.c.home_status == BeneficiaryStatus.ACTIVE, pairs.c.home_station_id.in_(station_ids))
        .group_by(pairs.c.home_station_id),
        select(literal("station"), pairs.c.station_id, func.count()).group_by(pairs.c.station_id),
        select(literal("county"), township.parent_id, func.count(func.distinct(pairs.c.beneficiary_id)))
        .select_from(pairs)
        .join(Station, Station.id == pairs.c.station_id)
        .outerjoin(township, township.id == Station.region_id)
        .group_by(township.parent_id),
        select(literal("total"), no_key, func.count(func.distinct(pairs.c.beneficiary_id))).select_from(pairs),
    )
    by_level: dict[str, dict] = {"registered": {}, "registered_served": {}, "station": {}, "county": {}, "total": {}}
    for level, key, count in db.session.execute(statement):
        by_level[level][key] = count
    return _PeopleFigures(registered=by_level["registered"], registered_served=by_level["registered_served"],
                          served_by_station=by_level["station"], served_by_county=by_level["county"],
                          served_in_total=sum(by_level["total"].values()))


# --- downloads (in Chinese: the bureau's forms) -------------------------------------------------------

def download_title(report: Report) -> str:
    """The downloads' title: scope and period, e.g. 茂南区 社会工作服务统计 2026年11月."""
    scope = report.region.name if report.region is not None else DOWNLOAD_ALL_STATIONS
    if report.month is not None:
        period = f"{report.start.year}年{report.start.month}月"
    else:
        end = f"{report.end.month}月{report.end.day}日"
        if report.end.year != report.start.year:
            end = f"{report.end.year}年{end}"
        period = f"{report.start.year}年{report.start.month}月{report.start.day}日至{end}"
    return f"{scope} 社会工作服务统计 {period}"


def _download_name(row: ReportRow) -> str:
    if row.level == TOTAL:
        return row.name or DOWNLOAD_LEVEL_WORDS[TOTAL]
    if row.level == COUNTY and not row.county_assigned:
        return DOWNLOAD_NO_COUNTY
    return row.name


def _download_parent(row: ReportRow) -> str:
    return row.parent_name if row.county_assigned else DOWNLOAD_NO_COUNTY


def _figure_values(row: ReportRow) -> list:
    return [getattr(row, name) for name, _header, _format in FIGURE_COLUMNS]


def _csv_figure(value, number_format: str):
    """A figure as the CSV shows it: shares as percentages (62.5%, as on the page and in the XLSX), hours as is."""
    if number_format.endswith("%"):
        return "" if value is None else f"{value * 100:.1f}%"
    return round(value, 2) if isinstance(value, float) else value


def report_xlsx(report: Report) -> bytes:
    """The report as an XLSX workbook: a sheet per level (each with its 合计 row) and a totals sheet.

    A level's 合计 row is left out when the sheet has a single row (it would only repeat it). Figures
    are numeric cells (ratios as fractions shown as percentages), never text.
    """
    workbook = Workbook()
    title = download_title(report)
    sheets = (("按社工站", report.stations, ["社工站编码", "社工站", "所属县/区"]),
              ("按县区", report.counties, ["县/区编码", "县/区"]),
              ("合计", [], ["范围"]))
    for index, (sheet_title, rows, leading_headers) in enumerate(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = sheet_title
        append_xlsx_row(sheet, [title])
        append_xlsx_row(sheet, [*leading_headers, *(header for _name, header, _format in FIGURE_COLUMNS)])
        for row in rows:
            leading = [row.code, _download_name(row), _download_parent(row)][:len(leading_headers)]
            append_xlsx_row(sheet, [*leading, *_figure_values(row)])
        if len(rows) != 1:
            total_leading = ([report.total.code, DOWNLOAD_LEVEL_WORDS[TOTAL], ""] if rows
                             else [_download_name(report.total)])[:len(leading_headers)]
            append_xlsx_row(sheet, [*total_leading, *_figure_values(report.total)])
        for column_offset, (_name, _header, number_format) in enumerate(FIGURE_COLUMNS):
            for (cell,) in sheet.iter_rows(min_row=3, min_col=len(leading_headers) + column_offset + 1,
                                           max_col=len(leading_headers) + column_offset + 1):
                cell.number_format = number_format
        sheet.freeze_panes = sheet.cell(row=3, column=len(leading_headers) + 1)
        # The title row spans the table; only the header and the rows size the columns.
        fit_column_widths(sheet, min_row=2)
    return xlsx_bytes(workbook)


def report_csv(report: Report) -> bytes:
    """The report as CSV in UTF-8 with a BOM (so Excel reads the Chinese): stations, counties, then the total.

    The total is left out when it would only repeat the one county row; shares are percentages (62.5%).
    """
    headers = ["层级", "编码", "名称", "所属县/区", *(header for _name, header, _format in FIGURE_COLUMNS)]
    rows = [*report.stations, *report.counties, *([] if report.total_repeats_a_row else [report.total])]
    return csv_bytes(headers, (
        [DOWNLOAD_LEVEL_WORDS[row.level], row.code, _download_name(row),
         _download_parent(row) if row.level == STATION else "",
         *(_csv_figure(getattr(row, name), number_format) for name, _header, number_format in FIGURE_COLUMNS)]
        for row in rows))


@dataclass(frozen=True)
class ReportScope:
    """A region a user may report on: its code, its name and its level (city, county or station)."""

    code: str
    name: str
    level: str


def report_scopes(user: User) -> list[ReportScope]:
    """The regions a user may report on: cities, counties and stations in their scope, in that order."""
    township, county, city = aliased(Region), aliased(Region), aliased(Region)
    statement = (
        select(Station.code, Station.name, county.code, county.name, city.code, city.name)
        .outerjoin(township, township.id == Station.region_id)
        .outerjoin(county, county.id == township.parent_id)
        .outerjoin(city, city.id == county.parent_id)
        .order_by(city.code, county.code, Station.code)
    )
    in_scope = station_ids_in_scope(user)
    if in_scope is not None:
        statement = statement.where(Station.id.in_(in_scope))
    cities, counties, stations = {}, {}, {}
    for station_code, station_name, county_code, county_name, city_code, city_name in db.session.execute(statement):
        if city_code:
            cities[city_code] = ReportScope(city_code, city_name or city_code, "city")
        if county_code:
            counties[county_code] = ReportScope(county_code, county_name or county_code, "county")
        stations[station_code] = ReportScope(station_code, station_name, "station")
    return [*cities.values(), *counties.values(), *stations.values()]
