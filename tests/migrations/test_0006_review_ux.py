"""Migration 0006_review_ux grades the warnings already stored, from their evidence, and rewrites their message."""

import os
import uuid

from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from models import Visit, VisitWarning
from tests.conftest import _create_postgres_database
from tests.factories import make_reviewable_visit, make_station, make_worker


def test_stored_warnings_are_graded_from_their_evidence(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    url, drop = _create_postgres_database(base) if base else (f"sqlite:///{tmp_path / 'm.db'}", lambda: None)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "up"), "TESTING": True,
                      "SECRET_KEY": uuid.uuid4().hex})
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
            visit = make_reviewable_visit(make_worker(make_station()))
            # As 0001 stored them: the fixed grade of the code and a sentence with raw numbers.
            evidence = {"distance_m": 301, "threshold_m": 300, "checkin": {"accuracy_m": 12.0}}
            visit.warnings.append(VisitWarning(code="far_from_home", severity=3, evidence=evidence,
                                               message="签到位置距服务对象登记住址 301 米"))
            visit.warning_count, visit.warning_severity = 1, 3
            db.session.commit()
            visit_id = visit.id
            db.session.close()  # no open transaction may hold a lock the ALTER TABLEs wait for
            downgrade(directory=MIGRATIONS_DIR, revision="0001")
            upgrade(directory=MIGRATIONS_DIR)
            db.session.expire_all()
            warning = db.session.scalar(select(VisitWarning).where(VisitWarning.visit_id == visit_id))
            assert (warning.severity, warning.message) == (1, "打卡位置距登记住址 301 米（定位精度 12 米）")
            assert db.session.get(Visit, visit_id).warning_severity == 1
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
