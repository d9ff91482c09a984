"""Schemathesis against the live server: every operation of /api/v1/openapi.json, all checks, no failure.

Runs the app under gunicorn on a loopback port with a seeded database and a worker token, with bounded
examples (a few minutes). Select it alone with `pytest -m schemathesis`; CI runs it with the suite.
"""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from models import utcnow
from tests.factories import make_beneficiary, make_photo, make_visit, make_worker, token_for
from tests.live_server import live_server
from tests.services.accounts.test_wechat import APP_SECRET, Code2SessionStandIn

pytestmark = pytest.mark.schemathesis

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 25
EXAMPLE_BENEFICIARY_ID = 12
EXAMPLE_PHOTO_IDS = (31, 32, 33)
# Logging out would revoke the very token the run authenticates with; it is tested in tests/api/test_auth.py.
EXCLUDED_PATHS = ["/api/v1/auth/logout"]


def _seed() -> str:
    """A worker with people in their station and visits, plus the beneficiary and free photos the OpenAPI
    request examples name (ids 12; 31, 32, 33), so the examples are accepted live; return the worker's token."""
    worker = make_worker(username="st_worker")
    people = [make_beneficiary(worker.station) for _ in range(3)]
    for hours_ago, person in zip((30, 20, 10), people, strict=True):
        make_visit(worker, person, started_at=utcnow() - timedelta(hours=hours_ago))
    make_beneficiary(worker.station, id=EXAMPLE_BENEFICIARY_ID, home_latitude=21.6653, home_longitude=110.9279)
    for photo_id in EXAMPLE_PHOTO_IDS:
        make_photo(worker, id=photo_id)
    return token_for(worker)


def test_the_api_conforms_to_its_openapi_document(app, database_url, tmp_path):
    token = _seed()
    report = tmp_path / "report.xml"
    with Code2SessionStandIn() as wechat, live_server(
        database_url, tmp_path, secret_key=app.config["SECRET_KEY"],
        env={"WECHAT_APPID": "wx-stand-in-appid", "WECHAT_SECRET": APP_SECRET, "WECHAT_API_BASE": wechat.base_url},
    ) as base_url:
        command = [
            str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{base_url}/api/v1/openapi.json",
            "--checks", "all",
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", "20261203",
            "--workers", "1",
            "--request-timeout", "30",
            "--report", "junit", "--report-junit-path", str(report),
            *[option for path in EXCLUDED_PATHS for option in ("--exclude-path", path)],
        ]
        # Run from the test's folder: schemathesis keeps a cache in its working directory.
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        server_log = (tmp_path / "gunicorn.log").read_text()
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    assert "Traceback" not in server_log, server_log[-5000:]
