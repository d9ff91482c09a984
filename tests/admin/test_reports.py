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
