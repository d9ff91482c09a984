"""The admin speaks Chinese by default and English when switched; enum labels come from models/enums.py."""

import pytest

from tests.admin.conftest import csrf_token_from
from tests.factories import make_admin, make_beneficiary, make_reviewable_visit, make_station, make_worker


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


# Distinctive strings of each page in each language: (Chinese, English) pairs, every one of which must switch.
REVIEW_PAGES = {
    "queue": [("审核队列", "Review queue"), ("全部预警类型", "All warning types"), ("接收时间", "Received at"),
              ("批量通过", "Approve selected"),
              ("只通过没有预警的待审核记录", "Only pending records without warnings")],
    "record": [("返回审核队列", "Back to the review queue"), ("距登记住址", "Distance from registered address"),
               ("退回补充", "Return for more information"), ("该社工的前后走访", "previous and next visits"),
               ("没有可显示的位置", "No location to show")],
    "dashboard": [("统计看板", "Dashboard"), ("逾期未走访的服务对象", "Overdue beneficiaries"),
                  ("社工本月工作情况", "Social workers this month"), ("两个100%覆盖", "The two 100% coverages"),
                  ("本月每日提交", "Submitted per day this month")],
    "report": [("统计报表", "Reports"), ("开始日期", "Start date"), ("入户走访（人次）", "Home visits (person-times)"),
               ("社会工作服务统计", "social work service statistics"), ("下载 Excel", "Download Excel")],
    "exports": [("服务对象名册", "Beneficiary roster"), ("全部社工站", "All stations"),
                ("导出完整身份证号的原因", "Why full ID numbers are exported"),
                ("下载 GeoJSON（地图）", "Download GeoJSON (map)")],
}


@pytest.fixture
def review_scene(app):
    """An admin, and a station with one pending visit (no location, so the map says so) to open."""
    station = make_station(name="金塘镇")
    worker = make_worker(station)
    visit = make_reviewable_visit(worker, make_beneficiary(station), kind="care_call", latitude=None, longitude=None,
                                  accuracy_m=None, warnings=["too_short"])
    return {"admin": make_admin(), "visit": visit}


def _review_pages(client, visit) -> dict[str, str]:
    urls = {"queue": "/admin/review/", "record": f"/admin/review/visit/{visit.id}", "dashboard": "/admin/dashboard/",
            "report": "/admin/reports/?start=2024-06-01&end=2024-06-30", "exports": "/admin/exports/"}
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        pages[name] = response.get_data(as_text=True)
    return pages


def test_review_report_and_export_pages_are_chinese_by_default(client, login_as, review_scene):
    login_as(review_scene["admin"])
    for name, html in _review_pages(client, review_scene["visit"]).items():
        for chinese, english in REVIEW_PAGES[name]:
            assert chinese in html, (name, chinese)
            assert english not in html, (name, english)


def test_review_report_and_export_pages_follow_the_switch_to_english(client, login_as, review_scene):
    login_as(review_scene["admin"])
    _switch(client, "en", "/admin/review/")
    pages = _review_pages(client, review_scene["visit"])
    for name, html in pages.items():
        for chinese, english in REVIEW_PAGES[name]:
            assert english in html, (name, english)
            assert chinese not in html, (name, chinese)
    # Enum labels follow too (models/enums.py's English), and the menu names registered at start-up.
    assert "Phone or video call" in pages["queue"] and "电话/视频探访" not in pages["queue"]
    assert all("Visit intervals" in html and "Import roster" in html for html in pages.values())


def test_dashboard_shows_its_title_once(client, login_as, review_scene):
    login_as(review_scene["admin"])
    html = client.get("/admin/dashboard/").get_data(as_text=True)
    body = html.split("</nav>", 1)[1]  # the menu names the page too; count the page itself
    assert body.count("统计看板") == 1


def _review_in_english(client, login_as, review_scene, action: str) -> str:
    """Log in as the scene's admin, switch to English, post a review action on its visit; the page that follows."""
    login_as(review_scene["admin"])
    visit = review_scene["visit"]
    _switch(client, "en", "/admin/review/")
    token = csrf_token_from(client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True))
    response = client.post(f"/admin/review/visit/{visit.id}/{action}", data={"csrf_token": token},
                           follow_redirects=True)
    return response.get_data(as_text=True)


def test_flash_messages_follow_the_language(client, login_as, review_scene):
    html = _review_in_english(client, login_as, review_scene, "approve")
    assert f"Visit record #{review_scene['visit'].id} approved" in html and "已通过" not in html


def test_service_refusals_are_translated_by_code_in_english(client, login_as, review_scene):
    """The service's Chinese sentence is the phone's; the English admin says it in English."""
    html = _review_in_english(client, login_as, review_scene, "reject")
    assert "Give a comment or reason." in html and "请填写意见或原因" not in html


def test_service_refusals_with_parameters_in_both_languages(client, login_as):
    make_station(code="440902666")
    login_as(make_admin())
    for locale, expected, absent in (("en", "Station 440902666 already exists.", "已存在"),
                                     ("zh_Hans_CN", "社工站 440902666 已存在", "already exists")):
        _switch(client, locale, "/admin/stations/new/")
        token = csrf_token_from(client.get("/admin/stations/new/").get_data(as_text=True))
        html = client.post("/admin/stations/new/", data={"code": "440902666", "name": "重复",
                                                         "csrf_token": token}).get_data(as_text=True)
        assert expected in html and absent not in html
