"""flask users add | set-password | deactivate, for every role, with typed and prompted passwords."""

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from extensions import db
from models import User
from tests.factories import auth_headers, make_station, make_worker


def user_named(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def test_add_worker_with_one_station(runner):
    station = make_station()
    result = runner.invoke(args=["users", "add", "liwei", "--role", "worker", "--name", "李伟",
                                 "--station", station.code, "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    user = user_named("liwei")
    assert (user.role, user.display_name, user.station_id) == ("worker", "李伟", station.id)
    assert check_password_hash(user.password_hash, "long-enough-pw")


def test_add_supervisor_with_several_stations(runner):
    first, second = make_station(), make_station()
    result = runner.invoke(args=["users", "add", "zhaoyan", "--role", "supervisor", "--station", first.code,
                                 "--station", second.code, "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    assert {station.id for station in user_named("zhaoyan").supervised_stations} == {first.id, second.id}


def test_add_admin_without_station(runner):
    result = runner.invoke(args=["users", "add", "boss", "--role", "admin", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    assert user_named("boss").role == "admin"


def test_worker_without_station_is_refused(runner):
    result = runner.invoke(args=["users", "add", "lonely", "--role", "worker", "--password", "long-enough-pw"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert user_named("lonely") is None


def test_worker_with_unknown_station_is_refused(runner):
    result = runner.invoke(args=["users", "add", "lost", "--role", "worker", "--station", "nowhere",
                                 "--password", "long-enough-pw"])
    assert result.exit_code == 1
    assert "nowhere" in result.output
    assert user_named("lost") is None


def test_password_is_prompted_when_not_given(runner):
    station = make_station()
    result = runner.invoke(args=["users", "add", "prompted", "--role", "worker", "--station", station.code],
                           input="typed-at-prompt\ntyped-at-prompt\n")
    assert result.exit_code == 0, result.output
    assert "typed-at-prompt" not in result.output  # hidden input is not echoed
    assert check_password_hash(user_named("prompted").password_hash, "typed-at-prompt")


def test_duplicate_username_and_short_password_are_refused(runner):
    station = make_station()
    args = ["users", "add", "twice", "--role", "worker", "--station", station.code]
    assert runner.invoke(args=[*args, "--password", "long-enough-pw"]).exit_code == 0
    assert runner.invoke(args=[*args, "--password", "long-enough-pw"]).exit_code == 1
    assert runner.invoke(args=["users", "add", "short", "--role", "admin", "--password", "short"]).exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_set_password_prompts_and_revokes_tokens(runner, client):
    worker = make_worker()
    headers = auth_headers(worker)
    result = runner.invoke(args=["users", "set-password", worker.username], input="brand-new-pass\nbrand-new-pass\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(user_named(worker.username).password_hash, "brand-new-pass")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_set_password_of_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "set-password", "nobody", "--password", "brand-new-pass"])
    assert result.exit_code == 1
    assert "nobody" in result.output


def test_deactivate_stops_tokens_at_once(runner, client):
    worker = make_worker()
    headers = auth_headers(worker)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    result = runner.invoke(args=["users", "deactivate", worker.username])
    assert result.exit_code == 0, result.output
    assert user_named(worker.username).active is False
    assert client.get("/api/v1/me", headers=headers).status_code == 401
