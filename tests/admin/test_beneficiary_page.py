"""A beneficiary's page in the admin: fields, schedule, visit history linking to the record pages; scoped; paged."""

import re
from datetime import timedelta

import pytest

from models import utcnow
from services.registry.profile import HISTORY_PAGE_SIZE
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)


@pytest.fixture
def scene(app):
    station = make_station()
    return {"station": station, "worker": make_worker(station, display_name="陈社工"),
            "person": make_beneficiary(station, name="张档案", categories=["tekun"]),
            "supervisor": make_supervisor(station)}


def _page(client, person_id: int, **args) -> str:
    response = client.get("/admin/beneficiaries/details/", query_string={"id": person_id, **args})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _history(html: str) -> str:
    return html[html.index('id="visits"'):]


def test_the_page_shows_the_schedule_and_the_visits_linking_to_their_records(client, login_as, scene):
    approved = make_reviewable_visit(scene["worker"], scene["person"], status="approved",
                                     started_at=utcnow().replace(hour=1, minute=30) - timedelta(days=40))
    pending = make_reviewable_visit(scene["worker"], scene["person"], warnings=["far_from_home", "too_short"])
    login_as(scene["supervisor"])
    html = _page(client, scene["person"].id)
    assert "张档案" in html and scene["person"].id_number_masked in html
    # Monthly (特困), last approved 40 days ago: 10 days overdue, one visit awaiting review.
    assert "每 30 天" in html and "逾期 10 天" in html and "1 条走访待审核" in html
    assert approved.started_at.strftime("%Y-%m-%d") + " 09:30" in html  # Beijing time, minutes only
    history = _history(html)
    assert history.index(f"/admin/review/visit/{pending.id}") < history.index(f"/admin/review/visit/{approved.id}")
    assert "陈社工" in history and "待审核" in history and "已通过" in history and "入户走访" in history
    assert re.search(r'badge-warning">2<', history)
    assert "+00:00" not in html


def test_due_in_some_days_and_in_english(client, login_as, csrf_from, scene):
    make_reviewable_visit(scene["worker"], scene["person"], status="approved",
                          started_at=utcnow() - timedelta(days=10))
    login_as(scene["supervisor"])
    url = f"/admin/beneficiaries/details/?id={scene['person'].id}"
    client.post("/admin/language", data={"locale": "en", "next": url, "csrf_token": csrf_from(url)})
    html = _page(client, scene["person"].id)
    assert "Due in 20 days" in html and "Every 30 days" in html and "Visit history" in html


def test_a_person_of_another_station_is_a_404(client, login_as, scene):
    login_as(make_supervisor(make_station()))
    assert client.get(f"/admin/beneficiaries/details/?id={scene['person'].id}").status_code == 404
    assert client.get("/admin/beneficiaries/details/?id=abc").status_code == 404


def test_a_forged_history_cursor_is_a_400(client, login_as, scene):
    login_as(make_admin())
    response = client.get(f"/admin/beneficiaries/details/?id={scene['person'].id}&visits_after=garbage")
    assert response.status_code == 400


def test_the_history_pages_through_older_visits(client, login_as, scene):
    visits = [make_reviewable_visit(scene["worker"], scene["person"], status="approved",
                                    started_at=utcnow() - timedelta(days=200 - index))
              for index in range(HISTORY_PAGE_SIZE + 2)]
    login_as(scene["supervisor"])
    first = _history(_page(client, scene["person"].id))
    assert f"共 {HISTORY_PAGE_SIZE + 2} 条" in first
    assert f"/admin/review/visit/{visits[-1].id}\"" in first and f"/admin/review/visit/{visits[1].id}\"" not in first
    older = re.search(r'href="([^"]*visits_after=[^"]*)"', first).group(1).replace("&amp;", "&")
    second = _history(client.get(older).get_data(as_text=True))
    assert f"/admin/review/visit/{visits[0].id}\"" in second and f"/admin/review/visit/{visits[1].id}\"" in second
    assert f"/admin/review/visit/{visits[2].id}\"" not in second and "visits_after" not in second


def test_the_page_costs_the_same_queries_whatever_the_number_of_visits(client, login_as, scene, count_queries):
    few = make_beneficiary(scene["station"], categories=["dibao", "disabled"])
    make_reviewable_visit(scene["worker"], few, status="approved")
    for index in range(25):
        make_reviewable_visit(make_worker(scene["station"]), scene["person"], warnings=["too_short"] * (index % 2),
                              started_at=utcnow() - timedelta(days=index + 1))
    login_as(scene["supervisor"])
    counts = []
    for person_id in (few.id, scene["person"].id):
        with count_queries() as counter:
            _page(client, person_id)
        counts.append(counter.count)
    # The signed-in user, then services.registry.profile's five (person, categories, schedule, visits, total).
    assert counts[0] == counts[1] <= 6, counts
