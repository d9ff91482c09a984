"""flask contract prepare|clean: the contract's own worker, and nothing of its run left in any queue."""

from sqlalchemy import func, select

from extensions import db
from models import Beneficiary, Photo, ReviewEvent, User, Visit, VisitWarning
from services.accounts.contract import CONTRACT_USERNAME
from services.accounts.credentials import authenticate
from tests.factories import make_visit, make_worker


def test_prepare_makes_a_worker_with_a_station_and_a_person_of_its_own(app, runner, tmp_path):
    login_file = tmp_path / "contract_login.txt"
    result = runner.invoke(args=["contract", "prepare", "--login-file", str(login_file)])
    assert result.exit_code == 0, result.output
    username, password = login_file.read_text().split()
    assert username == CONTRACT_USERNAME and oct(login_file.stat().st_mode)[-3:] == "600"
    worker = authenticate(username, password)
    assert worker.role == "worker" and worker.station.code == "contract-check"
    people = db.session.scalars(select(Beneficiary).where(Beneficiary.station_id == worker.station_id)).all()
    assert len(people) == 1 and people[0].name == "契约检查对象"
    # Again: the same worker and station, a new password.
    assert runner.invoke(args=["contract", "prepare", "--login-file", str(login_file)]).exit_code == 0
    assert login_file.read_text().split()[1] != password
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == username)) == 1


def test_clean_discards_only_the_contract_workers_visits(runner, tmp_path):
    runner.invoke(args=["contract", "prepare", "--login-file", str(tmp_path / "login.txt")])
    contract_worker = db.session.scalar(select(User).where(User.username == CONTRACT_USERNAME))
    fake = make_visit(contract_worker, mock_location=True)
    photo_id = fake.photos[0].id
    real = make_visit(make_worker())
    result = runner.invoke(args=["contract", "clean"])
    assert result.exit_code == 0 and "1 visit(s)" in result.output
    db.session.expire_all()
    assert [visit.id for visit in db.session.scalars(select(Visit))] == [real.id]
    for model in (VisitWarning, ReviewEvent):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.visit_id == fake.id)) == 0
    assert db.session.get(Photo, photo_id).visit_id is None
