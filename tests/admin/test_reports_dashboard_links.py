"""The dashboard's counts and bars open the lists they summarise, each showing the same number of records."""

import re
from datetime import timedelta
from html import unescape

import pytest

from extensions import db
from models import utcnow
from services.reporting.schedules import day_number, local_date
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)

QUEUE_LINK = re.compile(r'<a href="(/admin/review/[^"]*)">(\d+)</a>')
CHART_DAY_LINK = re.compile(
    r'<a href="(/admin/review/[^"]*)" class="zf-chart-link">\s*<rect[^>]*>\s*<title>[\d-]+\W+(\d+)</title>')
QUEUE_COUNT = re.compile(r'class="review-count">\D*(\d+)')


@pytest.fixture
def town(app):
    """Two stations' visits received and decided now, and a month and more ago."""
    now = utcnow()
    station_a, station_b = make_station(), make_station()
    worker_a, worker_b = make_worker(station_a), make_worker(station_b)
    person_a, person_b = make_beneficiary(station_a), make_beneficiary(station_b)
    reviewer = make_supervisor(station_a, station_b)
    just_now = now - timedelta(minutes=1)
    for warnings in ((), ("far_from_home",), ()):
        make_reviewable_visit(worker_a, person_a, warnings=warnings, received_at=just_now)
    make_reviewable_visit(worker_b, person_b, warnings=("poor_accuracy",), received_at=just_now)
    for days_ago in (0, 3, 45):
        make_reviewable_visit(worker_a, person_a, status="approved", received_at=now - timedelta(days=days_ago),
                              reviewed_at=now - timedelta(days=days_ago), reviewer_id=reviewer.id)
    make_reviewable_visit(worker_b, person_b, status="returned", received_at=now - timedelta(days=2))
    # Never visited, and due ten days ago: behind schedule and overdue.
    make_beneficiary(station_a).next_due_day = day_number(local_date(now)) - 10
    db.session.commit()
    return reviewer


def _queue_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    match = QUEUE_COUNT.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[-3000:]
    return int(match.group(1))


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_every_count_and_bar_opens_a_queue_of_that_many_records(client, login_as, town, who):
    login_as(town if who == "supervisor" else make_admin())
    html = client.get("/admin/dashboard/").get_data(as_text=True)
    links = [(unescape(url), int(count)) for url, count in QUEUE_LINK.findall(html)]
    days = [(unescape(url), int(count)) for url, count in CHART_DAY_LINK.findall(html)]
    # 3 periods × 4 counts, 2 workers × 2 counts; a bar per day of the month so far.
    assert len(links) == 12 + 4 and len(days) == local_date(utcnow()).day
    assert sum(count for _url, count in days) >= 5
    for url, count in links + days:
        assert _queue_count(client, url) == count, url


def test_the_period_links_filter_on_what_each_column_counts(client, login_as, town):
    login_as(town)
    html = unescape(client.get("/admin/dashboard/").get_data(as_text=True))
    today = re.search(r'<tr data-period="today">(.*?)</tr>', html, re.S).group(1)
    submitted, approved, pending, warned = re.findall(r'href="([^"]+)"', today)
    assert "status=any" in submitted and "received_from=" in submitted
    assert "status=approved" in approved and "reviewed_from=" in approved
    assert "status=submitted" in pending
    assert "status=any" in warned and "has_warnings=1" in warned
    # Today: 4 received now, 1 approved now (received now too), 4 pending, 2 warned.
    counts = [int(number) for number in re.findall(r'">(\d+)</a>', today)]
    assert counts == [5, 1, 4, 2]
    queue = client.get(approved).get_data(as_text=True)
    assert 'name="reviewed_from"' in queue and 'id="reviewed-from"' in queue


def test_station_bars_open_the_station_schedule_and_names_their_record(client, login_as, town, app):
    login_as(town)
    html = unescape(client.get("/admin/dashboard/").get_data(as_text=True))
    station_links = re.findall(r'<a href="(/admin/dashboard/station/\d+)" class="zf-chart-link">', html)
    assert len(station_links) == 2
    page = client.get(station_links[0])
    assert page.status_code == 200 and 'id="station-coverage"' in page.get_data(as_text=True)
    assert re.search(r'<a href="/admin/beneficiaries/details/\?id=\d+">', page.get_data(as_text=True))
    # Names of the overdue link to their record; the chart's axes say what they measure.
    assert re.search(r'<table class="table table-sm table-striped" id="overdue">.*?'
                     r'<a href="/admin/beneficiaries/details/\?id=\d+">', html, re.S)
    assert "提交走访次数" in html and ">日期<" in html and "按时走访的在册服务对象比例" in html
    # The registry's whole links to the list of active people.
    assert re.search(r'<a href="/admin/beneficiaries/\?flt0_\w+=active">', html)


def test_a_station_page_of_another_supervisor_is_not_found(client, login_as, town):
    other = make_station()
    login_as(town)
    assert client.get(f"/admin/dashboard/station/{other.id}").status_code == 404


def test_the_worker_table_is_not_a_ranking(client, login_as, town):
    login_as(town)
    html = client.get("/admin/dashboard/").get_data(as_text=True)
    table = html[html.index('id="workers"'):]
    assert "不是排名" in html
    # No sortable headers.
    assert "sort=" not in table[:table.index("</thead>")]


def test_the_station_page_costs_the_same_queries_however_many_are_behind(client, login_as, town, count_queries):
    login_as(town)
    station_id = town.supervised_stations[0].id
    db.session.expire_all()
    with count_queries() as few:
        assert client.get(f"/admin/dashboard/station/{station_id}").status_code == 200
    for _ in range(6):
        make_beneficiary(town.supervised_stations[0], categories=["dibao", "tekun"])
    db.session.expire_all()
    with count_queries() as many:
        page = client.get(f"/admin/dashboard/station/{station_id}").get_data(as_text=True)
    assert many.count == few.count
    assert page.count('href="/admin/beneficiaries/details/?id=') == 7
