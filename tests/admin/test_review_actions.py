"""Review actions over HTTP: approve / reject / return / reopen, required comments, no self-approval, CSRF, audit."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, ReviewEvent, Visit
from tests.admin.conftest import csrf_token_from
from tests.factories import make_admin, make_reviewable_visit, make_station, make_supervisor, make_worker


def post_action(client, visit, action: str, comment: str | None = None, *, with_token: bool = True):
    data = {} if comment is None else {"comment": comment}
    if with_token:
        data["csrf_token"] = csrf_token_from(client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True))
    return client.post(f"/admin/review/visit/{visit.id}/{action}", data=data, follow_redirects=True)


def state_of(visit) -> tuple[str, int, int]:
    """The visit's status and how many review and audit events it has."""
    db.session.expire_all()
    reviews = db.session.scalar(select(func.count()).select_from(ReviewEvent).where(ReviewEvent.visit_id == visit.id))
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "visit_reviewed", AuditEvent.object_id == visit.id))
    return db.session.get(Visit, visit.id).status, reviews, audits


@pytest.fixture
def station(app):
    return make_station()


@pytest.fixture
def reviewer(client, login_as, station):
    supervisor = make_supervisor(station)
    login_as(supervisor)
    return supervisor


@pytest.mark.parametrize(("action", "comment", "status"), [
    ("approve", None, "approved"),
    ("approve", "情况属实", "approved"),
    ("reject", "照片非本人住所", "rejected"),
    ("return", "请补拍门牌号", "returned"),
])
def test_each_action_moves_the_visit_and_writes_a_review_and_an_audit_event(client, station, reviewer, action,
                                                                           comment, status):
    visit = make_reviewable_visit(make_worker(station))
    response = post_action(client, visit, action, comment)
    assert response.status_code == 200
    assert f"走访记录 #{visit.id}" in response.get_data(as_text=True)
    assert state_of(visit) == (status, 1, 1)
    event = db.session.scalar(select(ReviewEvent).where(ReviewEvent.visit_id == visit.id))
    assert (event.actor_id, event.action, event.comment) == (reviewer.id, action, comment)


@pytest.mark.parametrize("action", ["reject", "return"])
@pytest.mark.parametrize("comment", [None, "", "   "])
def test_reject_and_return_without_a_comment_are_refused_and_change_nothing(client, station, reviewer, action,
                                                                            comment):
    visit = make_reviewable_visit(make_worker(station))
    response = post_action(client, visit, action, comment)
    assert "请填写意见或原因" in response.get_data(as_text=True)
    assert state_of(visit) == ("submitted", 0, 0)


def test_reopen_needs_a_reason_and_a_decided_visit(client, station, reviewer):
    visit = make_reviewable_visit(make_worker(station))
    assert "当前状态不能执行此操作" in post_action(client, visit, "reopen", "复查").get_data(as_text=True)
    post_action(client, visit, "reject", "不在家")
    assert "请填写意见或原因" in post_action(client, visit, "reopen", " ").get_data(as_text=True)
    assert state_of(visit) == ("rejected", 1, 1)
    post_action(client, visit, "reopen", "社工补充了电话记录")
    assert state_of(visit) == ("submitted", 2, 2)


def test_record_page_offers_reopen_only_for_decided_visits(client, station, reviewer):
    visit = make_reviewable_visit(make_worker(station))
    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)
    assert f"/visit/{visit.id}/approve" in page and f"/visit/{visit.id}/reopen" not in page
    post_action(client, visit, "approve")
    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)
    assert f"/visit/{visit.id}/reopen" in page and f"/visit/{visit.id}/approve" not in page


def test_a_supervisor_cannot_approve_their_own_visit(client, station, reviewer):
    own = make_reviewable_visit(reviewer, station_id=station.id)
    response = post_action(client, own, "approve")
    assert "不能审核自己提交的走访记录" in response.get_data(as_text=True)
    assert state_of(own) == ("submitted", 0, 0)


def test_a_coworker_on_the_visit_cannot_approve_it(client, station, reviewer):
    visit = make_reviewable_visit(make_worker(station), coworkers=[reviewer])
    assert "不能审核自己提交的走访记录" in post_action(client, visit, "approve").get_data(as_text=True)
    assert state_of(visit) == ("submitted", 0, 0)


def test_an_admin_cannot_approve_their_own_visit_either(client, login_as, station):
    admin = make_admin()
    login_as(admin)
    own = make_reviewable_visit(admin, station_id=station.id)
    assert "不能审核自己提交的走访记录" in post_action(client, own, "approve").get_data(as_text=True)
    assert state_of(own) == ("submitted", 0, 0)


@pytest.mark.parametrize("action", ["approve", "reject", "return"])
def test_a_post_without_csrf_token_changes_nothing(client, station, reviewer, action):
    visit = make_reviewable_visit(make_worker(station))
    response = post_action(client, visit, action, "理由", with_token=False)
    assert response.status_code == 400
    assert state_of(visit) == ("submitted", 0, 0)


def test_acting_on_another_stations_visit_is_not_found(client, reviewer):
    visit = make_reviewable_visit(make_worker(make_station()))
    token = csrf_token_from(client.get("/admin/review/").get_data(as_text=True))
    response = client.post(f"/admin/review/visit/{visit.id}/approve", data={"csrf_token": token})
    assert response.status_code == 404
    assert state_of(visit) == ("submitted", 0, 0)


def test_an_overlong_comment_is_refused(client, station, reviewer):
    visit = make_reviewable_visit(make_worker(station))
    assert "意见不能超过" in post_action(client, visit, "reject", "长" * 2001).get_data(as_text=True)
    assert state_of(visit) == ("submitted", 0, 0)


def test_after_a_decision_the_next_record_of_the_queue_opens(client, station, reviewer):
    worker = make_worker(station)
    first, second = make_reviewable_visit(worker), make_reviewable_visit(worker)
    token = csrf_token_from(client.get(f"/admin/review/visit/{first.id}").get_data(as_text=True))
    response = client.post(f"/admin/review/visit/{first.id}/approve", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/review/visit/{second.id}")
    response = client.post(f"/admin/review/visit/{second.id}/approve", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/admin/review/")
