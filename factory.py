"""The application factory."""

import logging
from pathlib import Path

from flask import Flask, jsonify, request
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
from admin import init_admin
from admin.i18n import select_locale
from api.errors import register_api_error_handlers
from api.guards import BoundedIntConverter, GuardedRequest, content_security_policy, reject_unstorable_text
from api.v1 import bp as api_v1
from cli import register_commands
from extensions import babel, csrf, db, login_manager, migrate
from mobile import init_mobile
from models import User
from models.types import in_column_range
from services.health import readiness
from services.request_log import init_request_logging

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


def create_app(config: dict | None = None) -> Flask:
    """Build the Zoufang app: configuration, extensions, API, admin, phone client, CLI, health check."""
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    _load_config(app, config or {})
    _configure_logging(app)
    _trust_proxies(app)
    _guard_requests(app)
    _set_security_headers(app)
    init_request_logging(app)
    _init_extensions(app)
    _register_api(app)
    _register_health_check(app)
    _register_readiness_check(app)
    init_admin(app)
    init_mobile(app)
    register_commands(app)
    return app


def _load_config(app: Flask, overrides: dict) -> None:
    app.config.from_object(config_module.Config)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.load_secret_key(Path(app.instance_path))
    if not app.config.get("ID_NUMBER_KEYS"):
        app.config["ID_NUMBER_KEYS"] = config_module.load_id_number_keys(Path(app.instance_path))
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        app.logger.setLevel(logging.INFO)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers run beside a writer; busy_timeout waits for the lock instead of failing."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto only from the configured number of proxies (throttling keys on the address)."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _guard_requests(app: Flask) -> None:
    """Hostile input is a 4xx at the edge (api.guards); installed before any route is added."""
    app.request_class = GuardedRequest
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(reject_unstorable_text)


def _set_security_headers(app: Flask) -> None:
    """CSP without inline script, no framing, no sniffing, no caching of personal data, HSTS behind HTTPS."""
    policy = content_security_policy(app.config)
    hsts = "max-age=31536000; includeSubDomains" if app.config["SESSION_COOKIE_SECURE"] else None

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        # Pages and answers carry personal data; only static files and responses that chose their own
        # caching (the photos' private, revalidated copies) may be kept.
        if "Cache-Control" not in headers and not (request.endpoint or "").endswith("static"):
            headers["Cache-Control"] = "no-store"
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        return response


@event.listens_for(Engine, "handle_error")
def _drop_row_details(context) -> None:
    """PostgreSQL's DETAIL repeats the row or key that failed (an ID number, a note): keep it out of errors and logs.

    hide_parameters (config) hides the statement's values; this hides the server's echo of them.
    """
    original = context.original_exception
    diagnostics = getattr(original, "diag", None)
    if diagnostics is None or not diagnostics.message_detail:
        return
    original.args = (diagnostics.message_primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None and wrapped.args:
        wrapped.args = (f"({type(original).__module__}.{type(original).__name__}) {diagnostics.message_primary}",
                        *wrapped.args[1:])


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    # One request, one transaction: services commit their unit of work; whatever a refused or failed
    # request left uncommitted is discarded here, so no view or error handler rolls back itself.
    app.teardown_request(_discard_uncommitted)

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        # A session made before the user's logout, password change, role/station change or deactivation
        # carries an old session_version and loads no one: it has ended.
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit() or not in_column_range(int(user_id)):
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_version != int(version):
            return None
        return user


def _discard_uncommitted(_error: BaseException | None) -> None:
    db.session.rollback()


def _register_api(app: Flask) -> None:
    csrf.exempt(api_v1)  # bearer tokens, not cookies: no CSRF exposure
    app.register_blueprint(api_v1)
    register_api_error_handlers(app)


def _register_health_check(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any database failure means not ready
            db.session.rollback()
            app.logger.exception("health check: database unreachable")
            return jsonify({"status": "unavailable", "database": "unreachable"}), 503
        return jsonify({"status": "ok", "database": "ok"})


def _register_readiness_check(app: Flask) -> None:
    @app.get("/readyz")
    def readyz():
        """Ready for traffic: the database and the photo store both answer (503 otherwise)."""
        checks = readiness()
        ready = all(state == "ok" for state in checks.values())
        return jsonify({"status": "ok" if ready else "unavailable", **checks}), 200 if ready else 503
