"""flask seed-demo [--if-empty]: the demo county's numbers, valid people, the 0600 logins file, idempotence."""

import stat

import pytest
from sqlalchemy import func, select
from stdnum.cn import ric

from extensions import db
from models import Beneficiary, ServicePoint, Station, User
from services.beneficiaries import validate_id_number
from services.geo import distance_m
from tests.factories import make_admin


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


@pytest.fixture
def logins_file(tmp_path):
    return tmp_path / "instance" / "demo_logins.txt"


def seed(runner, logins_file, *options):
    return runner.invoke(args=["seed-demo", "--logins-file", str(logins_file), *options])


def test_seed_demo_creates_the_stated_county(runner, logins_file):
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


def test_demo_people_are_valid_varied_and_live_near_their_village(runner, logins_file):
    assert seed(runner, logins_file).exit_code == 0
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


def test_logins_file_is_private_and_lists_every_account(runner, logins_file, client):
    result = seed(runner, logins_file)
    assert stat.S_IMODE(logins_file.stat().st_mode) == 0o600
    lines = logins_file.read_text(encoding="utf-8").splitlines()
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


def test_passwords_differ_between_seedings(runner, logins_file, tmp_path, app):
    assert seed(runner, logins_file).exit_code == 0
    first = logins_file.read_text(encoding="utf-8")
    for user in db.session.scalars(select(User)):
        db.session.delete(user)
    db.session.query(Beneficiary).delete()
    db.session.query(ServicePoint).delete()
    db.session.query(Station).delete()
    db.session.commit()
    assert seed(runner, logins_file).exit_code == 0
    assert logins_file.read_text(encoding="utf-8") != first


def test_if_empty_on_a_seeded_database_adds_nothing_and_prints_the_logins(runner, logins_file):
    first = seed(runner, logins_file, "--if-empty")
    assert first.exit_code == 0, first.output
    before = (count(User), count(Station), count(Beneficiary))
    contents = logins_file.read_text(encoding="utf-8")
    second = seed(runner, logins_file, "--if-empty")
    assert second.exit_code == 0, second.output
    assert (count(User), count(Station), count(Beneficiary)) == before
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
