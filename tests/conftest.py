"""Fixtures: a fresh database per test run (SQLite, or PostgreSQL via TEST_DATABASE_URL), built by the migrations."""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import globals as flask_globals
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.engine import make_url

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from services.storage import S3Storage
from tests.servers import free_port, server_process

TEST_ID_NUMBER_KEY = hashlib.sha256(b"zoufang test ID number key").digest()
SHARED_PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "photos"


def _create_postgres_database(base_url: str) -> tuple[str, callable]:
    """Create a uniquely named database on the server of base_url; return its URL and a dropper."""
    url = make_url(base_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"zoufang_test_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One database for the run, its schema built by the Alembic migrations (so they are tested too)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        url, drop = _create_postgres_database(base)
    else:
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}", lambda: None
    app = create_app(_test_config(url, tmp_path_factory.mktemp("uploads")))
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        db.engine.dispose()
    yield url
    drop()


def _test_config(database_url: str, upload_dir: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        # One ring for the whole run: rows written by one app are read by the next (and by live servers).
        "ID_NUMBER_KEYS": [TEST_ID_NUMBER_KEY],
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_DIR": str(upload_dir),
        "SERVER_NAME": "localhost",
    }


@pytest.fixture
def app(database_url, tmp_path):
    """An app bound to the run's database; every table is emptied after the test."""
    app = create_app(_test_config(database_url, tmp_path / "uploads"))
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


class FreshGlobalsClient(FlaskClient):
    """A test client whose every request gets a fresh `g`, as a real server's would.

    The `app` fixture keeps one app context open for the whole test (so factories and requests share
    the database session); Flask reuses that context for requests, which would let Flask-Login,
    Flask-WTF and Flask-Babel carry per-request caches in `g` from one request to the next.
    """

    def open(self, *args, **kwargs):
        app_context = flask_globals._cv_app.get(None)
        if app_context is None:
            return super().open(*args, **kwargs)
        outer_globals = app_context.g
        app_context.g = self.application.app_ctx_globals_class()
        try:
            return super().open(*args, **kwargs)
        finally:
            app_context.g = outer_globals


@pytest.fixture
def client(app):
    app.test_client_class = FreshGlobalsClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def is_postgres(app) -> bool:
    return db.engine.dialect.name == "postgresql"


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Context manager counting the SQL statements run inside it: with count_queries() as counter: ..."""

    @contextmanager
    def counting():
        counter = QueryCounter()

        def before(conn, cursor, statement, *args):
            counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def shared_photos() -> Path:
    """The real photos of ../shared/testdata/photos; tests using them skip when it is absent."""
    if not SHARED_PHOTOS.is_dir():
        pytest.skip(f"real camera photos are kept outside the repository and {SHARED_PHOTOS} is not next to this clone")
    return SHARED_PHOTOS


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """moto's standalone S3-compatible server, over HTTP on a free loopback port, for the whole run."""
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"]
    with server_process(command, tmp_path_factory.mktemp("moto") / "moto.log", ready_path=None,
                        stop_seconds=10) as server:
        yield server.base_url


@pytest.fixture
def s3_settings(s3_endpoint) -> dict:
    """App settings for the S3 backend on a new, empty bucket of the moto server."""
    settings = {
        "STORAGE_BACKEND": "s3", "S3_BUCKET": f"zoufang-test-{uuid.uuid4().hex[:16]}",
        "S3_ENDPOINT_URL": s3_endpoint, "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test-key",
        "S3_SECRET_ACCESS_KEY": "test-secret", "S3_KEY_PREFIX": "zoufang", "S3_ADDRESSING_STYLE": "path",
    }
    bucket_client(settings).create_bucket(Bucket=settings["S3_BUCKET"])
    return settings


def bucket_client(settings: dict):
    """A boto3 client of the settings' server, for tests to look into the bucket without the app."""
    return S3Storage.from_settings(
        bucket=settings["S3_BUCKET"], endpoint_url=settings["S3_ENDPOINT_URL"], region=settings["S3_REGION"],
        access_key_id=settings["S3_ACCESS_KEY_ID"], secret_access_key=settings["S3_SECRET_ACCESS_KEY"],
        addressing_style="path",
    ).client


@pytest.fixture
def s3_app(app, s3_settings):
    """The app fixture with its photos in the moto bucket instead of the upload folder."""
    app.config.update(s3_settings)
    app.extensions.pop("zoufang_storage", None)
    return app


def refuse_puts_after(storage: S3Storage, successful: int) -> None:
    """Let `successful` uploads through, then send every further PUT to a closed loopback port.

    The storage code sees what a network outage or a stopped server gives it: a connection refused
    after boto3's retries.
    """
    closed = free_port()
    passed = []

    def divert(request, **_):
        if len(passed) < successful:
            passed.append(request.url)
            return
        scheme, rest = request.url.split("://", 1)
        request.url = f"{scheme}://127.0.0.1:{closed}/{rest.split('/', 1)[1]}"

    storage.client.meta.events.register("before-send.s3.PutObject", divert)
