"""Stream the visit export of a real server (gunicorn on loopback) and watch its memory.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/zoufang_bench .venv/bin/python -m bench.export_memory

Starts gunicorn (one sync worker, as `make run` does per worker) on a free port of 127.0.0.1 with the
same DATABASE_URL, logs in to the admin site as the generated admin, and downloads every visit through
POST /admin/exports/visits (all states, CSV unless --format). While the download runs, the resident
memory of the server's processes is sampled from /proc every 50 ms. Prints rows/s, the peak RSS of
the worker serving it, and the ratio of the export's rate to a baseline from the same run: the same
number of visits streamed straight out of the database with COPY (no application in between).
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

from sqlalchemy import func, select

from bench.generate_volume import BENCH_PASSWORD
from extensions import db
from factory import create_app
from models import User, Visit

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


def _start_server(port: int, database_url: str) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--timeout", "600",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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


def main(argv: list[str] | None = None) -> int:
    """Command line: run the export against DATABASE_URL through a gunicorn on loopback."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="csv", choices=("csv", "xlsx", "geojson"))
    arguments = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        database_url = app.config["SQLALCHEMY_DATABASE_URI"]
        if not database_url.startswith("postgresql"):
            raise SystemExit("the export benchmark runs on PostgreSQL (its baseline is a COPY)")
        visits = db.session.scalar(select(func.count(Visit.id)))
        admin = db.session.scalar(select(User.username).where(User.role == "admin").order_by(User.id))
        baseline_seconds = _copy_baseline(visits)
        db.session.rollback()
    port = _free_port()
    server = _start_server(port, database_url)
    try:
        base = f"http://127.0.0.1:{port}"
        opener, token = _session(base, admin)
        sampler = RssSampler(server.pid)
        sampler.start()
        form = urllib.parse.urlencode({"status": "", "format": arguments.format, "csrf_token": token}).encode()
        began = time.perf_counter()
        first_byte = None
        received = lines = 0
        with opener.open(f"{base}/admin/exports/visits", data=form, timeout=600) as response:
            while chunk := response.read(CHUNK):
                first_byte = first_byte or time.perf_counter() - began
                received += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - began
        sampler.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = lines - 1 if arguments.format == "csv" else visits
    rate, baseline_rate = rows / seconds, visits / baseline_seconds
    print(f"export of {visits:,} visits as {arguments.format} through gunicorn on loopback")
    print(f"  baseline: COPY of the same visits     {baseline_seconds:7.1f} s  {baseline_rate:10,.0f} rows/s")
    print(f"  export: {rows:,} rows, {received / 1e6:,.0f} MB   {seconds:7.1f} s  {rate:10,.0f} rows/s"
          f"  (goal >= 50,000)  {rate / baseline_rate:.2f}x baseline; first byte after {first_byte or 0:.2f} s")
    print(f"  server peak RSS {sampler.peak / 1e6:,.0f} MB over {sampler.samples} samples (goal < 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
