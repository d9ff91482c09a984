"""The admin speaks Chinese by default and English when switched; enum labels come from models/enums.py."""

from tests.admin.conftest import csrf_token_from
from tests.factories import make_admin, make_worker


def _switch(client, locale: str, next_url: str = "/admin/login"):
    token = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    return client.post("/admin/language", data={"locale": locale, "next": next_url, "csrf_token": token})


def test_login_page_is_chinese_by_default(client):
    html = client.get("/admin/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "用户名" in html and "密码" in html and "走访管理后台" in html


def test_login_page_renders_in_english_when_switched(client):
    response = _switch(client, "en")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    html = client.get("/admin/login").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Username" in html and "Password" in html and "用户名" not in html


def test_admin_pages_and_enum_labels_follow_the_language(client, login_as):
    make_worker()
    login_as(make_admin())
    chinese = client.get("/admin/users/").get_data(as_text=True)
    assert "账号" in chinese and "社工" in chinese and "退出登录" in chinese

    _switch(client, "en", "/admin/users/")
    english = client.get("/admin/users/").get_data(as_text=True)
    assert "Users" in english and "Social worker" in english and "Log out" in english
    assert "List" in english  # Flask-Admin's own strings switch too
    assert "退出登录" not in english


def test_unknown_language_changes_nothing(client):
    _switch(client, "fr")
    assert "用户名" in client.get("/admin/login").get_data(as_text=True)


def test_switching_language_needs_a_csrf_token(client):
    client.get("/admin/login")
    assert client.post("/admin/language", data={"locale": "en"}).status_code == 400
    assert "用户名" in client.get("/admin/login").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    response = _switch(client, "en", "//evil.example/")
    assert response.headers["Location"] in ("/admin/", "http://localhost/admin/")
