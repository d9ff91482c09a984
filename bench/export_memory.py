"""Stream the visit export of a real server (gunicorn on loopback) and watch its memory.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/zoufang_bench .venv/bin/python -m bench.export_memory \
        [--fill-ledger] [--format csv] [--app-root ../zoufang-before --app-root .]

Starts gunicorn (one sync worker, as `make run` does per worker) on a free port of 127.0.0.1 with the
same DATABASE_URL, logs in to the admin site as the generated admin, and downloads every visit through
POST /admin/exports/visits (all states, CSV unless --format). While the download runs, the resident
memory of the server's processes is sampled from /proc every 50 ms. Prints rows/s, the peak RSS of
the worker serving it, and the ratio of the export's rate to two baselines from the same run: the same
number of visits streamed straight out of the database with COPY (no application in between), and the
export's own SELECT (its joins, its columns) iterated through a bare server-side cursor (no formatting).
Each --app-root (a checkout of this project, e.g. a `git worktree` of the commit before a change) is served
and measured in turn, so "before" and "after" share the run and its machine load.
--fill-ledger first fills the generated visits' ledger fields (bench.generate_volume leaves them empty):
findings in the four areas with notes, needs, follow-up, domains, notes, comments, a co-worker on every
third visit; an export of empty fields would flatter the rate.
Goals (issue 9): at least 50,000 rows/s, server RSS under 200 MB the whole time.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import func, select, text

from bench.generate_volume import BENCH_PASSWORD
from extensions import db
from factory import create_app
from models import User, Visit
from services.reporting.exports import visit_export_statement
from services.visits.review import QueueFilters

ROOT = Path(__file__).resolve().parent.parent
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CHUNK = 1 << 16


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (the 14th and 15th fields of stat)
    return total / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Samples the RSS of a server's worker processes until stopped; keeps the peak of any one of them."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.peak = 0
        self.samples = 0
        self._finished = threading.Event()

    def run(self) -> None:
        while not self._finished.is_set():
            for pid in [self.master_pid, *_children(self.master_pid)]:
                self.peak = max(self.peak, _rss_bytes(pid))
            self.samples += 1
            self._finished.wait(0.05)

    def stop(self) -> None:
        self._finished.set()
        self.join()


def _start_server(port: int, database_url: str, app_root: Path = ROOT) -> subprocess.Popen:
    # The same instance folder (secret and ID number keys) whichever checkout is served.
    environment = {**os.environ, "DATABASE_URL": database_url,
                   "INSTANCE_DIR": os.environ.get("INSTANCE_DIR", str(ROOT / "instance"))}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--timeout", "600",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=app_root, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def _session(base: str, username: str) -> tuple[urllib.request.OpenerDirector, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(f"{base}/admin/login").read().decode()
    form = {"username": username, "password": BENCH_PASSWORD, "csrf_token": CSRF_TOKEN.search(page).group(1)}
    opener.open(f"{base}/admin/login", data=urllib.parse.urlencode(form).encode())
    exports = opener.open(f"{base}/admin/exports/").read().decode()
    match = CSRF_TOKEN.search(exports)
    if match is None:
        raise SystemExit(f"could not log in as {username} (password {BENCH_PASSWORD!r} expected)")
    return opener, match.group(1)


def _copy_baseline(rows: int) -> float:
    """Seconds to stream the same number of visits out of the database with COPY, as text."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    began = time.perf_counter()
    with cursor.copy(f"COPY (SELECT * FROM visits ORDER BY id LIMIT {int(rows)}) TO STDOUT") as copy:
        for _data in copy:
            pass
    return time.perf_counter() - began


# Realistic ledger content for generated visits (see --fill-ledger); a co-worker from the same station.
FILL_LEDGER_SQL = (
    """UPDATE visits SET
         findings = CASE WHEN kind IN ('home_visit', 'case_service', 'care_call') THEN
           '{"basic_living": {"value": "ok", "note": ""},
             "safety": {"value": "concern", "note": "电线老化，已提醒"},
             "family_support": {"value": "ok", "note": "女儿每周来电"},
             "care_received": {"value": "ok", "note": ""}}'::json
           ELSE '{}'::json END,
         needs = CASE WHEN id % 3 = 0 THEN '["daily_care", "emotional_support"]'::json
                 ELSE '["policy_consultation"]'::json END,
         domains = '["social_assistance", "elderly_care"]'::json,
         follow_up_needed = (id % 5 = 0),
         follow_up_due = CASE WHEN id % 5 = 0 THEN (started_at + interval '14 days')::date END,
         notes = CASE WHEN id % 2 = 0 THEN '老人身体尚可，门口有积水，已提醒村委' ELSE '' END,
         review_comment = CASE WHEN status IN ('returned', 'rejected') THEN '照片不清楚，请补充' END""",
    """INSERT INTO visit_coworkers (visit_id, user_id)
       SELECT v.id, (SELECT u.id FROM users u WHERE u.station_id = v.station_id AND u.id <> v.worker_id
                     AND u.role = 'worker' ORDER BY u.id LIMIT 1)
       FROM visits v WHERE v.id % 3 = 0
       ON CONFLICT DO NOTHING""",
)


def _fill_ledger() -> None:
    for statement in FILL_LEDGER_SQL:
        db.session.execute(text(statement))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE visits"))
        connection.execute(text("VACUUM ANALYZE visit_coworkers"))


def _cursor_baseline(admin: User) -> tuple[int, float, float]:
    """Rows, seconds and CPU seconds to iterate the export's own SELECT through a bare server-side cursor."""
    statement = visit_export_statement(admin, QueueFilters(status=None))
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    connection = db.session.connection().connection.driver_connection
    rows = 0
    began, cpu = time.perf_counter(), time.process_time()
    with connection.cursor(name="export_baseline") as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(1000):
            rows += len(batch)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    db.session.rollback()
    return rows, seconds, cpu


def _export_once(app_root: Path, database_url: str, admin: str, export_format: str) -> tuple[
        int, int, float, float, float, int, int]:
    port = _free_port()
    server = _start_server(port, database_url, app_root)
    try:
        base = f"http://127.0.0.1:{port}"
        opener, token = _session(base, admin)
        sampler = RssSampler(server.pid)
        sampler.start()
        form = urllib.parse.urlencode({"status": "", "format": export_format, "csrf_token": token}).encode()
        server_pids = [server.pid, *_children(server.pid)]
        cpu_before = _cpu_seconds(server_pids)
        began = time.perf_counter()
        first_byte = None
        received = lines = 0
        with opener.open(f"{base}/admin/exports/visits", data=form, timeout=3600) as response:
            while chunk := response.read(CHUNK):
                first_byte = first_byte or time.perf_counter() - began
                received += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - began
        cpu = _cpu_seconds(server_pids) - cpu_before
        sampler.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return lines, received, seconds, cpu, first_byte or 0, sampler.peak, sampler.samples


def main(argv: list[str] | None = None) -> int:
    """Command line: run the export against DATABASE_URL through a gunicorn on loopback, per checkout given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="csv", choices=("csv", "xlsx", "geojson"))
    parser.add_argument("--app-root", action="append", type=Path,
                        help="a checkout to serve (repeatable, measured in turn); default: this one")
    parser.add_argument("--fill-ledger", action="store_true", help="fill the visits' ledger fields first")
    arguments = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        database_url = app.config["SQLALCHEMY_DATABASE_URI"]
        if not database_url.startswith("postgresql"):
            raise SystemExit("the export benchmark runs on PostgreSQL (its baseline is a COPY)")
        if arguments.fill_ledger:
            _fill_ledger()
        visits = db.session.scalar(select(func.count(Visit.id)))
        admin_user = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        admin = admin_user.username
        baseline_seconds = _copy_baseline(visits)
        db.session.rollback()
        cursor_rows, cursor_seconds, cursor_cpu = _cursor_baseline(admin_user)
    baseline_rate, cursor_rate = visits / baseline_seconds, cursor_rows / cursor_seconds
    cursor_cpu_rate = cursor_rows / cursor_cpu
    print(f"export of {visits:,} visits as {arguments.format} through gunicorn on loopback")
    print(f"  baseline: COPY of the same visits     {baseline_seconds:7.1f} s  {baseline_rate:10,.0f} rows/s")
    print(f"  baseline: the export's SELECT, bare server-side cursor {cursor_seconds:7.1f} s  "
          f"{cursor_rate:10,.0f} rows/s, {cursor_cpu_rate:10,.0f} rows per CPU second of the client")
    for app_root in arguments.app_root or [ROOT]:
        lines, received, seconds, cpu, first_byte, peak, samples = _export_once(
            app_root.resolve(), database_url, admin, arguments.format)
        rows = lines - 1 if arguments.format == "csv" else visits
        rate = rows / seconds
        print(f"  export ({app_root}): {rows:,} rows, {received / 1e6:,.0f} MB   {seconds:7.1f} s  {rate:10,.0f} "
              f"rows/s  (goal >= 50,000)  {rate / baseline_rate:.2f}x COPY, {rate / cursor_rate:.2f}x bare cursor; "
              f"first byte after {first_byte:.2f} s")
        # On a shared machine the wall rate follows the load; CPU per row is what the code costs.
        print(f"    server CPU {cpu:,.1f} s: {rows / cpu:,.0f} rows per CPU second "
              f"({rows / cpu / cursor_cpu_rate:.2f}x the bare cursor's); "
              f"peak RSS {peak / 1e6:,.0f} MB over {samples} samples (goal < 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
