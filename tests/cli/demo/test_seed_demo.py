"""flask seed-demo [--if-empty]: the demo county's numbers, valid people, the 0600 logins file, idempotence,
and its three months of visits: every status, a warned queue, figures on the dashboard and in the report."""

import io
import stat
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from stdnum.cn import ric

from extensions import db
from models import AuditEvent, Beneficiary, Photo, ReviewEvent, ServicePoint, Station, User, Visit, utcnow
from models.enums import DUTY_KINDS, VISIT_STATUSES
from services.geo import distance_m
from services.registry.fields import validate_id_number
from services.reporting.dashboard import build_dashboard
from services.reporting.reports import build_report
from services.reporting.schedules import local_date
from services.storage import get_storage
from services.visits.review import review_queue_page
from tests.factories import make_admin


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


@pytest.fixture
def logins_file(tmp_path):
    return tmp_path / "instance" / "demo_logins.txt"


def seed(runner, logins_file, *options):
    return runner.invoke(args=["seed-demo", "--logins-file", str(logins_file), *options])


def test_seed_demo_creates_the_stated_county_and_its_registry(runner, logins_file):
    result = seed(runner, logins_file)
    assert result.exit_code == 0, result.output
    stations = db.session.scalars(select(Station)).all()
    assert len(stations) == 3
    assert {station.region.parent.name for station in stations} == {"茂南区"}
    assert {station.region.parent.code for station in stations} == {"440902"}
    for station in stations:
        assert 3 <= count(ServicePoint, ServicePoint.station_id == station.id) <= 5
        assert count(User, User.role == "worker", User.station_id == station.id) == 2
        assert distance_m(station.latitude, station.longitude, 21.66, 110.92) < 30_000
    assert count(User, User.role == "worker") == 6
    assert count(User, User.role == "admin") == 1
    supervisors = db.session.scalars(select(User).where(User.role == "supervisor")).all()
    assert sorted(len(user.supervised_stations) for user in supervisors) == [1, 2]
    assert 50 <= count(Beneficiary) <= 70

    # The people are valid, varied and live near their village.
    people = db.session.scalars(select(Beneficiary)).all()
    for person in people:
        assert validate_id_number(person.id_number) == person.id_number
        assert person.id_number.startswith("440902")
        assert ric.get_birth_date(person.id_number) == person.birth_date
        assert person.gender == ("male" if int(person.id_number[16]) % 2 else "female")
        assert person.name_initials and person.categories and person.address
        point = person.service_point
        assert point.station_id == person.station_id
        assert distance_m(person.home_latitude, person.home_longitude, point.latitude, point.longitude) < 1000
    assert len({person.name for person in people}) == len(people)
    assert len({category for person in people for category in person.categories}) >= 8
    assert {person.risk_tier for person in people} == {"high", "key", "general"}


def story() -> list[tuple]:
    """What the demo's visits say, in a form two seedings can be compared by (ids aside)."""
    return sorted(
        (visit.worker.username, visit.beneficiary.id_number if visit.beneficiary else "", visit.kind,
         visit.started_at, visit.status, visit.notes, tuple(sorted(warning.code for warning in visit.warnings)))
        for visit in db.session.scalars(select(Visit))
    )


def test_logins_are_private_and_random_per_seeding_while_the_story_stays_the_same(runner, logins_file, client):
    result = seed(runner, logins_file)
    assert stat.S_IMODE(logins_file.stat().st_mode) == 0o600
    first = logins_file.read_text(encoding="utf-8")
    lines = first.splitlines()
    assert len(lines) == 9
    roles = [line.split(" ")[0] for line in lines]
    assert roles.count("worker") == 6 and roles.count("supervisor") == 2 and roles.count("admin") == 1
    passwords = {line.split(" ")[2] for line in lines}
    assert len(passwords) == 9  # one random password per account
    for line in lines:
        assert line in result.output  # printed as well
    role, username, password, _display_name = lines[0].split(" ", 3)
    assert role == "worker"
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.get_json()['token']}"}).status_code \
        == 200

    told = story()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    assert seed(runner, logins_file).exit_code == 0
    assert logins_file.read_text(encoding="utf-8") != first
    assert story() == told


def test_if_empty_on_a_seeded_database_adds_nothing_and_prints_the_logins(runner, logins_file):
    first = seed(runner, logins_file, "--if-empty")
    assert first.exit_code == 0, first.output
    before = (count(User), count(Station), count(Beneficiary), count(Visit), count(Photo), count(ReviewEvent))
    assert before[3] > 0 and before[4] > 0
    contents = logins_file.read_text(encoding="utf-8")
    second = seed(runner, logins_file, "--if-empty")
    assert second.exit_code == 0, second.output
    assert (count(User), count(Station), count(Beneficiary), count(Visit), count(Photo), count(ReviewEvent)) == before
    assert logins_file.read_text(encoding="utf-8") == contents
    assert contents.splitlines()[0] in second.output


def test_if_empty_with_real_accounts_and_no_logins_file_seeds_nothing(runner, logins_file):
    make_admin()
    result = seed(runner, logins_file, "--if-empty")
    assert result.exit_code == 0
    assert count(Station) == 0 and not logins_file.exists()


def test_without_if_empty_a_database_with_accounts_is_refused(runner, logins_file):
    make_admin()
    result = seed(runner, logins_file)
    assert result.exit_code == 1
    assert count(Station) == 0 and not logins_file.exists()


# --- the history -------------------------------------------------------------------------------------

def test_demo_history_spans_three_months_in_every_status_with_a_warned_queue(runner, logins_file):
    result = seed(runner, logins_file)
    assert result.exit_code == 0, result.output
    now = utcnow()
    visits = db.session.scalars(select(Visit)).all()
    by_status = {status: [visit for visit in visits if visit.status == status] for status in VISIT_STATUSES}
    assert all(by_status.values()), {status: len(items) for status, items in by_status.items()}
    assert f"{len(visits)} visits of which {len(by_status['submitted'])} await review" in result.output
    # Five warned check-ins and one resubmission at least; a day or three of ordinary ones besides.
    assert 6 <= len(by_status["submitted"]) <= 30
    assert min(visit.started_at for visit in visits) < now - timedelta(days=80)
    assert all(visit.started_at < visit.ended_at <= visit.received_at <= now for visit in visits)
    # Most registered people were visited.
    assert len({visit.beneficiary_id for visit in visits} - {None}) >= 0.8 * count(Beneficiary)

    # The queue holds the last days' check-ins, the warned ones first, with warnings the real checks computed.
    assert min(visit.received_at for visit in by_status["submitted"] if visit.revision == 1) > now - timedelta(days=5)
    warned = [visit for visit in by_status["submitted"] if visit.warning_count]
    codes = {warning.code for visit in warned for warning in visit.warnings}
    assert {"far_from_home", "photo_reused", "too_short", "poor_accuracy"} <= codes
    far = next(warning for visit in warned for warning in visit.warnings if warning.code == "far_from_home")
    assert far.evidence["distance_m"] > 300
    # The demo's check-ins are otherwise clean: warnings are the exception the queue is sorted by.
    assert sum(1 for visit in visits if visit.warning_count) <= 10
    supervisor = db.session.scalar(select(User).where(User.username == "sup_lizhen"))
    queue = review_queue_page(supervisor, None)
    assert queue.total > 0 and queue.items[0].warning_count > 0

    # Decisions were made by the stations' supervisors, after receipt, with a Chinese comment where one is needed.
    for visit in by_status["approved"] + by_status["rejected"] + by_status["returned"]:
        assert visit.reviewer.role == "supervisor"
        assert visit.station in visit.reviewer.supervised_stations
        assert visit.received_at < visit.reviewed_at < now
    for visit in by_status["rejected"] + by_status["returned"]:
        assert any("\u4e00" <= character <= "\u9fff" for character in visit.review_comment)
    resubmitted = [visit for visit in by_status["submitted"] if visit.revision == 2]
    assert len(resubmitted) == 1
    assert [event.action for event in resubmitted[0].review_events] == ["submit", "return", "resubmit"]
    # The trail is dated as the story tells it: submitted when received, decided when reviewed.
    visit = by_status["approved"][0]
    submit_event, approve_event = visit.review_events
    assert submit_event.created_at == visit.received_at and approve_event.created_at == visit.reviewed_at
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "visit_reviewed",
                                                       AuditEvent.object_id == visit.id))
    assert audit.created_at == visit.reviewed_at
    # The county went live before its history began.
    assert max(person.created_at for person in db.session.scalars(select(Beneficiary))) < \
        min(visit.started_at for visit in visits)

    # Each kind is shaped as the phone would send it.
    kinds = {visit.kind for visit in visits}
    assert {"home_visit", "case_service", "care_call", "community_activity"} <= kinds and kinds & DUTY_KINDS
    for visit in visits:
        if visit.kind == "care_call":
            assert visit.latitude is None and not visit.photos
        else:
            assert visit.latitude is not None
        if visit.kind == "home_visit":
            assert visit.photos and visit.notes
    assert all(visit.people_count > 1 for visit in visits if visit.kind == "community_activity")
    assert all(visit.duration_minutes >= 180 for visit in visits if visit.kind in DUTY_KINDS)

    # The photos are real JPEGs in storage, distinct, most with the phone's capture time and place.
    photos = db.session.scalars(select(Photo)).all()
    assert photos and all(photo.visit_id is not None for photo in photos)
    storage = get_storage()
    for photo in photos:
        assert storage.exists(photo.storage_key) and storage.exists(photo.display_key)
        assert storage.exists(photo.thumb_key)
    with Image.open(io.BytesIO(storage.get(photos[0].storage_key))) as image:
        assert image.format == "JPEG" and image.size == (640, 480)
    with_exif = [photo for photo in photos if photo.taken_at is not None and photo.gps_latitude is not None]
    assert len(with_exif) >= 0.7 * len(photos)
    # Distinct pictures: only the one reused on purpose shares its perceptual hash.
    assert len({photo.phash for photo in photos}) >= len(photos) - 1
    for photo in with_exif:
        visit = photo.visit
        assert visit.started_at - timedelta(hours=12) <= photo.taken_at <= visit.received_at or \
            any(warning.code == "photo_old" for warning in visit.warnings)


def test_demo_dashboard_report_and_overdue_list_have_figures(runner, logins_file):
    assert seed(runner, logins_file).exit_code == 0
    admin = db.session.scalar(select(User).where(User.role == "admin"))
    dashboard = build_dashboard(admin)
    assert dashboard.pending_total >= 6 and dashboard.oldest_pending_received_at is not None
    assert all(station.covered > 0 for station in dashboard.stations)
    assert dashboard.villages.part > 0
    assert dashboard.overdue and all(status.overdue for status in dashboard.overdue)
    # The periods follow the calendar and this month may have begun this morning; ten days ago, a month was
    # under way (and everything since counts from its start).
    earlier = build_dashboard(admin, now=utcnow() - timedelta(days=10))
    month = next(period for period in earlier.periods if period.key == "month")
    assert month.submitted > 0 and month.approved > 0 and month.warned > 0
    assert all(worker.visits_this_month > 0 for worker in earlier.workers)

    today = local_date(utcnow())
    report = build_report(admin, today - timedelta(days=100), today)
    total = report.total
    assert total.approved_visits > 100
    assert total.home_visit_person_times > 0 and total.case_services > 0 and total.care_calls > 0
    assert total.community_activities > 0 and total.policy_outreach > 0 and total.hardship_assistance > 0
    assert total.disaster_relief_hours > 0 and total.epidemic_response_hours > 0
    assert 0 < total.registered_served < total.registered
    # Only approved work is counted.
    assert total.approved_visits == count(Visit, Visit.status == "approved")
