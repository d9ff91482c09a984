"""Fill a database with a realistic volume of Zoufang data, for timing the dashboard and reports.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/zoufang_bench .venv/bin/python -m bench.generate_volume

Defaults: one city of 5 counties, 50 township stations with 10 villages each (80% with a service
point), 3 workers per station, 5 supervisors, 20,000 beneficiaries and 100,000 visits over the last
year (mostly approved home visits; the rest in every kind and state), written oldest first. People and
visits go in by COPY on PostgreSQL (by executemany elsewhere), never one ORM object at a time; then every
person's kept schedule state is rebuilt from the visits, and the planner statistics are refreshed (VACUUM
ANALYZE). The schema is built by the migrations if missing. A database that already holds stations is
refused unless --force, which adds a further city beside it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import JSON, Table, func, insert, select, text
from stdnum.cn import ric

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from models import Beneficiary, BeneficiaryCategory, Region, ServicePoint, Station, User, Visit, id_numbers
from models.enums import BENEFICIARY_CATEGORIES, KINDS_WITH_BENEFICIARY
from services.accounts.credentials import hash_password
from services.reporting.schedule_state import rebuild_schedule_state

# Shares of visit kinds and states, after the seed's figures (home visits dominate by far).
KIND_WEIGHTS = {"home_visit": 70, "care_call": 8, "case_service": 6, "community_activity": 6, "policy_outreach": 4,
                "hardship_assistance": 3, "epidemic_response": 2, "disaster_relief": 1}
STATUS_WEIGHTS = {"approved": 86, "submitted": 6, "returned": 4, "rejected": 4}
RISK_WEIGHTS = {None: 60, "general": 15, "key": 17, "high": 8}
BENCH_PASSWORD = "bench-password-1"
CHUNK = 5000


@dataclass(frozen=True)
class Volume:
    """How much to generate."""

    counties: int = 5
    stations: int = 50
    villages_per_station: int = 10
    workers_per_station: int = 3
    supervisors: int = 5
    beneficiaries: int = 20_000
    visits: int = 100_000
    days: int = 365
    seed: int = 20240620


class DatabaseNotEmpty(Exception):
    """The target database already holds data and --force was not given."""


def generate(volume: Volume, *, force: bool = False, now: datetime | None = None) -> dict[str, int]:
    """Generate the volume into the app's database (inside an app context); return the row counts added."""
    existing_cities = db.session.scalar(select(func.count(Region.id)).where(Region.level == "city"))
    if db.session.scalar(select(func.count(Station.id))) and not force:
        raise DatabaseNotEmpty("the database already holds stations; pass --force to add a further city")
    rng = random.Random(volume.seed + existing_cities)
    now = now or datetime.now(UTC)
    run = existing_cities  # makes every code of a further run unique
    stations, villages_by_station = _regions_and_stations(volume, run, rng)
    workers_by_station = _users(volume, run, stations)
    people_by_station = _beneficiaries(volume, run, rng, stations, villages_by_station, now)
    visits = _visits(volume, run, rng, stations, workers_by_station, people_by_station, now)
    db.session.commit()
    # The rows went in around the ORM: the kept schedule state is computed once, from the visits.
    rebuild_schedule_state()
    return {"stations": len(stations), "service_points": sum(len(v) for v in villages_by_station.values()),
            "workers": sum(len(w) for w in workers_by_station.values()),
            "beneficiaries": sum(len(p) for p in people_by_station.values()), "visits": visits}


def _regions_and_stations(volume: Volume, run: int, rng: random.Random):
    city_code = f"{41 + run:02d}0100"
    city = Region(code=city_code, name=f"测试市{run + 1}", level="city")
    db.session.add(city)
    counties = [Region(code=f"{city_code[:4]}{index + 1:02d}", name=f"第{index + 1}区", level="county", parent=city)
                for index in range(volume.counties)]
    db.session.add_all(counties)
    stations, villages_by_station = [], {}
    for index in range(volume.stations):
        county = counties[index % volume.counties]
        township = Region(code=f"{county.code}{index + 1:03d}", name=f"第{index + 1}镇", level="township",
                          parent=county)
        latitude, longitude = 21.5 + rng.random(), 110.5 + rng.random()
        station = Station(code=township.code, name=f"第{index + 1}镇社工站", region=township,
                          latitude=latitude, longitude=longitude)
        villages = [Region(code=f"{township.code}{number + 1:03d}", name=f"第{index + 1}镇{number + 1}村",
                           level="village", parent=township) for number in range(volume.villages_per_station)]
        points = [ServicePoint(station=station, region=village, name=f"{village.name}服务点",
                               latitude=latitude + rng.uniform(-0.05, 0.05),
                               longitude=longitude + rng.uniform(-0.05, 0.05))
                  for village in villages if rng.random() < 0.8]
        db.session.add_all([township, station, *villages, *points])
        stations.append(station)
        villages_by_station[station] = points
    db.session.flush()
    return stations, villages_by_station


def _users(volume: Volume, run: int, stations: list[Station]) -> dict[Station, list[int]]:
    password_hash = hash_password(BENCH_PASSWORD)
    workers: dict[Station, list[User]] = {}
    for index, station in enumerate(stations):
        workers[station] = [User(username=f"bench{run}_w{index}_{number}", display_name=f"社工{index}-{number}",
                                 role="worker", password_hash=password_hash, station=station)
                            for number in range(volume.workers_per_station)]
        db.session.add_all(workers[station])
    per_supervisor = max(1, len(stations) // max(volume.supervisors, 1))
    for number in range(volume.supervisors):
        db.session.add(User(username=f"bench{run}_s{number}", display_name=f"督导{number}", role="supervisor",
                            password_hash=password_hash,
                            supervised_stations=stations[number * per_supervisor:(number + 1) * per_supervisor]))
    db.session.add(User(username=f"bench{run}_admin", display_name="管理员", role="admin",
                        password_hash=password_hash))
    db.session.flush()
    return {station: [worker.id for worker in users] for station, users in workers.items()}


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _beneficiaries(volume, run, rng, stations, points_by_station, now) -> dict[Station, list[tuple]]:
    """Bulk-insert the people and their categories; return (id, service_point_id, lat, lon) per station."""
    categories = list(BENEFICIARY_CATEGORIES)
    rows, placed = [], []
    for index in range(volume.beneficiaries):
        station = stations[index % len(stations)]
        point = rng.choice(points_by_station[station]) if points_by_station[station] else None
        county_code = station.code[:6]
        birth = datetime(1935, 1, 1) + timedelta(days=index % 25000)
        body = f"{county_code}{birth:%Y%m%d}{(index // 25000 + run * 10) % 1000:03d}"
        latitude = (point.latitude if point else station.latitude) + rng.uniform(-0.01, 0.01)
        longitude = (point.longitude if point else station.longitude) + rng.uniform(-0.01, 0.01)
        rows.append({
            "name": f"对象{index}", "name_initials": "dx",
            **id_numbers.stored_columns(body + ric.calc_check_digit(body)),
            "gender": rng.choice(("male", "female")), "birth_date": birth.date(),
            "risk_tier": _weighted(rng, RISK_WEIGHTS), "station_id": station.id,
            "service_point_id": point.id if point else None, "address": f"{index}号",
            "home_latitude": latitude, "home_longitude": longitude, "phone": None,
            "status": "active" if rng.random() < 0.97 else "closed",
            "created_at": now - timedelta(days=rng.randint(volume.days, volume.days * 2)), "updated_at": now,
        })
        placed.append((station, point.id if point else None, latitude, longitude))
    ids = _insert_rows(Beneficiary.__table__, rows, returning_ids=True)
    category_rows = []
    for beneficiary_id in ids:
        for category in rng.sample(categories, rng.choice((1, 1, 2))):
            category_rows.append({"beneficiary_id": beneficiary_id, "category": category})
    _insert_rows(BeneficiaryCategory.__table__, category_rows)
    by_station: dict[Station, list[tuple]] = {station: [] for station in stations}
    for beneficiary_id, (station, point_id, latitude, longitude) in zip(ids, placed, strict=True):
        by_station[station].append((beneficiary_id, point_id, latitude, longitude))
    return by_station


def _visits(volume, run, rng, stations, workers_by_station, people_by_station, now) -> int:
    """Bulk-insert the visits through Core executemany, in chunks."""
    reviewer_id = db.session.scalar(select(User.id).where(User.username == f"bench{run}_admin"))
    rows = []
    # Oldest first, as a production table fills: rows received in the same month sit together on disk,
    # which is what the dashboard's "received this month" ranges read.
    ages = sorted((rng.random() ** 1.3 * volume.days for _ in range(volume.visits)), reverse=True)
    for index in range(volume.visits):
        station = stations[index % len(stations)]
        worker_id = rng.choice(workers_by_station[station])
        kind = _weighted(rng, KIND_WEIGHTS)
        age = timedelta(days=ages[index])
        status = "submitted" if age < timedelta(days=3) and rng.random() < 0.5 else _weighted(rng, STATUS_WEIGHTS)
        started_at = now - age - timedelta(hours=2)
        minutes = rng.randint(240, 720) if kind in {"epidemic_response", "disaster_relief"} else rng.randint(8, 75)
        ended_at = started_at + timedelta(minutes=minutes)
        received_at = ended_at + timedelta(minutes=rng.randint(1, 90))
        person = rng.choice(people_by_station[station]) if people_by_station[station] else None
        with_person = kind in KINDS_WITH_BENEFICIARY and person is not None
        latitude = None if kind == "care_call" else (person[2] if with_person else station.latitude)
        longitude = None if kind == "care_call" else (person[3] if with_person else station.longitude)
        warnings = rng.choice((1, 2)) if rng.random() < 0.1 else 0
        decided = status != "submitted"
        rows.append({
            "client_id": f"bench-{run}-{index}", "body_fingerprint": f"{index:064d}", "worker_id": worker_id,
            "beneficiary_id": person[0] if with_person else None, "station_id": station.id,
            "service_point_id": person[1] if with_person else None, "kind": kind,
            "services": ["policy_implementation"], "domains": ["social_assistance"], "started_at": started_at,
            "ended_at": ended_at, "sent_latitude": latitude, "sent_longitude": longitude,
            "coord_type": None if latitude is None else "wgs84", "latitude": latitude, "longitude": longitude,
            "accuracy_m": None if latitude is None else rng.uniform(5, 60), "mock_location": False,
            "distance_from_home_m": None, "client_sent_at": received_at, "notes": "", "findings": {}, "needs": [],
            "follow_up_needed": False, "follow_up_due": None, "photo_consent": True,
            "people_count": rng.randint(10, 60) if kind == "community_activity" else (
                rng.choice((1, 1, 1, 2)) if kind == "home_visit" else 1),
            "status": status, "warning_count": warnings, "warning_severity": 3 if warnings else 0, "revision": 1,
            "received_at": received_at, "updated_at": received_at,
            "reviewer_id": reviewer_id if decided else None,
            "reviewed_at": min(received_at + timedelta(hours=rng.randint(1, 72)), now) if decided else None,
            "review_comment": None,
        })
        if len(rows) == CHUNK * 10:
            _insert_rows(Visit.__table__, rows)
            rows = []
    _insert_rows(Visit.__table__, rows)
    return volume.visits


def _insert_rows(table: Table, rows: list[dict], *, returning_ids: bool = False) -> list[int]:
    """Insert rows (dicts with the same keys) into a table: COPY on PostgreSQL, executemany elsewhere.

    With returning_ids, the new ids in the order of the rows (COPY in one session takes the sequence's
    values in row order, so the ids above the previous maximum are the rows' ids, in order).
    """
    if not rows:
        return []
    if db.engine.dialect.name != "postgresql":
        ids = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            if returning_ids:
                ids += db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                          chunk).all()
            else:
                db.session.execute(insert(table), chunk)
        return ids
    columns = list(rows[0])
    as_json = {name for name in columns if isinstance(table.c[name].type, JSON)}
    before = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) if returning_ids else 0
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[name]) if name in as_json else row[name] for name in columns])
    if not returning_ids:
        return []
    ids = db.session.scalars(select(table.c.id).where(table.c.id > before).order_by(table.c.id)).all()
    if len(ids) != len(rows):
        raise RuntimeError(f"{table.name}: expected {len(rows)} new ids, found {len(ids)} (a concurrent writer?)")
    return list(ids)


def main(argv: list[str] | None = None) -> int:
    """Command line: generate into DATABASE_URL (the app's default database when unset)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=Volume.visits)
    parser.add_argument("--stations", type=int, default=Volume.stations)
    parser.add_argument("--beneficiaries", type=int, default=Volume.beneficiaries)
    parser.add_argument("--force", action="store_true", help="add a further city to a database that holds data")
    arguments = parser.parse_args(argv)
    volume = Volume(visits=arguments.visits, stations=arguments.stations, beneficiaries=arguments.beneficiaries,
                    counties=min(Volume.counties, arguments.stations), supervisors=min(5, arguments.stations))
    app = create_app()
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        began = time.perf_counter()
        try:
            counts = generate(volume, force=arguments.force)
        except DatabaseNotEmpty as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
        elapsed = time.perf_counter() - began
        analyzed = time.perf_counter()
        # Planner statistics after a bulk load: without them PostgreSQL picks nested loops over the
        # visits and the dashboard takes seconds. VACUUM also sets the visibility map, so the queue and
        # coverage read their indexes without visiting the table (index-only scans).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
        analyze_seconds = time.perf_counter() - analyzed
    print(", ".join(f"{name} {count:,}" for name, count in counts.items())
          + f" in {elapsed:.1f} s (then {analyze_seconds:.1f} s of planner statistics)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
