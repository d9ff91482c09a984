"""The ingest benchmark's floor app stores a check-in for a valid token only; wrk's summary line is read back."""

import uuid

import pytest
import sqlalchemy as sa

from bench import floor_app
from bench.ingest import LoadResult
from extensions import db
from tests.factories import make_worker, token_for


@pytest.fixture
def floor_client(app, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("the floor app is bare psycopg on PostgreSQL")
    db.session.execute(sa.text(floor_app.FLOOR_TABLE_DDL))
    db.session.commit()
    url = db.engine.url.set(drivername="postgresql")
    monkeypatch.setenv("FLOOR_DATABASE_URL", url.render_as_string(hide_password=False))
    yield floor_app.app.test_client()
    connection = getattr(floor_app._per_thread, "connection", None)
    if connection is not None:
        connection.close()
    db.session.execute(sa.text("DROP TABLE floor_checkins"))
    db.session.commit()


def test_the_floor_app_stores_a_checkin_for_a_valid_token_only(floor_client):
    worker = make_worker()
    body = {"client_id": str(uuid.uuid4()), "kind": "care_call"}
    stored = floor_client.post("/api/v1/visits", json=body, headers={"Authorization": f"Bearer {token_for(worker)}"})
    refused = floor_client.post("/api/v1/visits", json=body, headers={"Authorization": "Bearer not-a-token"})
    assert stored.status_code == 201 and refused.status_code == 401
    rows = db.session.execute(sa.text("SELECT user_id, client_id, body FROM floor_checkins")).all()
    assert [(row.user_id, row.client_id, row.body) for row in rows] == [(worker.id, body["client_id"], body)]


def test_wrk_summary_line_is_read_into_rates_and_milliseconds():
    output = "Running 15s test\n  2 threads\nRESULT requests=3000 duration_us=15000000 p50_us=41250 " \
             "p99_us=149000 status_errors=2 socket_errors=1\n"
    result = LoadResult.parse(output)
    assert result.per_second == 200 and (result.p50_ms, result.p99_ms) == (41.25, 149.0) and result.errors == 3
