"""The admin is closed to anonymous visitors and opens to a supervisor who logs in."""

import re

from tests.factories import make_admin, make_supervisor, make_worker


def test_index_redirects_anonymous_visitors_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_supervisor_lands_on_the_review_queue(client, login_as):
    supervisor = make_supervisor()
    response = login_as(supervisor)
    assert response.status_code == 302
    home = client.get("/admin/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/admin/review/")
    assert client.get("/admin/review/").status_code == 200


def test_admin_lands_on_the_dashboard(client, login_as):
    login_as(make_admin())
    home = client.get("/admin/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/admin/dashboard/")
    assert client.get("/admin/dashboard/").status_code == 200


def test_worker_is_told_to_use_the_phone(client, login_as):
    response = login_as(make_worker())
    assert response.status_code == 403
    assert "手机" in response.get_data(as_text=True)


def test_login_and_worker_pages_use_the_admins_own_bootstrap(client, login_as):
    for response in (client.get("/admin/login"), login_as(make_worker())):
        html = response.get_data(as_text=True)
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
        assert stylesheets and all(href.startswith("/admin/static/") for href in stylesheets)
        assert "https://" not in html and 'class="card' in html
        assert client.get(stylesheets[0]).status_code == 200
