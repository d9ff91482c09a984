"""The bureau's report on the hand-computed city of report_fixture (June 2024), and its XLSX and CSV."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from extensions import db
from models import Visit
from services.errors import Invalid, NotFound
from services.reporting.reports import (
    COUNTY,
    FIGURE_COLUMNS,
    STATION,
    TOTAL,
    build_report,
    download_title,
    report_csv,
    report_scopes,
    report_xlsx,
)
from tests.services.reporting.report_fixture import add_visit, beijing, build_city

JUNE = (date(2024, 6, 1), date(2024, 6, 30))

# Hand-computed figures for June (visit numbers as in report_fixture):
# A: home visits #1 (1) + #2 (2, 00:30 on 1 June) + #8 (1, closed p5) = 4 人次; #10 (23:30 on 31 May) is May;
#    community #5; policy #9; epidemic #6 4.5 h (#7 is only submitted); people p1, p2, p5;
#    registered p1–p4, of whom p1, p2 served; villages 3, 2 with a point.
# B: case #11; hardship #15; disaster #16 18 h; #13 rejected and #14 returned count nothing;
#    people p6, p7; registered p6, p7 both served; villages 2, 1 with a point.
# C: community #18 naming p9; people p9; registered p8, p9, p9 served; villages 2, both with a point.
EXPECTED = {
    "A": dict(approved_visits=6, home_visit_person_times=4, case_services=0, community_activities=1,
              policy_outreach=1, hardship_assistance=0, care_calls=0, disaster_relief_hours=0.0,
              epidemic_response_hours=4.5, people_served=3, registered=4, registered_served=2, villages=3,
              villages_with_point=2),
    "B": dict(approved_visits=3, home_visit_person_times=0, case_services=1, community_activities=0,
              policy_outreach=0, hardship_assistance=1, care_calls=0, disaster_relief_hours=18.0,
              epidemic_response_hours=0.0, people_served=2, registered=2, registered_served=2, villages=2,
              villages_with_point=1),
    "C": dict(approved_visits=1, home_visit_person_times=0, case_services=0, community_activities=1,
              policy_outreach=0, hardship_assistance=0, care_calls=0, disaster_relief_hours=0.0,
              epidemic_response_hours=0.0, people_served=1, registered=2, registered_served=1, villages=2,
              villages_with_point=2),
    "茂南区": dict(approved_visits=9, home_visit_person_times=4, case_services=1, community_activities=1,
                policy_outreach=1, hardship_assistance=1, care_calls=0, disaster_relief_hours=18.0,
                epidemic_response_hours=4.5, people_served=5, registered=6, registered_served=4, villages=5,
                villages_with_point=3),
    "电白区": dict(approved_visits=1, home_visit_person_times=0, case_services=0, community_activities=1,
                policy_outreach=0, hardship_assistance=0, care_calls=0, disaster_relief_hours=0.0,
                epidemic_response_hours=0.0, people_served=1, registered=2, registered_served=1, villages=2,
                villages_with_point=2),
    "city": dict(approved_visits=10, home_visit_person_times=4, case_services=1, community_activities=2,
                 policy_outreach=1, hardship_assistance=1, care_calls=0, disaster_relief_hours=18.0,
                 epidemic_response_hours=4.5, people_served=6, registered=8, registered_served=5, villages=7,
                 villages_with_point=5),
}


@pytest.fixture
def city(app):
    return build_city()


def _figures(row) -> dict:
    return {name: getattr(row, name) for name in EXPECTED["city"]}


def test_city_report_rows_per_station_county_and_total(city):
    report = build_report(city.admin, *JUNE, region_code="440900")
    stations = {row.code: row for row in report.stations}
    assert _figures(stations["440902001"]) == EXPECTED["A"]
    assert _figures(stations["440902002"]) == EXPECTED["B"]
    assert _figures(stations["440904001"]) == EXPECTED["C"]
    counties = {row.name: row for row in report.counties}
    assert _figures(counties["茂南区"]) == EXPECTED["茂南区"]
    assert _figures(counties["电白区"]) == EXPECTED["电白区"]
    assert _figures(report.total) == EXPECTED["city"]
    assert report.total.registry_coverage == 5 / 8
    assert report.total.village_coverage == 5 / 7
    assert stations["440902001"].parent_name == "茂南区"


def test_county_report_covers_only_that_county(city):
    report = build_report(city.admin, *JUNE, region_code="440904")
    assert [row.code for row in report.stations] == ["440904001"]
    assert _figures(report.total) == EXPECTED["电白区"]
    assert report.total.name == "电白区"


def test_station_report_by_station_code(city):
    report = build_report(city.admin, *JUNE, region_code="440902002")
    assert _figures(report.total) == EXPECTED["B"]


def test_total_reconciles_with_a_plain_count_of_approved_visits(city):
    report = build_report(city.admin, *JUNE)
    plain = db.session.scalar(
        select(func.count(Visit.id)).where(Visit.status == "approved", Visit.started_at >= beijing(6, 1, 0),
                                           Visit.started_at < beijing(7, 1, 0)))
    plain_home = db.session.scalar(
        select(func.sum(Visit.people_count)).where(Visit.status == "approved", Visit.kind == "home_visit",
                                                   Visit.started_at >= beijing(6, 1, 0),
                                                   Visit.started_at < beijing(7, 1, 0)))
    assert report.total.approved_visits == plain == 10
    assert report.total.home_visit_person_times == plain_home == 4
    assert sum(row.approved_visits for row in report.stations) == plain


def test_a_supervisor_report_is_limited_to_their_stations(city):
    report = build_report(city.supervisor_c, *JUNE, region_code="440900")
    assert [row.code for row in report.stations] == ["440904001"]
    assert _figures(report.total) == EXPECTED["C"]


def test_one_day_range_uses_the_local_calendar(city):
    report = build_report(city.admin, date(2024, 5, 31), date(2024, 5, 31))
    # Only #10 (23:30 Beijing on 31 May, 1 person); #2 at 00:30 on 1 June is not in it.
    assert (report.total.approved_visits, report.total.home_visit_person_times) == (1, 1)


def test_bad_ranges_and_unknown_regions_are_refused(city):
    with pytest.raises(Invalid):
        build_report(city.admin, date(2024, 6, 30), date(2024, 6, 1))
    with pytest.raises(NotFound):
        build_report(city.admin, *JUNE, region_code="999999")


def test_xlsx_reads_back_to_the_same_numbers(city):
    report = build_report(city.admin, *JUNE, region_code="440900")
    workbook = load_workbook(io.BytesIO(report_xlsx(report)))
    assert workbook.sheetnames == ["按社工站", "按县区", "合计"]
    headers = [header for _name, header, _format in FIGURE_COLUMNS]
    names = [name for name, _header, _format in FIGURE_COLUMNS]

    def figures_of(sheet, leading: int) -> dict[str, dict]:
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[1][leading:]) == headers
        return {row[1 if leading > 1 else 0]: dict(zip(names, row[leading:], strict=True))
                for row in rows[2:]}

    stations = figures_of(workbook["按社工站"], 3)
    assert {key: stations["乙镇社工站"][key] for key in EXPECTED["B"]} == EXPECTED["B"]
    counties = figures_of(workbook["按县区"], 2)
    assert {key: counties["茂南区"][key] for key in EXPECTED["茂南区"]} == EXPECTED["茂南区"]
    assert {key: counties["合计"][key] for key in EXPECTED["city"]} == EXPECTED["city"]
    total = figures_of(workbook["合计"], 1)
    assert {key: total["茂名市"][key] for key in EXPECTED["city"]} == EXPECTED["city"]
    assert total["茂名市"]["registry_coverage"] == pytest.approx(5 / 8)
    for value in total["茂名市"].values():
        assert isinstance(value, int | float) and not isinstance(value, bool)
    assert workbook["按社工站"].cell(row=3, column=4).data_type == "n"


def test_csv_has_a_bom_and_parses_to_the_same_numbers(city):
    report = build_report(city.admin, *JUNE, region_code="440900")
    data = report_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["层级"] for row in rows] == ["社工站"] * 3 + ["县/区"] * 2 + ["合计"]
    total = rows[-1]
    assert int(total["入户走访（人次）"]) == 4
    assert float(total["防汛救灾（小时）"]) == 18.0
    assert int(total["服务对象（人）"]) == 6
    # Shares are percentages, as on the page and in the XLSX (issue 11 §7), not bare fractions.
    assert total["服务对象覆盖率"] == "62.5%"
    assert total["服务点覆盖率"] == "71.4%"


@pytest.mark.parametrize("formula", ["=1+1", "+1+1", "-2+3", "@SUM(1)", "\t=1+1"])
def test_both_report_downloads_keep_formula_like_names_as_text(city, formula):
    city.station_a.name = formula
    db.session.commit()
    report = build_report(city.admin, *JUNE, region_code="440900")

    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    (station_a,) = [row for row in rows if row["层级"] == "社工站" and row["编码"] == "440902001"]
    assert station_a["名称"] == "'" + formula
    assert int(station_a["入户走访（人次）"]) == EXPECTED["A"]["home_visit_person_times"]

    sheet = load_workbook(io.BytesIO(report_xlsx(report)))["按社工站"]
    (name_cell,) = [row[1] for row in sheet.iter_rows(min_row=3) if row[0].value == "440902001"]
    assert (name_cell.value, name_cell.data_type) == (formula, "s")


def test_report_query_count_does_not_grow_with_visits(city, count_queries):
    with count_queries() as few:
        build_report(city.admin, *JUNE)
    for day in range(1, 20):
        add_visit(city.w_c, "home_visit", "approved", beijing(6, day), beneficiary=city.p8, reviewer=city.admin)
    db.session.commit()
    with count_queries() as many:
        report = build_report(city.admin, *JUNE)
    assert many.count == few.count
    assert report.total.approved_visits == 10 + 19


def test_rows_carry_codes_not_words(city):
    report = build_report(city.admin, *JUNE)
    assert {row.level for row in report.stations} == {STATION}
    assert {row.level for row in report.counties} == {COUNTY}
    assert report.total.level == TOTAL
    # The whole scope's total has no name of its own: the page and the downloads word it.
    assert report.total.name == "" and report.total.code == ""
    assert all(row.county_assigned for row in [*report.stations, *report.counties])


def test_stations_outside_any_county_are_flagged_not_named(city):
    city.station_c.region = None
    db.session.commit()
    report = build_report(city.admin, *JUNE)
    (unassigned,) = [row for row in report.counties if not row.county_assigned]
    assert (unassigned.code, unassigned.name) == ("", "")
    (station_c,) = [row for row in report.stations if row.code == "440904001"]
    assert (station_c.county_assigned, station_c.parent_name) == (False, "")
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert [row["名称"] for row in rows if row["层级"] == "县/区"] == ["茂南区", "未划分县区"]
    assert [row["所属县/区"] for row in rows if row["编码"] == "440904001"] == ["未划分县区"]
    assert rows[-1]["名称"] == "合计"


def test_a_whole_month_is_named_as_a_month_and_a_range_by_its_days(city):
    june = build_report(city.admin, *JUNE, region_code="440902")
    assert june.month == date(2024, 6, 1)
    assert download_title(june) == "茂南区 社会工作服务统计 2024年6月"
    part = build_report(city.admin, date(2024, 6, 3), date(2024, 6, 20), region_code="440902")
    assert part.month is None
    assert download_title(part) == "茂南区 社会工作服务统计 2024年6月3日至6月20日"
    across = build_report(city.admin, date(2023, 12, 1), date(2024, 1, 31))
    assert across.month is None
    assert download_title(across) == "全部 社会工作服务统计 2023年12月1日至2024年1月31日"


def test_a_total_that_repeats_the_one_county_is_left_out_of_the_downloads(city):
    report = build_report(city.admin, *JUNE, region_code="440902")
    assert report.total_repeats_a_row
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert [row["层级"] for row in rows] == ["社工站", "社工站", "县/区"]
    workbook = load_workbook(io.BytesIO(report_xlsx(report)))
    assert workbook["按社工站"]["A1"].value == "茂南区 社会工作服务统计 2024年6月"
    # Two stations: their sheet keeps its 合计; one county: its sheet does not repeat it.
    assert [row[1] for row in workbook["按社工站"].iter_rows(min_row=3, values_only=True)] == [
        "甲镇社工站", "乙镇社工站", "合计"]
    assert [row[1] for row in workbook["按县区"].iter_rows(min_row=3, values_only=True)] == ["茂南区"]
    assert [row[0] for row in workbook["合计"].iter_rows(min_row=3, values_only=True)] == ["茂南区"]
    city_report = build_report(city.admin, *JUNE, region_code="440900")
    assert not city_report.total_repeats_a_row


def test_xlsx_columns_are_as_wide_as_their_chinese_headers(city):
    workbook = load_workbook(io.BytesIO(report_xlsx(build_report(city.admin, *JUNE, region_code="440900"))))
    sheet = workbook["按社工站"]
    # 审核通过走访记录（条）: 11 wide characters, 2 units each, plus a margin; not sized on the long title row.
    assert sheet.column_dimensions["D"].width == 24
    assert sheet.column_dimensions["A"].width < 20


def test_report_scopes_are_codes_names_and_levels(city):
    scopes = report_scopes(city.admin)
    assert [(scope.code, scope.name, scope.level) for scope in scopes][:3] == [
        ("440900", "茂名市", "city"), ("440902", "茂南区", "county"), ("440904", "电白区", "county")]
    assert {scope.level for scope in scopes[3:]} == {"station"}
