"""A throwaway worker for `make contract`, so the phone API contract never touches the demo's people or queue.

The contract script logs in as a worker, visits that worker's first beneficiary and submits a check-in.
Run as a demo worker, it would leave a fake visit to a real (demo) person in the supervisors' review
queue. Instead it runs as `contract_worker` of a station of its own with one made-up person, and the
visits it leaves are discarded afterwards.
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import delete, select, update

from extensions import db
from models import Beneficiary, Photo, ReviewEvent, Station, User, Visit
from services.accounts.credentials import hash_password
from services.registry.fields import complete_id_number

CONTRACT_STATION_CODE = "contract-check"
CONTRACT_USERNAME = "contract_worker"
CONTRACT_PERSON_ID_BODY = "11010119000101999"  # 1900-01-01: no real person of the registry is that old


def prepare_contract_worker() -> tuple[User, str]:
    """The contract's worker (created when missing) with a fresh random password, and that password."""
    station = db.session.scalar(select(Station).where(Station.code == CONTRACT_STATION_CODE))
    if station is None:
        station = Station(code=CONTRACT_STATION_CODE, name="接口契约检查（自动清理）")
        db.session.add(station)
    if db.session.scalar(select(Beneficiary.id).where(Beneficiary.station == station)) is None:
        person = Beneficiary(name="契约检查对象", name_initials="qyjcdx", station=station, gender="female",
                             id_number=complete_id_number(CONTRACT_PERSON_ID_BODY), birth_date=date(1900, 1, 1),
                             address="（接口契约检查，不是真实的人）", home_latitude=21.665, home_longitude=110.928,
                             status="active")
        person.categories = ["other"]
        db.session.add(person)
    password = secrets.token_urlsafe(18)
    worker = db.session.scalar(select(User).where(User.username == CONTRACT_USERNAME))
    if worker is None:
        worker = User(username=CONTRACT_USERNAME, role="worker", display_name="接口契约检查", active=True,
                      password_hash="")
        db.session.add(worker)
    worker.station = station
    worker.active = True
    worker.password_hash = hash_password(password)
    db.session.commit()
    return worker, password


def discard_contract_visits() -> int:
    """Delete every visit of the contract's worker (with its warnings and history); return how many.

    Their photos are detached and left to `flask photos prune --unattached-days`.
    """
    worker_id = db.session.scalar(select(User.id).where(User.username == CONTRACT_USERNAME))
    if worker_id is None:
        return 0
    visit_ids = list(db.session.scalars(select(Visit.id).where(Visit.worker_id == worker_id)))
    if visit_ids:
        db.session.execute(update(Photo).where(Photo.visit_id.in_(visit_ids)).values(visit_id=None))
        db.session.execute(delete(ReviewEvent).where(ReviewEvent.visit_id.in_(visit_ids)))
        for visit in db.session.scalars(select(Visit).where(Visit.id.in_(visit_ids))):
            db.session.delete(visit)  # the ORM cascade takes its warnings and co-worker links
    db.session.commit()
    return len(visit_ids)
