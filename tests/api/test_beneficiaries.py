"""GET /api/v1/beneficiaries: scope, search by name and initials, nearest first, due lists, schedules, pagination,
last visit, cost."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import utcnow
from services.geo import distance_m
from tests.factories import (
    auth_headers,
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_service_point,
    make_station,
    make_supervisor,
    make_visit,
    make_worker,
)

URL = "/api/v1/beneficiaries"
BEIJING = ZoneInfo("Asia/Shanghai")


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_a_worker_sees_only_the_active_people_of_their_own_station(client):
    station, other_station = make_station(), make_station()
    worker = make_worker(station)
    make_beneficiary(station, name="王芳")
    make_beneficiary(station, name="赵强", status="closed")
    make_beneficiary(other_station, name="钱伟")
    assert names(client.get(URL, headers=auth_headers(worker))) == ["王芳"]


def test_a_supervisor_sees_their_stations_and_an_admin_everyone(client):
    first, second, unsupervised = make_station(), make_station(), make_station()
    make_beneficiary(first, name="甲", name_initials="j")
    make_beneficiary(second, name="乙", name_initials="y")
    make_beneficiary(unsupervised, name="丙", name_initials="b")
    supervisor = make_supervisor(first, second)
    assert sorted(names(client.get(URL, headers=auth_headers(supervisor)))) == sorted(["甲", "乙"])
    assert sorted(names(client.get(URL, headers=auth_headers(make_admin())))) == sorted(["甲", "乙", "丙"])


def test_the_list_needs_a_token(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "missing_token"


def test_an_item_carries_what_the_phone_shows_and_only_the_masked_id_number(client):
    station = make_station(name="石鼓镇社工站")
    point = make_service_point(station, name="石鼓村服务点")
    worker = make_worker(station)
    person = make_beneficiary(station, service_point=point, name="张小明", gender="male", birth_date=date(1948, 1, 1),
                              categories=["tekun", "elderly_alone"], risk_tier="key", phone="13800000000",
                              address="石鼓村三队12号")
    response = client.get(URL, headers=auth_headers(worker))
    item = response.get_json()["items"][0]
    assert item["id"] == person.id
    assert item["gender"] == {"code": "male", "zh": "男"}
    assert item["birth_year"] == 1948
    assert item["age"] >= 77
    assert item["categories"] == [{"code": "elderly_alone", "zh": "独居老人"}, {"code": "tekun", "zh": "特困"}]
    assert item["risk_tier"] == {"code": "key", "zh": "重点（每月）"}
    assert item["station"] == {"id": station.id, "name": "石鼓镇社工站"}
    assert item["service_point"] == {"id": point.id, "name": "石鼓村服务点"}
    assert item["home"] == {"lat": person.home_latitude, "lon": person.home_longitude}
    assert item["address"] == "石鼓村三队12号" and item["phone"] == "13800000000"
    assert item["distance_m"] is None and item["last_visit"] is None
    assert item["id_number_masked"] == person.id_number_masked
    assert "*" in item["id_number_masked"]
    assert person.id_number not in response.get_data(as_text=True)


def test_q_matches_a_part_of_the_name(client):
    station = make_station()
    worker = make_worker(station)
    make_beneficiary(station, name="张小明", name_initials="zxm")
    make_beneficiary(station, name="李小红", name_initials="lxh")
    make_beneficiary(station, name="王大伟", name_initials="wdw")
    headers = auth_headers(worker)
    assert sorted(names(client.get(URL, query_string={"q": "小"}, headers=headers))) == ["张小明", "李小红"]
    assert names(client.get(URL, query_string={"q": "大伟"}, headers=headers)) == ["王大伟"]


def test_q_matches_the_start_of_the_pinyin_initials_in_any_case(client):
    station = make_station()
    worker = make_worker(station)
    make_beneficiary(station, name="张小明", name_initials="zxm")
    make_beneficiary(station, name="朱晓梅", name_initials="zxm")
    make_beneficiary(station, name="李小红", name_initials="lxh")
    headers = auth_headers(worker)
    assert sorted(names(client.get(URL, query_string={"q": "ZX"}, headers=headers))) == ["张小明", "朱晓梅"]
    assert names(client.get(URL, query_string={"q": "xm"}, headers=headers)) == []
    assert names(client.get(URL, query_string={"q": "lxh"}, headers=headers)) == ["李小红"]


def test_q_treats_like_wildcards_as_plain_text(client):
    station = make_station()
    worker = make_worker(station)
    make_beneficiary(station, name="张小明", name_initials="zxm")
    headers = auth_headers(worker)
    assert names(client.get(URL, query_string={"q": "%"}, headers=headers)) == []
    assert names(client.get(URL, query_string={"q": "_"}, headers=headers)) == []


def test_near_sorts_by_distance_from_home_and_puts_people_without_a_home_last(client):
    station = make_station()
    worker = make_worker(station)
    here = (21.665, 110.928)
    make_beneficiary(station, name="远", home_latitude=21.700, home_longitude=110.928)
    make_beneficiary(station, name="无址", home_latitude=None, home_longitude=None)
    make_beneficiary(station, name="近", home_latitude=21.6655, home_longitude=110.928)
    make_beneficiary(station, name="中", home_latitude=21.665, home_longitude=110.950)
    response = client.get(URL, query_string={"near": f"{here[0]},{here[1]}"}, headers=auth_headers(worker))
    assert names(response) == ["近", "中", "远", "无址"]
    distances = [item["distance_m"] for item in response.get_json()["items"]]
    assert distances[0] == pytest.approx(distance_m(*here, 21.6655, 110.928), abs=1)
    assert distances[2] == pytest.approx(distance_m(*here, 21.700, 110.928), abs=1)
    assert distances[3] is None


@pytest.mark.parametrize("near", ["91,110", "21,181", "abc", "21.6", "21,110,3", "nan,110", "inf,1", ""])
def test_a_bad_near_is_422_on_that_field(client, near):
    worker = make_worker()
    response = client.get(URL, query_string={"near": near}, headers=auth_headers(worker))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"near"}


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"q": "x" * 65}])
def test_bad_paging_and_search_parameters_are_422(client, query):
    response = client.get(URL, query_string=query, headers=auth_headers(make_worker()))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def walk_pages(client, headers, **query) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        body = client.get(URL, query_string=params, headers=headers).get_json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_cover_everyone_once_in_order(client):
    station = make_station()
    worker = make_worker(station)
    people = [make_beneficiary(station, name=f"人{n}", name_initials="r") for n in range(5)]
    pages = walk_pages(client, auth_headers(worker), limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [person_id for page in pages for person_id in page] == [person.id for person in people]


def test_near_pages_cover_everyone_once_nearest_first(client):
    station = make_station()
    worker = make_worker(station)
    # Two pairs at the same distance test the tie-break on id across page boundaries.
    offsets = [0.004, 0.001, 0.003, 0.001, None, 0.003]
    people = [
        make_beneficiary(station, home_latitude=None if offset is None else 21.665 + offset,
                         home_longitude=None if offset is None else 110.928)
        for offset in offsets
    ]
    pages = walk_pages(client, auth_headers(worker), limit=2, near="21.665,110.928")
    order = [person_id for page in pages for person_id in page]
    expected = sorted(people, key=lambda p: (p.home_latitude is None, p.home_latitude or 0, p.id))
    assert order == [person.id for person in expected]


@pytest.mark.parametrize("cursor", ["garbage", "eyJvcmRlciI6Im5hbWUifQ", "e30", "!!!"])
def test_a_damaged_cursor_is_422(client, cursor):
    response = client.get(URL, query_string={"cursor": cursor}, headers=auth_headers(make_worker()))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_cursor"


def test_a_cursor_of_the_name_order_is_refused_in_the_near_order(client):
    station = make_station()
    worker = make_worker(station)
    for _ in range(3):
        make_beneficiary(station)
    headers = auth_headers(worker)
    cursor = client.get(URL, query_string={"limit": 1}, headers=headers).get_json()["next_cursor"]
    response = client.get(URL, query_string={"limit": 1, "cursor": cursor, "near": "21.6,110.9"}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_cursor"


def test_each_person_carries_the_latest_visit_by_anyone_of_the_station(client):
    station = make_station()
    worker, colleague = make_worker(station), make_worker(station)
    visited, never_visited = make_beneficiary(station, name="甲", name_initials="a"), make_beneficiary(
        station, name="乙", name_initials="b")
    make_visit(worker, visited, started_at=utcnow() - timedelta(days=3))
    latest = make_visit(colleague, visited, kind="care_call", started_at=utcnow() - timedelta(days=1))
    make_visit(worker, visited, started_at=utcnow() - timedelta(days=2))
    items = client.get(URL, headers=auth_headers(worker)).get_json()["items"]
    by_id = {item["id"]: item for item in items}
    assert by_id[visited.id]["last_visit"]["id"] == latest.id
    assert by_id[visited.id]["last_visit"]["kind"] == "care_call"
    assert by_id[visited.id]["last_visit"]["status"] == "submitted"
    assert by_id[visited.id]["last_visit"]["started_at"].endswith("+00:00")
    assert by_id[never_visited.id]["last_visit"] is None


def test_a_page_costs_the_same_number_of_queries_for_1_or_30_people(client, count_queries):
    def queries_for_page(headers) -> tuple[int, int]:
        with count_queries() as counter:
            response = client.get(URL, query_string={"near": "21.665,110.928"}, headers=headers)
        assert response.status_code == 200
        return counter.count, len(response.get_json()["items"])

    small, large = make_station(), make_station()
    small_worker, large_worker = make_worker(small), make_worker(large)
    point = make_service_point(large)
    make_visit(small_worker, make_beneficiary(small, categories=["dibao", "tekun"]))
    for n in range(30):
        person = make_beneficiary(large, service_point=point, categories=["dibao", "orphan"])
        if n % 3 == 0:
            make_visit(large_worker, person)
    small_headers, large_headers = auth_headers(small_worker), auth_headers(large_worker)
    small_count, small_items = queries_for_page(small_headers)
    large_count, large_items = queries_for_page(large_headers)
    assert (small_items, large_items) == (1, 30)
    assert small_count == large_count


# --- due lists and schedules -------------------------------------------------------------------------
# The API counts days in the Beijing calendar from the real "now"; these helpers place events at local
# noon a whole number of days ago so that the expected dates can be worked out by hand.

def beijing_today() -> date:
    return datetime.now(BEIJING).date()


def days_ago_at_noon(days: int) -> datetime:
    """An aware timestamp at 12:00 Beijing time, `days` local calendar days before today."""
    return datetime.combine(beijing_today() - timedelta(days=days), time(12, 0), tzinfo=BEIJING)


def approved_visit(worker, person, days_ago: int, kind: str = "home_visit"):
    return make_reviewable_visit(worker, person, kind=kind, started_at=days_ago_at_noon(days_ago), status="approved")


def items_by_id(response) -> dict[int, dict]:
    assert response.status_code == 200, response.get_json()
    return {item["id"]: item for item in response.get_json()["items"]}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def registered(days_ago: int) -> dict:
    return {"created_at": days_ago_at_noon(days_ago)}


@pytest.fixture
def due_station(app):
    """One station's people with hand-computed schedules (T = today in Beijing; defaults: tekun 30, dibao 91 days).

    - never: dibao, registered T-200, never visited: due since registration, T-200 (200 days overdue);
    - fresh: dibao, approved home visit T-10: due T+81, not due;
    - pending: tekun, approved T-40 (due T-10) and a submitted visit T-2: due, pending review, listed last;
    - tekun: tekun, approved care call T-35: 30 days, due T-5;
    - dibao: dibao, approved T-35: 91 days, due T+56, not due;
    - high: dibao with risk tier high, approved case service T-9: tightened to 7 days, due T-2;
    - closed: never visited but closed, never listed.
    A never-visited person of another station must not appear either.
    """
    station, other_station = make_station(), make_station()
    worker = make_worker(station)
    people = {
        "never": make_beneficiary(station, name="从未", categories=["dibao"], **registered(200)),
        "fresh": make_beneficiary(station, name="刚访", categories=["dibao"], **registered(200)),
        "pending": make_beneficiary(station, name="待审", categories=["tekun"], **registered(200)),
        "tekun": make_beneficiary(station, name="特困", categories=["tekun"], **registered(200)),
        "dibao": make_beneficiary(station, name="低保", categories=["dibao"], **registered(200)),
        "high": make_beneficiary(station, name="高危", categories=["dibao"], risk_tier="high", **registered(200)),
        "closed": make_beneficiary(station, name="销档", status="closed", **registered(200)),
        "elsewhere": make_beneficiary(other_station, name="外站", **registered(300)),
    }
    approved_visit(worker, people["fresh"], 10)
    approved_visit(worker, people["pending"], 40)
    make_reviewable_visit(worker, people["pending"], started_at=days_ago_at_noon(2))
    approved_visit(worker, people["tekun"], 35, kind="care_call")
    approved_visit(worker, people["dibao"], 35)
    approved_visit(worker, people["high"], 9, kind="case_service")
    return station, worker, people


def test_due_lists_the_stations_people_due_most_urgent_first_and_pending_review_last(client, due_station):
    _, worker, people = due_station
    response = client.get(URL, query_string={"due": "1"}, headers=auth_headers(worker))
    assert ids(response) == [people[name].id for name in ("never", "tekun", "high", "pending")]


def test_each_due_item_carries_its_hand_computed_schedule(client, due_station):
    _, worker, people = due_station
    today = beijing_today()
    items = items_by_id(client.get(URL, query_string={"due": "1"}, headers=auth_headers(worker)))

    assert items[people["never"].id]["schedule"] == {
        "interval_days": 91, "last_approved_visit_at": None,
        "next_due_on": (today - timedelta(days=200)).isoformat(), "days_overdue": 200, "pending_review": False,
    }
    tekun = items[people["tekun"].id]["schedule"]
    assert (tekun["interval_days"], tekun["days_overdue"], tekun["pending_review"]) == (30, 5, False)
    assert tekun["next_due_on"] == (today - timedelta(days=5)).isoformat()
    assert datetime.fromisoformat(tekun["last_approved_visit_at"]) == days_ago_at_noon(35)
    high = items[people["high"].id]["schedule"]
    assert (high["interval_days"], high["days_overdue"], high["next_due_on"]) == (
        7, 2, (today - timedelta(days=2)).isoformat())
    pending = items[people["pending"].id]["schedule"]
    assert (pending["interval_days"], pending["days_overdue"], pending["pending_review"]) == (30, 10, True)
    assert datetime.fromisoformat(pending["last_approved_visit_at"]) == days_ago_at_noon(40)


def test_due_items_have_the_same_shape_as_the_normal_list(client, due_station):
    _, worker, people = due_station
    headers = auth_headers(worker)
    due_item = items_by_id(client.get(URL, query_string={"due": "1"}, headers=headers))[people["tekun"].id]
    plain_item = items_by_id(client.get(URL, headers=headers))[people["tekun"].id]
    assert due_item == plain_item
    assert due_item["last_visit"]["kind"] == "care_call"


def test_the_normal_list_carries_the_schedule_of_people_not_yet_due(client, due_station):
    _, worker, people = due_station
    today = beijing_today()
    items = items_by_id(client.get(URL, headers=auth_headers(worker)))
    assert set(items) == {person.id for name, person in people.items() if name not in ("closed", "elsewhere")}
    fresh = dict(items[people["fresh"].id]["schedule"])
    assert datetime.fromisoformat(fresh.pop("last_approved_visit_at")) == days_ago_at_noon(10)
    assert fresh == {"interval_days": 91, "next_due_on": (today + timedelta(days=81)).isoformat(),
                     "days_overdue": -81, "pending_review": False}
    dibao = items[people["dibao"].id]["schedule"]
    assert (dibao["interval_days"], dibao["days_overdue"]) == (91, -56)


def test_due_today_is_due_and_a_submitted_or_non_counting_visit_does_not_reset_the_schedule(client):
    station = make_station()
    worker = make_worker(station)
    due_today = make_beneficiary(station, categories=["tekun"], **registered(100))
    approved_visit(worker, due_today, 30)
    only_submitted = make_beneficiary(station, categories=["dibao"], **registered(0))
    make_reviewable_visit(worker, only_submitted, started_at=days_ago_at_noon(1))
    only_activity = make_beneficiary(station, categories=["dibao"], **registered(5))
    approved_visit(worker, only_activity, 1, kind="community_activity")
    rejected = make_beneficiary(station, categories=["dibao"], **registered(3))
    make_reviewable_visit(worker, rejected, started_at=days_ago_at_noon(1), status="rejected")

    items = items_by_id(client.get(URL, query_string={"due": "1"}, headers=auth_headers(worker)))
    assert list(items) == [only_activity.id, rejected.id, due_today.id, only_submitted.id]
    assert items[due_today.id]["schedule"]["days_overdue"] == 0
    assert items[only_submitted.id]["schedule"]["pending_review"] is True
    assert items[only_submitted.id]["schedule"]["last_approved_visit_at"] is None
    assert items[only_activity.id]["schedule"]["days_overdue"] == 5
    assert items[rejected.id]["schedule"]["pending_review"] is False


def test_due_with_near_is_nearest_first_then_most_urgent_and_homeless_last(client):
    station = make_station()
    worker = make_worker(station)
    here = (21.665, 110.928)

    def person(latitude, registered_days_ago, **overrides):
        return make_beneficiary(station, home_latitude=latitude, home_longitude=None if latitude is None else here[1],
                                **registered(registered_days_ago), **overrides)

    far = person(21.700, 300)
    near_pending = person(21.666, 10)
    make_reviewable_visit(worker, near_pending, started_at=days_ago_at_noon(1))
    middle_less_urgent, middle_more_urgent = person(21.680, 20), person(21.680, 50)
    no_home = person(None, 400)
    not_due = person(21.6651, 50)
    approved_visit(worker, not_due, 1)

    response = client.get(URL, query_string={"due": "1", "near": f"{here[0]},{here[1]}"}, headers=auth_headers(worker))
    assert ids(response) == [near_pending.id, middle_more_urgent.id, middle_less_urgent.id, far.id, no_home.id]
    items = response.get_json()["items"]
    assert items[0]["distance_m"] == pytest.approx(distance_m(*here, 21.666, here[1]), abs=1)
    assert items[-1]["distance_m"] is None


def test_due_is_scoped_a_supervisor_sees_their_stations_and_an_admin_everyone(client):
    first, second, unsupervised = make_station(), make_station(), make_station()
    in_first, in_second = make_beneficiary(first, **registered(3)), make_beneficiary(second, **registered(2))
    elsewhere = make_beneficiary(unsupervised, **registered(9))
    assert ids(client.get(URL, query_string={"due": "1"}, headers=auth_headers(make_worker(first)))) == [in_first.id]
    supervisor = make_supervisor(first, second)
    assert ids(client.get(URL, query_string={"due": "1"}, headers=auth_headers(supervisor))) == [
        in_first.id, in_second.id]
    assert ids(client.get(URL, query_string={"due": "1"}, headers=auth_headers(make_admin()))) == [
        elsewhere.id, in_first.id, in_second.id]


def test_due_combines_with_q(client, due_station):
    _, worker, people = due_station
    response = client.get(URL, query_string={"due": "1", "q": "特"}, headers=auth_headers(worker))
    assert ids(response) == [people["tekun"].id]


def test_due_pages_cover_everyone_once_most_urgent_first(client):
    station = make_station()
    worker = make_worker(station)
    # Never visited, so each is overdue by the days since registration; two share 40 and two share 5 days
    # (ties broken by id across page boundaries); two await review and come last.
    overdue_days = [5, 40, 5, 0, 12, 40, 7]
    people = [make_beneficiary(station, **registered(days)) for days in overdue_days]
    awaiting_review = {people[1].id, people[4].id}
    for person in people:
        if person.id in awaiting_review:
            make_reviewable_visit(worker, person, started_at=days_ago_at_noon(1))
    pages = walk_pages(client, auth_headers(worker), limit=2, due="1")
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    expected = sorted(zip(people, overdue_days, strict=True),
                      key=lambda pair: (pair[0].id in awaiting_review, -pair[1], pair[0].id))
    assert [person_id for page in pages for person_id in page] == [person.id for person, _ in expected]


def test_due_near_pages_cover_everyone_once(client):
    station = make_station()
    worker = make_worker(station)
    offsets = [0.004, 0.001, None, 0.003, 0.001, 0.003]
    people = [
        make_beneficiary(station, home_latitude=None if offset is None else 21.665 + offset,
                         home_longitude=None if offset is None else 110.928, **registered(10 + n))
        for n, offset in enumerate(offsets)
    ]
    pages = walk_pages(client, auth_headers(worker), limit=2, due="1", near="21.665,110.928")
    order = [person_id for page in pages for person_id in page]
    # Same distance: the longer overdue (registered earlier, i.e. the later-made) first.
    expected = sorted(people, key=lambda p: (p.home_latitude is None, p.home_latitude or 0, -p.id))
    assert order == [person.id for person in expected]


@pytest.mark.parametrize(("first_query", "second_query"), [
    ({}, {"due": "1"}),
    ({"due": "1"}, {}),
    ({"due": "1"}, {"due": "1", "near": "21.6,110.9"}),
    ({"due": "1", "near": "21.6,110.9"}, {"near": "21.6,110.9"}),
])
def test_a_cursor_of_another_order_is_refused_in_the_due_orders(client, first_query, second_query):
    station = make_station()
    worker = make_worker(station)
    for days in range(3):
        make_beneficiary(station, **registered(days))
    headers = auth_headers(worker)
    cursor = client.get(URL, query_string=dict(first_query, limit=1), headers=headers).get_json()["next_cursor"]
    assert cursor is not None
    response = client.get(URL, query_string=dict(second_query, limit=1, cursor=cursor), headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("due", ["maybe", "2"])
def test_a_bad_due_is_422_on_that_field(client, due):
    response = client.get(URL, query_string={"due": due}, headers=auth_headers(make_worker()))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"due"}


def test_due_0_is_the_normal_list(client):
    station = make_station()
    worker = make_worker(station)
    make_beneficiary(station, name="王芳")
    fresh = make_beneficiary(station, name="刚访", categories=["dibao"])
    approved_visit(worker, fresh, 1)
    assert sorted(names(client.get(URL, query_string={"due": "0"}, headers=auth_headers(worker)))) == ["刚访", "王芳"]


@pytest.mark.parametrize("query", [{"due": "1"}, {"due": "1", "near": "21.665,110.928"}, {}])
def test_a_due_page_costs_the_same_number_of_queries_for_1_or_30_people(client, count_queries, query):
    def queries_for_page(headers) -> tuple[int, int]:
        with count_queries() as counter:
            response = client.get(URL, query_string=query, headers=headers)
        assert response.status_code == 200
        return counter.count, len(response.get_json()["items"])

    small, large = make_station(), make_station()
    small_worker, large_worker = make_worker(small), make_worker(large)
    point = make_service_point(large)
    make_reviewable_visit(small_worker, make_beneficiary(small, categories=["dibao", "tekun"], **registered(40)),
                          started_at=days_ago_at_noon(35), status="approved")
    for n in range(30):
        person = make_beneficiary(large, service_point=point, categories=["dibao", "orphan"], risk_tier="high",
                                  **registered(60))
        if n % 3 == 0:
            approved_visit(large_worker, person, 10)
        if n % 4 == 0:
            make_reviewable_visit(large_worker, person, started_at=days_ago_at_noon(1))
    small_count, small_items = queries_for_page(auth_headers(small_worker))
    large_count, large_items = queries_for_page(auth_headers(large_worker))
    assert (small_items, large_items) == (1, 30)
    assert small_count == large_count
