"""The admin's own 403/404/500 pages (admin/error_pages.py): the session's language, the admin layout when logged in,
a plain page otherwise; the API keeps its JSON errors and /m/ is untouched."""

import pytest
from sqlalchemy.exc import OperationalError

import admin.management
from tests.factories import auth_headers, make_admin, make_supervisor, make_worker

WERKZEUG_WORDS = ("The requested URL was not found", "Internal Server Error", "You don't have the permission")


def _switch_to(client, csrf_from, locale: str) -> None:
    client.post("/admin/language", data={"locale": locale, "next": "/admin/review/",
                                         "csrf_token": csrf_from("/admin/review/")})


@pytest.mark.parametrize(("locale", "title"), [("zh_Hans_CN", "页面不存在"), ("en", "Page not found")])
@pytest.mark.parametrize("url", ["/admin/no-such-page", "/admin/users/details/?id=999999",
                                 "/admin/users/details/?id=x"])
def test_not_found_inside_the_admin_layout(client, login_as, csrf_from, locale, title, url):
    login_as(make_admin())
    _switch_to(client, csrf_from, locale)
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert title in html and 'id="admin-error"' in html
    assert "/admin/logout" in html and "/admin/users/" in html  # the layout: logout button and menu
    assert not any(words in html for words in WERKZEUG_WORDS)


@pytest.mark.parametrize(("locale", "title"), [("zh_Hans_CN", "无权访问"), ("en", "Access denied")])
def test_forbidden_inside_the_admin_layout(client, login_as, csrf_from, locale, title):
    login_as(make_supervisor())
    _switch_to(client, csrf_from, locale)
    response = client.get("/admin/stations/")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert title in html and "/admin/logout" in html
    assert not any(words in html for words in WERKZEUG_WORDS)


@pytest.mark.parametrize(("locale", "title"), [("zh_Hans_CN", "服务器出错了"), ("en", "Something went wrong")])
def test_an_unexpected_error_is_a_500_page_and_logged(client, login_as, csrf_from, monkeypatch, caplog, locale,
                                                      title):
    login_as(make_admin())
    _switch_to(client, csrf_from, locale)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(admin.management, "scope_users", broken)
    response = client.get("/admin/users/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert title in html and "/admin/logout" in html and "a bug" not in html
    assert any("unhandled error in the admin" in record.message for record in caplog.records)


def test_database_unavailable_is_a_503_page_with_retry_after(client, login_as, monkeypatch):
    login_as(make_admin())

    def unavailable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(admin.management, "scope_users", unavailable)
    response = client.get("/admin/users/")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "服务暂时不可用" in response.get_data(as_text=True)


def test_anonymous_visitors_get_a_plain_page(client):
    response = client.get("/admin/static/no-such-file.css")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "页面不存在" in html and "/admin/login" in html and "/admin/logout" not in html


def test_anonymous_visitors_of_an_unknown_admin_url_are_sent_to_log_in(client):
    response = client.get("/admin/no-such-page")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_post_only_url_still_answers_405_to_a_get(client, login_as):
    login_as(make_admin())
    response = client.get("/admin/logout")
    assert response.status_code == 405 and response.headers["Allow"]
    assert "请求无法处理" in response.get_data(as_text=True)
    assert client.get("/admin/users").status_code in (301, 308)  # Flask-Admin's trailing-slash redirect


def test_the_api_keeps_its_json_errors(client):
    worker = make_worker()
    for url, headers in (("/api/v1/no-such-thing", {}), ("/api/v1/visits/999999", auth_headers(worker))):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.is_json
        assert response.get_json()["error"]["code"].endswith("not_found")


@pytest.mark.parametrize(("locale", "words"), [("zh_Hans_CN", "重新加载"), ("en", "reload the page")])
def test_an_expired_form_token_is_explained_in_the_page_language(client, login_as, csrf_from, locale, words):
    login_as(make_admin())
    _switch_to(client, csrf_from, locale)
    response = client.post("/admin/review/action/", data={"action": "bulk_approve", "rowid": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert words in html and "/admin/logout" in html
    assert "The CSRF token is missing" not in html
