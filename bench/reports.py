"""Time the dashboards, city reports, review queue, due lists, name search and record pages on generated data.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/zoufang_bench .venv/bin/python -m bench.reports --runs 5

Data: bench.generate_volume (e.g. --visits 1000000 --stations 500 --beneficiaries 200000). Prints the
median wall time of each task over the runs (after one warm-up run), its goal from issue 9 on PostgreSQL,
and its ratio to a baseline measured in the same run: one aggregate over every row of the visits table
(a full scan that counts visits and sums their people), the least any report over all visits must cost
on this machine. Queue pages are timed for the first page and for a later page reached by the keyset
cursors (--deep-page, not timed on the way). The record pages are fetched over HTTP through the admin
site (a logged-in test client), templates included.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from bench.generate_volume import BENCH_PASSWORD
from extensions import db
from factory import create_app
from models import Beneficiary, Region, User, Visit, utcnow
from services.registry.search import search_beneficiaries
from services.reporting.coverage import due_beneficiaries_query
from services.reporting.dashboard import build_dashboard
from services.reporting.reports import build_report, report_xlsx
from services.reporting.schedules import local_date
from services.visits.review import QueueFilters, review_queue_page

CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Goals of issue 9 on PostgreSQL at 1M visits, in ms (SQLite at 100k visits: within 2x).
GOALS = {"dashboard (admin": 1000, "dashboard (supervisor": 300, "city report, last 12 months": 1000,
         "city report, 12 months, as XLSX": 1500, "queue": 100, "due list": 50, "name search": 50,
         "record page": 50}


def median_seconds(task: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls, after one warm-up call; the session is reset between calls."""
    task()
    times = []
    for _ in range(runs):
        db.session.expire_all()
        began = time.perf_counter()
        task()
        times.append(time.perf_counter() - began)
        db.session.rollback()
    return statistics.median(times)


def _goal_of(name: str) -> int | None:
    return next((goal for prefix, goal in GOALS.items() if name.startswith(prefix) or prefix in name), None)


def _deep_cursor(user: User, filters: QueueFilters, pages: int) -> str | None:
    """The cursor of page `pages + 1`, reached by walking the keyset cursors (not timed)."""
    cursor = None
    for _ in range(pages):
        page = review_queue_page(user, filters, after=cursor)
        if page.next_cursor is None:
            return cursor
        cursor = page.next_cursor
    return cursor


def _logged_in_client(app, user: User):
    client = app.test_client()
    token = CSRF_TOKEN.search(client.get("/admin/login").get_data(as_text=True)).group(1)
    response = client.post("/admin/login", data={"username": user.username, "password": BENCH_PASSWORD,
                                                 "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"could not log in as {user.username} (password {BENCH_PASSWORD!r} expected)")
    return client


def _page(client, url: str) -> Callable[[], None]:
    def fetch():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return fetch


def tasks(app, deep_page: int) -> dict[str, Callable[[], object]]:
    """The timed tasks by name, the baseline first."""
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    supervisor = db.session.scalar(select(User).where(User.role == "supervisor").order_by(User.id))
    worker = db.session.scalar(select(User).where(User.role == "worker").order_by(User.id))
    city = db.session.scalar(select(Region).where(Region.level == "city").order_by(Region.id))
    if admin is None or city is None:
        raise SystemExit("no data: run python -m bench.generate_volume first")
    person = db.session.scalar(
        select(Beneficiary).where(Beneficiary.station_id == worker.station_id).order_by(Beneficiary.id.desc()))
    visit_id = db.session.scalar(select(Visit.id).where(Visit.beneficiary_id == person.id).order_by(Visit.id))
    today = local_date(utcnow())
    month_start, year_ago = today.replace(day=1), today - timedelta(days=364)
    found = {
        "baseline: one full scan of visits": lambda: db.session.execute(
            select(func.count(Visit.id), func.sum(Visit.people_count), func.max(Visit.received_at))).one(),
        "dashboard (admin, all stations)": lambda: build_dashboard(admin),
        "dashboard (supervisor)": lambda: build_dashboard(supervisor),
        "city report, this month": lambda: build_report(admin, month_start, today, city.code),
        "city report, last 12 months": lambda: build_report(admin, year_ago, today, city.code),
        "city report, 12 months, as XLSX": lambda: report_xlsx(build_report(admin, year_ago, today, city.code)),
        "due list of one worker (all rows)": lambda: db.session.execute(
            due_beneficiaries_query(worker, utcnow())).all(),
        "due list, phone page (worker)": lambda: search_beneficiaries(worker, due=True),
        "name search, phone (worker)": lambda: search_beneficiaries(worker, q=person.name),
        "name search, phone initials (worker)": lambda: search_beneficiaries(worker, q="dx"),
    }
    queue_filters = {
        "pending": QueueFilters(), "all states": QueueFilters(status=None),
        "approved": QueueFilters(status="approved"), "station": QueueFilters(station_id=worker.station_id),
        "worker": QueueFilters(worker_id=worker.id), "kind": QueueFilters(kind="care_call"),
        "warned": QueueFilters(has_warnings=True), "warning code": QueueFilters(warning_code="far_from_home"),
        "beneficiary name": QueueFilters(beneficiary_name=person.name),
        "received this month": QueueFilters(status=None, received_from=month_start, received_to=today),
    }
    for role, user in (("admin", admin), ("supervisor", supervisor)):
        for label, filters in queue_filters.items():
            found[f"queue, {role}, {label}, first page"] = (
                lambda user=user, filters=filters: review_queue_page(user, filters))
        for label in ("pending", "approved"):
            cursor = _deep_cursor(user, queue_filters[label], deep_page - 1)
            found[f"queue, {role}, {label}, page {deep_page}"] = (
                lambda user=user, filters=queue_filters[label], cursor=cursor:
                review_queue_page(user, filters, after=cursor))
    client = _logged_in_client(app, admin)
    found["record page of a beneficiary (admin, HTTP)"] = _page(
        client, f"/admin/beneficiaries/details/?id={person.id}")
    found["record page of a visit (admin, HTTP)"] = _page(client, f"/admin/review/visit/{visit_id}")
    found["queue page (admin, HTTP)"] = _page(client, "/admin/review/")
    return found


def main(argv: list[str] | None = None) -> int:
    """Command line: time the tasks against DATABASE_URL and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deep-page", type=int, default=20, help="the later queue page to time")
    parser.add_argument("--only", help="time only the tasks whose name contains this (and the baseline)")
    arguments = parser.parse_args(argv)
    app = create_app({"WTF_CSRF_ENABLED": True})
    with app.app_context():
        visits = db.session.scalar(select(func.count(Visit.id)))
        people = db.session.scalar(select(func.count(Beneficiary.id)))
        print(f"{db.engine.dialect.name}, {visits:,} visits, {people:,} people, median of {arguments.runs} runs")
        print(f"  {'task':<52} {'time':>9}  {'goal':>7}  {'ratio':>8}")
        baseline = None
        for name, task in tasks(app, arguments.deep_page).items():
            if baseline is not None and arguments.only and arguments.only not in name:
                continue
            seconds = median_seconds(task, arguments.runs)
            baseline = baseline or seconds
            goal = _goal_of(name)
            goal_text = f"{goal} ms" if goal else ""
            print(f"  {name:<52} {seconds * 1000:7.1f} ms  {goal_text:>7}  {seconds / baseline:6.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
