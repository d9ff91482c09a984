"""Check-in ingest under load: POST /api/v1/visits against the floor of the same stack, in the same run.

    .venv/bin/python -m bench.ingest [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                                     [--connections 64] [--duration 20] [--rounds 1]

Needs wrk (Debian/Ubuntu: `sudo apt-get install wrk`) and a PostgreSQL server where the user may create
databases. The bench makes a fresh database with the migrations, seeds a station, a worker with an API
token and 200 people, and creates the floor app's table. Then, for each app in turn, it starts gunicorn
with the project's settings (gunicorn.conf.py, as `make run` and deploy/ use it; WEB_CONCURRENCY and
GUNICORN_THREADS apply to both apps alike) on a free loopback port, warms it up and loads it with wrk for
--duration seconds over --connections connections. Every request is the simplest valid check-in, a care
call, with its own client_id.

- real:  wsgi:app, the Zoufang app;
- floor: bench.floor_app, bare Flask + psycopg doing one token lookup and one INSERT.

Prints throughput, p50/p99 latency and errors of both, and the ratio real/floor (goal: >= 0.5, p99 of
the real app under 150 ms, no error). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from bench.floor_app import FLOOR_TABLE_DDL
from extensions import db
from factory import MIGRATIONS_DIR, create_app
from models import Beneficiary, Station, User, utcnow
from services.accounts.credentials import hash_password, issue_token

REPO = Path(__file__).resolve().parents[1]
PEOPLE = 200
WARM_UP_SECONDS = 3
GOAL_RATIO = 0.5
GOAL_P99_MS = 150

# One check-in per request, each with its own client_id: (run, wrk thread, request number) in a UUID.
WRK_SCRIPT = r"""
local token = os.getenv("INGEST_TOKEN")
local first_person = tonumber(os.getenv("INGEST_FIRST_PERSON"))
local people = tonumber(os.getenv("INGEST_PEOPLE"))
local started_at = os.getenv("INGEST_STARTED_AT")
local ended_at = os.getenv("INGEST_ENDED_AT")
local run = tonumber(os.getenv("INGEST_RUN"))
local threads_made = 0
local sent = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
end

function request()
  sent = sent + 1
  local client_id = string.format("%08x-%04x-4000-8000-%012x", run, thread_number, sent)
  local body = string.format(
    '{"client_id":"%s","beneficiary_id":%d,"kind":"care_call","services":["policy_implementation"],' ..
    '"started_at":"%s","ended_at":"%s","notes":"电话回访，老人身体尚可"}',
    client_id, first_person + sent % people, started_at, ended_at)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured for one app."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def line(self, name: str) -> str:
        return (f"{name:<6} {self.per_second:8.0f} check-ins/s   p50 {self.p50_ms:6.1f} ms   p99 {self.p99_ms:6.1f} ms"
                f"   errors {self.errors}   ({self.requests} requests in {self.seconds:.1f} s)")

    @classmethod
    def parse(cls, wrk_output: str) -> LoadResult:
        line = next(line for line in wrk_output.splitlines() if line.startswith("RESULT "))
        values = dict(item.split("=") for item in line.split()[1:])
        return cls(requests=int(values["requests"]), seconds=int(values["duration_us"]) / 1e6,
                   p50_ms=int(values["p50_us"]) / 1000, p99_ms=int(values["p99_us"]) / 1000,
                   errors=int(values["status_errors"]) + int(values["socket_errors"]))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _create_database(base_url: str) -> tuple[sa.URL, callable]:
    """A fresh, uniquely named database on the server of base_url; return its URL and a dropper."""
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"zoufang_ingest_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin_engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()

    return url.set(database=name), drop


def _seed(database_url: str, instance_dir: Path) -> tuple[str, int]:
    """Build the schema by the migrations, add a station, a worker and people; return (token, first person id)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-ingest",
                      "UPLOAD_DIR": str(instance_dir / "uploads")})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        station = Station(code="440902999", name="压测街道", latitude=21.66, longitude=110.92)
        worker = User(username="ingest_worker", role="worker", display_name="压测社工", station=station,
                      password_hash=hash_password(secrets.token_urlsafe(16)))
        people = [Beneficiary(name=f"压测{number}", name_initials="yc", id_number=f"44090219500301{number:04d}",
                              gender="female", birth_date=date(1950, 3, 1), station=station,
                              home_latitude=21.665, home_longitude=110.928)
                  for number in range(PEOPLE)]
        db.session.add_all([station, worker, *people])
        db.session.commit()
        token, _ = issue_token(worker)
        first_person = min(person.id for person in people)
        db.session.execute(sa.text(FLOOR_TABLE_DDL))
        db.session.commit()
        db.engine.dispose()
    return token, first_person


class Server:
    """gunicorn serving one app on a free loopback port, stopped on exit."""

    def __init__(self, target: str, env: dict, log_path: Path):
        self.port = _free_port()
        self.log_path = log_path
        self.log = log_path.open("w")
        command = [sys.executable, "-m", "gunicorn", "--config", str(REPO / "gunicorn.conf.py"),
                   "--bind", f"127.0.0.1:{self.port}", target]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")

    def __exit__(self, *_exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _wrk(port: int, script: Path, env: dict, *, connections: int, seconds: int, threads: int) -> LoadResult:
    command = ["wrk", f"--threads={threads}", f"--connections={connections}", f"--duration={seconds}s",
               "--timeout=10s", f"--script={script}", f"http://127.0.0.1:{port}/api/v1/visits"]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return LoadResult.parse(finished.stdout)


def main(argv: list[str] | None = None) -> int:
    """Command line: seed, serve both apps in turn, load them, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per app and round")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=1, help="floor and real in turn, this many times")
    arguments = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: sudo apt-get install wrk (Debian/Ubuntu), or brew install wrk", file=sys.stderr)
        return 2

    database_url, drop_database = _create_database(arguments.database_url)
    work_dir = Path(tempfile.mkdtemp(prefix="zoufang-ingest-"))
    try:
        sqlalchemy_url = database_url.render_as_string(hide_password=False)
        token, first_person = _seed(sqlalchemy_url, work_dir)
        script = work_dir / "checkin.lua"
        script.write_text(WRK_SCRIPT)
        started_at = utcnow() - timedelta(hours=1)
        server_env = {**os.environ, "DATABASE_URL": sqlalchemy_url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "INSTANCE_DIR": str(work_dir / "instance"), "UPLOAD_DIR": str(work_dir / "uploads"),
                      "FLOOR_DATABASE_URL": database_url.set(drivername="postgresql").render_as_string(
                          hide_password=False)}
        load_env = {**os.environ, "INGEST_TOKEN": token, "INGEST_FIRST_PERSON": str(first_person),
                    "INGEST_PEOPLE": str(PEOPLE), "INGEST_STARTED_AT": started_at.isoformat(),
                    "INGEST_ENDED_AT": (started_at + timedelta(minutes=12)).isoformat()}
        runs = itertools.count(1)
        results: dict[str, list[LoadResult]] = {"floor": [], "real": []}
        print(f"gunicorn.conf.py for both apps; wrk {arguments.threads} threads, "
              f"{arguments.connections} connections, {arguments.duration} s per app and round; PostgreSQL "
              f"{database_url.host}:{database_url.port or 5432}")
        for round_number in range(1, arguments.rounds + 1):
            for name, target in (("floor", "bench.floor_app:app"), ("real", "wsgi:app")):
                log_path = work_dir / f"{name}-{round_number}.log"
                with Server(target, server_env, log_path) as server:
                    load = {"connections": arguments.connections, "threads": arguments.threads}
                    _wrk(server.port, script, {**load_env, "INGEST_RUN": str(next(runs))},
                         seconds=WARM_UP_SECONDS, **load)
                    result = _wrk(server.port, script, {**load_env, "INGEST_RUN": str(next(runs))},
                                  seconds=arguments.duration, **load)
                results[name].append(result)
                print(f"round {round_number}: {result.line(name)}")
        _print_summary(results)
    finally:
        drop_database()
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


def _print_summary(results: dict[str, list[LoadResult]]) -> None:
    def median(name: str, attribute: str) -> float:
        return statistics.median(getattr(result, attribute) for result in results[name])

    floor, real = median("floor", "per_second"), median("real", "per_second")
    real_p99, real_errors = median("real", "p99_ms"), sum(result.errors for result in results["real"])
    print()
    print(f"floor (bare Flask + psycopg): {floor:8.0f} check-ins/s   p50 {median('floor', 'p50_ms'):6.1f} ms"
          f"   p99 {median('floor', 'p99_ms'):6.1f} ms")
    print(f"real  (POST /api/v1/visits):  {real:8.0f} check-ins/s   p50 {median('real', 'p50_ms'):6.1f} ms"
          f"   p99 {real_p99:6.1f} ms   errors {real_errors}")
    ratio = real / floor
    verdict = "met" if ratio >= GOAL_RATIO and real_p99 < GOAL_P99_MS and real_errors == 0 else "NOT met"
    print(f"ratio real/floor: {ratio:.2f}  (goal >= {GOAL_RATIO}, p99 < {GOAL_P99_MS} ms, 0 errors: {verdict})")


if __name__ == "__main__":
    raise SystemExit(main())
