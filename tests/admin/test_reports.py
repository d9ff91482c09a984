"""The dashboard, report and schedule pages driven over HTTP as a logged-in supervisor or admin."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from extensions import db
from models import AuditEvent, CategorySchedule
from tests.admin.conftest import csrf_token_from
from tests.factories import make_supervisor, make_worker
from tests.services.reporting.report_fixture import build_city


@pytest.fixture
def city(app):
    return build_city()


JUNE = {"start": "2024-06-01", "end": "2024-06-30"}


def switch_language(client, locale: str):
    token = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/language", data={"locale": locale, "next": "/admin/reports/", "csrf_token": token})


def test_pages_are_closed_to_anonymous_visitors(client, city):
    for url in ("/admin/dashboard/", "/admin/reports/", "/admin/schedules/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_dashboard_renders_scoped_figures_and_svg_charts(client, login_as, city):
    login_as(city.supervisor_c)
    page = client.get("/admin/dashboard/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "丙镇社工站" in html and "甲镇社工站" not in html and "乙镇社工站" not in html
    assert html.count("<svg") == 2 and "<script src=\"http" not in html
    assert city.p9.name in html and city.p4.name not in html


def test_report_page_shows_the_city_total(client, login_as, city):
    login_as(city.admin)
    html = client.get("/admin/reports/", query_string={**JUNE, "region": "440900"}).get_data(as_text=True)
    total = html[html.index('data-level="total"'):]
    assert re.search(r'data-field="home_visit_person_times">4<', total)
    assert re.search(r'data-field="disaster_relief_hours">18.00<', total)
    assert re.search(r'data-field="registry_coverage">62.5%<', total)


def test_report_downloads_xlsx_and_csv(client, login_as, city):
    login_as(city.admin)
    response = client.get("/admin/reports/", query_string={**JUNE, "region": "440900", "format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    workbook = load_workbook(io.BytesIO(response.data))
    total_sheet = list(workbook["合计"].iter_rows(values_only=True))
    assert total_sheet[2][0] == "茂名市" and total_sheet[2][2] == 4
    response = client.get("/admin/reports/", query_string={**JUNE, "format": "csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[-1]["社区活动（场次）"] == "2"


def test_a_month_is_reported_from_its_first_to_its_last_day_and_named_as_a_month(client, login_as, city):
    login_as(city.admin)
    by_month = client.get("/admin/reports/", query_string={"month": "2024-06", "region": "440902"})
    html = by_month.get_data(as_text=True)
    assert by_month.status_code == 200
    assert '<h2 class="h5" id="report-title">茂南区 社会工作服务统计 2024年6月</h2>' in html
    # Both forms show the period: the month, and its first and last day.
    assert 'name="month" value="2024-06"' in html
    assert 'name="start" value="2024-06-01"' in html and 'name="end" value="2024-06-30"' in html
    by_range = client.get("/admin/reports/", query_string={**JUNE, "region": "440902"}).get_data(as_text=True)
    assert _table(by_range) == _table(html)
    part = client.get("/admin/reports/", query_string={"start": "2024-06-03", "end": "2024-06-20"})
    assert "全部社工站 社会工作服务统计 2024年6月3日至6月20日" in part.get_data(as_text=True)
    download = client.get("/admin/reports/", query_string={"month": "2024-06", "region": "440902", "format": "xlsx"})
    assert load_workbook(io.BytesIO(download.data))["合计"]["A1"].value == "茂南区 社会工作服务统计 2024年6月"
    bad_month = client.get("/admin/reports/", query_string={"month": "2024-13"})
    assert bad_month.status_code == 422 and "请选择月份（例如 2026-11）。" in bad_month.get_data(as_text=True)
    bad_date = client.get("/admin/reports/", query_string={"start": "June", "end": "2024-06-30"})
    assert bad_date.status_code == 422 and "日期格式不正确。" in bad_date.get_data(as_text=True)


def _table(html: str) -> str:
    return html[html.index('<table class="table table-sm table-bordered small" id="report">'):html.index("</table>")]


def test_no_total_row_when_it_repeats_the_one_county(client, login_as, city):
    login_as(city.admin)
    county = client.get("/admin/reports/", query_string={**JUNE, "region": "440902"}).get_data(as_text=True)
    assert 'data-level="total"' not in county and county.count('data-level="county"') == 1
    whole = client.get("/admin/reports/", query_string=JUNE).get_data(as_text=True)
    assert whole.count('data-level="total"') == 1


def test_the_english_page_words_the_codes_and_the_downloads_stay_chinese(client, login_as, city):
    city.station_c.region = None
    db.session.commit()
    login_as(city.admin)
    switch_language(client, "en")
    html = client.get("/admin/reports/", query_string={"month": "2024-06"}).get_data(as_text=True)
    assert "All stations social work service statistics, June 2024" in html
    assert ">No county<" in html and "未划分县区" not in html
    assert re.search(r'data-level="total"[^>]*><td class="text-nowrap">Total</td><td class="text-nowrap">Total<', html)
    assert "合计" not in html
    assert "Maoming" not in html and "茂名市 (City)" in html and "甲镇社工站 (Station)" in html
    ranged = client.get("/admin/reports/", query_string={"start": "2024-06-03", "end": "2024-06-20"})
    assert "Jun 3 to Jun 20, 2024" in ranged.get_data(as_text=True)
    response = client.get("/admin/reports/", query_string={"month": "2024-06", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [row["名称"] for row in rows if row["层级"] == "县/区"] == ["茂南区", "未划分县区"]
    assert rows[-1]["层级"] == "合计" and rows[-1]["名称"] == "合计"


def test_the_scope_picker_names_each_level_in_chinese(client, login_as, city):
    login_as(city.admin)
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert "茂名市（市）" in html and "茂南区（县/区）" in html and "甲镇社工站（社工站）" in html


def test_bad_report_input_is_a_422_page(client, login_as, city):
    login_as(city.admin)
    response = client.get("/admin/reports/", query_string={"start": "2024-06-30", "end": "2024-06-01"})
    assert response.status_code == 422
    assert "结束日期不能早于开始日期" in response.get_data(as_text=True)
    assert client.get("/admin/reports/", query_string={"start": "June"}).status_code == 422
    assert client.get("/admin/reports/", query_string={**JUNE, "region": "000000"}).status_code == 404


def test_supervisor_report_excludes_other_stations(client, login_as, city):
    login_as(city.supervisor_c)
    response = client.get("/admin/reports/", query_string={**JUNE, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [row["名称"] for row in rows if row["层级"] == "社工站"] == ["丙镇社工站"]


def test_admin_edits_a_schedule_and_it_is_audited(client, login_as, city):
    login_as(city.admin)
    listing = client.get("/admin/schedules/").get_data(as_text=True)
    assert "特困" in listing and "事实无人抚养儿童" in listing
    schedule = db.session.scalar(select(CategorySchedule).where(CategorySchedule.category == "tekun"))
    edit_url = f"/admin/schedules/edit/?id={schedule.id}"
    token = csrf_token_from(client.get(edit_url).get_data(as_text=True))
    response = client.post(edit_url, data={"interval_days": "14", "csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CategorySchedule, schedule.id).interval_days == 14
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "schedule_changed"))
    assert event.actor_id == city.admin.id


def test_an_out_of_range_schedule_is_refused(client, login_as, city):
    login_as(city.admin)
    client.get("/admin/schedules/")
    schedule = db.session.scalar(select(CategorySchedule).where(CategorySchedule.category == "tekun"))
    edit_url = f"/admin/schedules/edit/?id={schedule.id}"
    token = csrf_token_from(client.get(edit_url).get_data(as_text=True))
    client.post(edit_url, data={"interval_days": "0", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(CategorySchedule, schedule.id).interval_days == 30


def test_supervisors_may_not_edit_schedules(client, login_as, city):
    login_as(make_supervisor(city.station_a))
    assert client.get("/admin/schedules/").status_code == 403


def test_workers_never_see_the_dashboard(client, login_as, city):
    login_as(make_worker(city.station_a))
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
