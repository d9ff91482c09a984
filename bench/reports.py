"""Time the dashboard, a city report and a due list on a database filled by bench.generate_volume.

    DATABASE_URL=sqlite:////tmp/bench.db .venv/bin/python -m bench.reports --runs 5

Prints the median wall time of each over the runs (after one warm-up run), and each as a ratio to a
baseline measured in the same run: one aggregate over every row of the visits table (a full scan that
counts visits and sums their people), the least any report over all visits must cost on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from extensions import db
from factory import create_app
from models import Region, User, Visit, utcnow
from services.reporting.coverage import due_beneficiaries_query
from services.reporting.dashboard import build_dashboard
from services.reporting.reports import build_report, report_xlsx
from services.reporting.schedules import local_date


def median_seconds(task: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls, after one warm-up call; the session is reset between calls."""
    task()
    times = []
    for _ in range(runs):
        db.session.expire_all()
        began = time.perf_counter()
        task()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Command line: time the tasks against DATABASE_URL and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        supervisor = db.session.scalar(select(User).where(User.role == "supervisor").order_by(User.id))
        worker = db.session.scalar(select(User).where(User.role == "worker").order_by(User.id))
        city = db.session.scalar(select(Region).where(Region.level == "city").order_by(Region.id))
        if admin is None or city is None:
            print("no data: run python -m bench.generate_volume first", file=sys.stderr)
            return 2
        visits = db.session.scalar(select(func.count(Visit.id)))
        today = local_date(utcnow())
        month_start, year_ago = today.replace(day=1), today - timedelta(days=364)
        tasks = {
            "baseline: one full scan of visits": lambda: db.session.execute(
                select(func.count(Visit.id), func.sum(Visit.people_count), func.max(Visit.received_at))).one(),
            "dashboard (admin, all stations)": lambda: build_dashboard(admin),
            "dashboard (supervisor)": lambda: build_dashboard(supervisor),
            "city report, this month": lambda: build_report(admin, month_start, today, city.code),
            "city report, last 12 months": lambda: build_report(admin, year_ago, today, city.code),
            "city report, 12 months, as XLSX": lambda: report_xlsx(build_report(admin, year_ago, today, city.code)),
            "due list of one worker": lambda: db.session.execute(due_beneficiaries_query(worker, utcnow())).all(),
        }
        print(f"{db.engine.dialect.name}, {visits:,} visits, median of {arguments.runs} runs")
        baseline = None
        for name, task in tasks.items():
            seconds = median_seconds(task, arguments.runs)
            baseline = baseline or seconds
            print(f"  {name:<36} {seconds * 1000:8.0f} ms  {seconds / baseline:6.1f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
