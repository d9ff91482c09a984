"""What management lists and details pages show: words of the UI language for booleans and codes, local minutes
for times (no "+00:00", no microseconds), a dash for an unset select, the audit log labelled (admin/management.py,
admin/base.py's type formatters, admin/templating.audit_detail_lines)."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent
from services.audit import record_audit
from tests.factories import make_admin, make_beneficiary, make_reviewable_visit, make_station, make_worker

RAW_TIME = re.compile(r"\+00:00|\d{2}:\d{2}:\d{2}\.\d{6}|T\d{2}:\d{2}")
# 2026-11-28 06:02:03.123456 UTC is 14:02 in Asia/Shanghai.
STORED = datetime(2026, 11, 28, 6, 2, 3, 123456, tzinfo=UTC)
LOCAL_MINUTES = "2026-11-28 14:02"


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.get_data(as_text=True)


def _switch_to(client, csrf_from, locale: str) -> None:
    response = client.post("/admin/language", data={"locale": locale, "next": "/admin/users/",
                                                    "csrf_token": csrf_from("/admin/users/")})
    assert response.status_code == 302


def _stamp(*rows) -> None:
    """Give rows a known creation/update time (the factories take the clock's)."""
    for row in rows:
        row.created_at = STORED
        if hasattr(row, "updated_at"):
            row.updated_at = STORED
    db.session.commit()


@pytest.fixture
def scene():
    station = make_station(name="红旗街道")
    worker = make_worker(station, username="gone", active=False)
    person = make_beneficiary(station, name="张三")
    _stamp(station, worker, person)
    return {"station": station, "worker": worker, "person": person}


@pytest.mark.parametrize(("locale", "inactive", "yes_no"), [("zh_Hans_CN", "停用", "否"), ("en", "Deactivated", "No")])
def test_management_pages_show_words_and_local_minutes(client, login_as, csrf_from, scene, locale, inactive, yes_no):
    login_as(make_admin())
    _switch_to(client, csrf_from, locale)
    worker, station, person = scene["worker"], scene["station"], scene["person"]
    pages = {
        "users": _page(client, "/admin/users/"),
        "user": _page(client, f"/admin/users/details/?id={worker.id}"),
        "stations": _page(client, "/admin/stations/"),
        "station": _page(client, f"/admin/stations/details/?id={station.id}"),
        "person": _page(client, f"/admin/beneficiaries/details/?id={person.id}"),
    }
    for name, html in pages.items():
        assert LOCAL_MINUTES in html, name
        assert not RAW_TIME.search(html), f"{name}: {RAW_TIME.search(html).group()}"
        assert not re.search(r">\s*(True|False)\s*<", html), name
    assert inactive in pages["users"] and inactive in pages["user"]


def test_a_boolean_column_without_its_own_formatter_reads_yes_or_no(app):
    from admin.base import TYPE_FORMATTERS

    with app.test_request_context():
        assert TYPE_FORMATTERS[bool](None, True, "x") == "是"
        assert TYPE_FORMATTERS[bool](None, False, "x") == "否"
        assert TYPE_FORMATTERS[datetime](None, STORED, "x") == LOCAL_MINUTES


@pytest.mark.parametrize("url", ["/admin/users/new/", "/admin/stations/new/", "/admin/service_points/new/",
                                 "/admin/regions/new/", "/admin/beneficiaries/new/"])
def test_optional_selects_show_a_dash_not_their_internal_value(client, login_as, url):
    make_station()
    login_as(make_admin())
    html = _page(client, url)
    assert ">__None<" not in html
    assert 'value="__None">—<' in html or "__None" not in html


def test_an_edited_workers_station_select_shows_a_dash_for_none(client, login_as, scene):
    login_as(make_admin())
    html = _page(client, f"/admin/users/edit/?id={scene['worker'].id}")
    assert '<option value="__None">—</option>' in html


# --- the audit log ----------------------------------------------------------------------------------------------

@pytest.fixture
def audited(scene):
    admin = make_admin(username="chief")
    visit = make_reviewable_visit(make_worker(scene["station"]), scene["person"])
    events = [
        record_audit(admin, "visit_reviewed", visit, review_action="approve", from_status="submitted",
                     to_status="approved", comment=None),
        record_audit(admin, "export", None, dataset="beneficiaries", format="csv", full_id_numbers=False,
                     filters={"station_id": scene["station"].id}),
        record_audit(admin, "user_updated", scene["worker"], before={"role": "worker", "stations": ["A1"]},
                     after={"role": "supervisor", "stations": ["A1", "B2"]}),
        record_audit(admin, "beneficiary_changed", scene["person"], created=False, fields=["name", "phone"]),
        record_audit(admin, "export", None, brand_new_key="kept as is"),
    ]
    db.session.flush()
    for event in events:
        event.created_at = STORED
    db.session.commit()
    return admin


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_Hans_CN", ["审核操作：通过", "原状态：待审核", "新状态：已通过", "完整身份证号：否", "数据：服务对象",
                    "修改前：角色：社工", "修改的字段：名称、电话", "新建：否", "brand_new_key：kept as is",
                    ">走访记录<", ">账号<", ">审核走访<"]),
    ("en", ["Review action: Approved", "From status: Submitted", "To status: Approved", "Full ID numbers: No",
            "Data: Beneficiary", "Before: Role: Social worker", "Fields changed: Name, Phone", "Created: No",
            "brand_new_key: kept as is", ">Visit record<", ">Account<", ">Visit reviewed<"]),
])
def test_audit_log_speaks_the_ui_language(client, login_as, csrf_from, audited, locale, expected):
    login_as(audited)
    _switch_to(client, csrf_from, locale)
    html = _page(client, "/admin/audit_log/")
    flat = re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))
    for words in expected:
        assert words in flat, words
    for raw in ("review_action", "full_id_numbers", "from_status", ">visits<", ">users<", "False"):
        assert raw not in flat, raw
    assert LOCAL_MINUTES in html and not RAW_TIME.search(html)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit_reviewed")).one()
    details = _page(client, f"/admin/audit_log/details/?id={event.id}")
    assert expected[0] in re.sub(r"\s+<", "<", details) and LOCAL_MINUTES in details


def test_audit_log_costs_the_same_queries_for_more_rows(client, login_as, count_queries, scene):
    admin = make_admin()
    login_as(admin)

    def list_queries() -> int:
        with count_queries() as counter:
            _page(client, "/admin/audit_log/")
        return counter.count

    record_audit(admin, "user_updated", scene["worker"], before={"role": "worker"}, after={"role": "admin"})
    db.session.commit()
    few = list_queries()
    for _ in range(10):
        record_audit(make_admin(), "user_reactivated", scene["worker"])
        record_audit(admin, "export", None, dataset="visits", format="xlsx", filters={})
    db.session.commit()
    assert list_queries() == few
