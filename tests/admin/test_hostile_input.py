"""Hostile input to the admin site gets a proper 4xx page, never a 500, and nothing is logged as an error."""

import logging

import pytest

from tests.admin.conftest import csrf_token_from
from tests.factories import make_admin, make_station, make_supervisor
from tests.services.reporting.report_fixture import build_city

HUGE_IDS = [2**31, 2**63, 10**30]
LIST_URLS = ["/admin/users/", "/admin/beneficiaries/", "/admin/stations/", "/admin/service_points/",
             "/admin/regions/", "/admin/audit_log/", "/admin/schedules/", "/admin/review/"]


@pytest.fixture(autouse=True)
def no_error_logged(caplog):
    with caplog.at_level(logging.WARNING):
        yield
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


@pytest.fixture
def admin_client(client, login_as):
    login_as(make_admin())
    return client


def assert_client_error(response, url=""):
    # 302: a view that cannot edit at all sends the user back to its list before reading the id.
    assert response.status_code in (302, 400, 403, 404), f"{url}: {response.status_code}"


@pytest.mark.parametrize("username", ["ad\x00min", "\x00"])
def test_a_nul_byte_in_the_login_form(client, username):
    token = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    response = client.post("/admin/login", data={"username": username, "password": "x", "csrf_token": token})
    assert_client_error(response)


@pytest.mark.parametrize("url", LIST_URLS)
def test_a_nul_byte_in_search_and_filters(admin_client, url):
    for query in ("search=a%00b", "flt0_0=%00", "flt1_0=%00", "sort=%00", "q=%00", "%00=1", "status=%00",
                  "warning_code=%00"):
        response = admin_client.get(f"{url}?{query}")
        assert response.status_code < 500, f"{url}?{query}: {response.status_code}"


@pytest.mark.parametrize("url", LIST_URLS)
@pytest.mark.parametrize("page", ["-5", "-1", str(2**31), str(2**63), str(10**30)])
def test_out_of_range_pages_in_lists(admin_client, url, page):
    response = admin_client.get(f"{url}?page={page}")
    assert response.status_code < 500, f"{url}?page={page}: {response.status_code}"


@pytest.mark.parametrize("number", HUGE_IDS)
def test_huge_ids_in_record_urls(admin_client, number):
    urls = [f"/admin/review/visit/{number}", f"/admin/review/photo/{number}/display",
            f"/admin/review/photo/{number}/thumb", f"/admin/beneficiaries/reveal/?id={number}",
            f"/admin/users/password/?id={number}"]
    for view in ("users", "beneficiaries", "stations", "service_points", "regions", "audit_log", "schedules"):
        urls += [f"/admin/{view}/details/?id={number}", f"/admin/{view}/edit/?id={number}"]
    for url in urls:
        assert_client_error(admin_client.get(url), url)
    token = csrf_token_from(admin_client.get("/admin/users/").get_data(as_text=True))
    for url in (f"/admin/review/visit/{number}/approve", f"/admin/beneficiaries/reveal/?id={number}"):
        response = admin_client.post(url, data={"csrf_token": token, "comment": "x", "reason": "核对"})
        assert_client_error(response, url)
    response = admin_client.post("/admin/users/action/", data={"csrf_token": token, "action": "deactivate",
                                                               "rowid": str(number)})
    assert response.status_code < 500


def test_a_report_for_a_region_outside_the_users_scope_is_not_found(app, client, login_as):
    city = build_city()
    login_as(city.supervisor_c)
    for region in ("440902001", "440902", "440902001001"):  # another station, county, village
        response = client.get("/admin/reports/", query_string={"start": "2024-06-01", "end": "2024-06-30",
                                                               "region": region})
        assert response.status_code == 404, region
    inside = client.get("/admin/reports/", query_string={"start": "2024-06-01", "end": "2024-06-30",
                                                        "region": "440904001"})
    assert inside.status_code == 200


def test_a_supervisor_without_stations_gets_404_for_any_region(client, login_as):
    make_station(code="440999001")
    login_as(make_supervisor())
    response = client.get("/admin/reports/", query_string={"start": "2024-06-01", "end": "2024-06-30",
                                                           "region": "440999001"})
    assert response.status_code == 404
