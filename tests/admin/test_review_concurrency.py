"""Two reviewers acting on one visit at the same moment: one wins, the other is told, one review event.

Each reviewer runs in its own thread with its own test client (so its own app context and database
session). Both requests are held at a barrier just before their status UPDATE, after each has loaded
the visit as submitted, so they truly race; on PostgreSQL the loser waits on the row lock and then
matches no row.
"""

import threading

import pytest
from sqlalchemy import event, func, select

from extensions import db
from models import AuditEvent, ReviewEvent, Visit
from tests.admin.conftest import csrf_token_from
from tests.factories import PASSWORD, make_admin, make_reviewable_visit, make_station, make_supervisor, make_worker

CONFLICT_MESSAGE = "该记录已被他人处理"


def review_in_thread(app, username: str, visit_id: int, action: str, comment: str | None, results: dict) -> None:
    client = app.test_client()
    page = client.get("/admin/login")
    client.post("/admin/login", data={"username": username, "password": PASSWORD,
                                      "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    token = csrf_token_from(client.get(f"/admin/review/visit/{visit_id}").get_data(as_text=True))
    response = client.post(f"/admin/review/visit/{visit_id}/{action}",
                           data={"csrf_token": token, "comment": comment or ""}, follow_redirects=True)
    results[action] = response.get_data(as_text=True)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_approve_and_reject_transition_the_visit_once(app, attempt):
    station = make_station()
    visit = make_reviewable_visit(make_worker(station))
    supervisor, admin = make_supervisor(station), make_admin()
    barrier = threading.Barrier(2, timeout=20)

    def hold_at_the_update(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE VISITS"):
            barrier.wait()

    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=review_in_thread, args=(app, supervisor.username, visit.id, "approve", None, results)),
        threading.Thread(target=review_in_thread, args=(app, admin.username, visit.id, "reject", "不在家", results)),
    ]
    event.listen(db.engine, "before_cursor_execute", hold_at_the_update)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(db.engine, "before_cursor_execute", hold_at_the_update)

    assert not barrier.broken, "both requests must reach their UPDATE together"
    assert sorted(results) == ["approve", "reject"]
    losers = [action for action, page in results.items() if CONFLICT_MESSAGE in page]
    assert len(losers) == 1
    db.session.expire_all()
    status = db.session.get(Visit, visit.id).status
    assert status == {"approve": "rejected", "reject": "approved"}[losers[0]]
    assert db.session.scalar(select(func.count()).select_from(ReviewEvent).where(ReviewEvent.visit_id == visit.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "visit_reviewed", AuditEvent.object_id == visit.id)) == 1
