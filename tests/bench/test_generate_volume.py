"""The volume generator runs on a tiny volume and refuses a database that already holds data."""

import pytest
from sqlalchemy import func, select

from bench.generate_volume import DatabaseNotEmpty, Volume, generate
from extensions import db
from models import Beneficiary, Region, Station, User, Visit
from services.reporting.reports import build_report
from services.reporting.schedules import local_date

TINY = Volume(counties=2, stations=4, villages_per_station=3, workers_per_station=2, supervisors=2,
              beneficiaries=40, visits=300, days=60, seed=7)


def test_generates_the_requested_volume_that_reports_can_read(app):
    counts = generate(TINY)
    assert counts["stations"] == 4 and counts["visits"] == 300 and counts["beneficiaries"] == 40
    assert db.session.scalar(select(func.count(Visit.id))) == 300
    assert db.session.scalar(select(func.count(Beneficiary.id))) == 40
    assert db.session.scalar(select(func.count(Region.id)).where(Region.level == "village")) == 12
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "worker")) == 8
    # Every visit of a kind about one person names someone of the visit's own station.
    mismatched = db.session.scalar(
        select(func.count(Visit.id)).join(Beneficiary, Beneficiary.id == Visit.beneficiary_id)
        .where(Beneficiary.station_id != Visit.station_id))
    assert mismatched == 0
    admin = db.session.scalar(select(User).where(User.role == "admin"))
    city = db.session.scalar(select(Region.code).where(Region.level == "city"))
    first, last = db.session.execute(select(func.min(Visit.started_at), func.max(Visit.started_at))).one()
    report = build_report(admin, local_date(first), local_date(last), city)
    approved = db.session.scalar(select(func.count(Visit.id)).where(Visit.status == "approved"))
    assert report.total.approved_visits == approved


def test_refuses_a_non_empty_database_unless_forced(app):
    generate(TINY)
    with pytest.raises(DatabaseNotEmpty):
        generate(TINY)
    counts = generate(TINY, force=True)
    assert counts["stations"] == 4
    assert db.session.scalar(select(func.count(Station.id))) == 8
    assert db.session.scalar(select(func.count(Region.id)).where(Region.level == "city")) == 2
