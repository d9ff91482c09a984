"""GET /api/v1/beneficiaries: scope, search by name and initials, nearest first, pagination, last visit, cost."""

from datetime import date, timedelta

import pytest

from models import utcnow
from services.geo import distance_m
from tests.factories import (
    auth_headers,
    make_admin,
    make_beneficiary,
    make_service_point,
    make_station,
    make_supervisor,
    make_visit,
    make_worker,
)

URL = "/api/v1/beneficiaries"


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


def test_due_is_refused_until_schedules_exist_and_due_0_is_accepted(client):
    station = make_station()
    worker = make_worker(station)
    make_beneficiary(station, name="王芳")
    headers = auth_headers(worker)
    refused = client.get(URL, query_string={"due": "1"}, headers=headers)
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"due"}
    assert names(client.get(URL, query_string={"due": "0"}, headers=headers)) == ["王芳"]


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
