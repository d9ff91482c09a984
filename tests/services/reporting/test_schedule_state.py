"""The schedule state kept on each person's row equals the one rebuilt from the visits, whatever happened before."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Beneficiary, Visit, utcnow
from models.enums import BENEFICIARY_CATEGORIES, RISK_TIER_INTERVAL_DAYS
from services.registry.bulk_import import import_beneficiaries
from services.registry.people import BeneficiaryChanges, save_beneficiary
from services.reporting.schedule_state import COUNTING_KINDS, rebuild_schedule_state
from services.reporting.schedules import (
    category_intervals,
    day_number,
    local_date,
    required_interval_days,
    set_category_interval,
)
from services.visits.review import approve_visit, reject_visit, reopen_visit, return_visit
from tests.factories import make_admin, make_beneficiary, make_reviewable_visit, make_station, make_worker

CATEGORIES = sorted(BENEFICIARY_CATEGORIES)
KINDS = ("home_visit", "case_service", "care_call", "community_activity", "policy_outreach")


def kept_state() -> dict[int, tuple]:
    rows = db.session.execute(
        select(Beneficiary.id, Beneficiary.schedule_interval_days, Beneficiary.last_approved_visit_at,
               Beneficiary.next_due_day).order_by(Beneficiary.id))
    return {person_id: tuple(values) for person_id, *values in rows}


def state_from_first_principles() -> dict[int, tuple]:
    """What the state must be, worked out in Python from the rows (not by the code under test)."""
    intervals = category_intervals()
    expected = {}
    for person in db.session.scalars(select(Beneficiary).order_by(Beneficiary.id)):
        starts = db.session.scalars(select(Visit.started_at).where(
            Visit.beneficiary_id == person.id, Visit.status == "approved", Visit.kind.in_(COUNTING_KINDS))).all()
        last = max(starts, default=None)
        interval = required_interval_days(person.categories, person.risk_tier, intervals)
        next_due = day_number(local_date(last)) + interval if last else day_number(local_date(person.created_at))
        expected[person.id] = (interval, last, next_due)
    return expected


def run_random_operations(rng: random.Random, steps: int) -> None:
    stations = [make_station(), make_station()]
    workers = [make_worker(station) for station in stations]
    admin = make_admin()
    people = [make_beneficiary(rng.choice(stations), categories=rng.sample(CATEGORIES, rng.randint(1, 2)),
                               risk_tier=rng.choice((None, *RISK_TIER_INTERVAL_DAYS)),
                               created_at=utcnow() - timedelta(days=rng.randint(0, 400)))
              for _ in range(6)]
    now = utcnow()

    def visits_in(*statuses):
        return db.session.scalars(select(Visit).where(Visit.status.in_(statuses)).order_by(Visit.id)).all()

    for _ in range(steps):
        operation = rng.choice(("submit", "submit", "approve", "approve", "approve", "decline", "reopen",
                                "categories", "risk_tier", "interval", "import", "person"))
        if operation == "submit":
            person = rng.choice(people)
            worker = next(w for w in workers if w.station_id == person.station_id)
            make_reviewable_visit(worker, person, kind=rng.choice(KINDS),
                                  started_at=now - timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 900)))
        elif operation == "approve" and visits_in("submitted"):
            approve_visit(admin, rng.choice(visits_in("submitted")).id)
        elif operation == "decline" and visits_in("submitted"):
            decline = rng.choice((reject_visit, return_visit))
            decline(admin, rng.choice(visits_in("submitted")).id, "照片不清楚")
        elif operation == "reopen" and visits_in("approved", "rejected"):
            reopen_visit(admin, rng.choice(visits_in("approved", "rejected")).id, "复核")
        elif operation == "categories":
            save_beneficiary(rng.choice(people),
                             BeneficiaryChanges(categories=tuple(rng.sample(CATEGORIES, rng.randint(1, 3)))), admin)
        elif operation == "risk_tier":
            save_beneficiary(rng.choice(people),
                             BeneficiaryChanges(risk_tier=rng.choice(("", *RISK_TIER_INTERVAL_DAYS))), admin)
        elif operation == "interval":
            set_category_interval(rng.choice(CATEGORIES), rng.randint(1, 366), admin)
        elif operation == "import":
            person = rng.choice(people)
            row = {"name": person.name, "id_number": person.id_number, "station_code": person.station.code,
                   "categories": ";".join(rng.sample(CATEGORIES, rng.randint(1, 2))),
                   "risk_tier": rng.choice(("", *RISK_TIER_INTERVAL_DAYS))}
            report = import_beneficiaries([(2, row)], actor=admin)
            assert report.ok, report.errors
        elif operation == "person":
            people.append(make_beneficiary(rng.choice(stations), categories=[rng.choice(CATEGORIES)]))
        db.session.expire_all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_state_equals_the_rebuilt_one_after_random_operations(app, seed):
    run_random_operations(random.Random(seed), steps=60)
    kept = kept_state()
    assert kept == state_from_first_principles()
    assert rebuild_schedule_state() == len(kept)
    assert kept_state() == kept


def test_approving_and_reopening_move_the_next_due_day_in_the_same_transaction(app):
    person = make_beneficiary(categories=["tekun"])  # 30 days
    worker = make_worker(person.station)
    started = utcnow() - timedelta(days=3)
    visit = make_reviewable_visit(worker, person, started_at=started)
    registered_day = day_number(local_date(person.created_at))
    assert kept_state()[person.id] == (30, None, registered_day)

    approve_visit(make_admin(), visit.id)
    assert kept_state()[person.id] == (30, started, day_number(local_date(started)) + 30)

    reopen_visit(make_admin(), visit.id, "复核")
    assert kept_state()[person.id] == (30, None, registered_day)


def test_schedules_rebuild_command_repairs_a_state_changed_behind_the_apps_back(app, runner):
    person = make_beneficiary(categories=["tekun"], risk_tier="high")
    expected = kept_state()
    db.session.execute(Beneficiary.__table__.update().values(schedule_interval_days=365, next_due_day=0))
    db.session.commit()

    result = runner.invoke(args=["schedules", "rebuild"])

    assert result.exit_code == 0, result.output
    assert "rebuilt the schedule state of 1 people" in result.output
    assert kept_state() == expected
    assert expected[person.id][0] == 7
