"""The admin is closed to anonymous visitors and opens to a supervisor who logs in."""

from tests.factories import make_supervisor, make_worker


def test_index_redirects_anonymous_visitors_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_supervisor_logs_in_and_sees_the_index(client, login_as):
    supervisor = make_supervisor()
    response = login_as(supervisor)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_worker_is_told_to_use_the_phone(client, login_as):
    response = login_as(make_worker())
    assert response.status_code == 403
    assert "手机" in response.get_data(as_text=True)
