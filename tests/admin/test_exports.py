"""The exports page over HTTP: CSRF, streamed downloads that parse back, scope, masking and its audit."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent
from services.visits.review import QueueFilters, review_queue_query
from tests.admin.conftest import redirects_to_login
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


@pytest.fixture
def scene(app):
    home, away = make_station(name="金塘镇"), make_station(name="袂花镇")
    worker = make_worker(home)
    person = make_beneficiary(home, name="张三")
    start = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
    visits = [make_reviewable_visit(worker, person, received_at=start + timedelta(hours=n), started_at=start,
                                    warnings=("too_short",) if n % 2 else ()) for n in range(4)]
    away_visit = make_reviewable_visit(make_worker(away), make_beneficiary(away, name="外站"), received_at=start)
    return {"home": home, "visits": visits, "away_visit": away_visit, "person": person,
            "supervisor": make_supervisor(home), "admin": make_admin()}


def test_the_page_is_closed_to_anonymous_visitors(scene, client, csrf_from):
    token = csrf_from("/admin/login")

    assert redirects_to_login(client.get("/admin/exports/"))
    assert redirects_to_login(client.post("/admin/exports/visits", data={"csrf_token": token, "format": "csv"}))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None


@pytest.mark.parametrize("role, offered", [("supervisor", False), ("admin", True)])
def test_only_admins_see_the_full_id_number_choice(scene, client, login_as, role, offered):
    login_as(scene[role])

    page = client.get("/admin/exports/").get_data(as_text=True)

    assert 'id="visit-export-form"' in page and 'id="beneficiary-export-form"' in page
    assert ('name="full_id_numbers"' in page) is offered


def test_a_visit_export_streams_the_queues_rows_under_the_same_filters(scene, client, login_as, csrf_from):
    login_as(scene["supervisor"])
    token = csrf_from("/admin/exports/")

    response = client.post("/admin/exports/visits", data={
        "csrf_token": token, "format": "csv", "status": "", "has_warnings": "1", "station": str(scene["home"].id)})

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="zoufang-visits-')
    rows = csv_rows(response)
    expected = db.session.scalars(review_queue_query(
        scene["supervisor"], QueueFilters(status=None, has_warnings=True, station_id=scene["home"].id))).all()
    assert [int(row["编号"]) for row in rows] == sorted(visit.id for visit in expected)
    assert len(rows) == 2
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.actor_id == scene["supervisor"].id and event.details["filters"]["has_warnings"] is True


def test_a_supervisor_never_gets_another_stations_visits(scene, client, login_as, csrf_from):
    login_as(scene["supervisor"])

    response = client.post("/admin/exports/visits", data={"csrf_token": csrf_from("/admin/exports/"),
                                                          "format": "csv", "status": ""})

    ids = {int(row["编号"]) for row in csv_rows(response)}
    assert ids == {visit.id for visit in scene["visits"]}


def test_a_post_without_the_csrf_token_is_refused(scene, client, login_as):
    login_as(scene["admin"])

    response = client.post("/admin/exports/visits", data={"format": "csv"})

    assert response.status_code == 400
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None


def test_bad_filters_answer_400_and_export_nothing(scene, client, login_as, csrf_from):
    login_as(scene["admin"])

    response = client.post("/admin/exports/visits", data={"csrf_token": csrf_from("/admin/exports/"),
                                                          "format": "pdf", "kind": "nap"})

    assert response.status_code == 400
    assert "筛选条件无效" in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None


def test_beneficiaries_are_masked_for_supervisors_who_cannot_unmask(scene, client, login_as, csrf_from):
    login_as(scene["supervisor"])
    token = csrf_from("/admin/exports/")

    masked = client.post("/admin/exports/beneficiaries", data={"csrf_token": token, "format": "csv"})
    refused = client.post("/admin/exports/beneficiaries", data={"csrf_token": token, "format": "csv",
                                                                "full_id_numbers": "1", "reason": "核对"})

    assert masked.is_streamed
    assert [(row["姓名"], row["身份证号"]) for row in csv_rows(masked)] == [
        ("张三", scene["person"].id_number_masked)]
    assert refused.status_code == 403
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [event.details["full_id_numbers"] for event in events] == [False]


def test_an_admin_exports_full_id_numbers_with_a_reason_and_it_is_audited(scene, client, login_as, csrf_from):
    login_as(scene["admin"])
    token = csrf_from("/admin/exports/")

    no_reason = client.post("/admin/exports/beneficiaries", data={"csrf_token": token, "format": "csv",
                                                                  "full_id_numbers": "1"})
    full = client.post("/admin/exports/beneficiaries", data={"csrf_token": token, "format": "csv",
                                                             "full_id_numbers": "1", "reason": "年度核对"})

    assert no_reason.status_code == 422 and "原因" in no_reason.get_data(as_text=True)
    ids = {row["姓名"]: row["身份证号"] for row in csv_rows(full)}
    assert ids["张三"] == scene["person"].id_number and "外站" in ids
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.actor_id == scene["admin"].id
    assert event.details["full_id_numbers"] is True and event.details["reason"] == "年度核对"


def test_the_visit_export_over_http_carries_the_ledger_columns_latitude_first(scene, client, login_as, csrf_from):
    visit = scene["visits"][0]
    visit.findings = {"safety": {"value": "concern", "note": "煤气管老化"}}
    visit.needs, visit.follow_up_needed = ["rehabilitation"], True
    visit.latitude, visit.longitude = 21.123456789, 110.987654321
    db.session.commit()
    login_as(scene["admin"])

    response = client.post("/admin/exports/visits", data={"csrf_token": csrf_from("/admin/exports/"),
                                                          "format": "csv", "status": ""})

    rows = csv_rows(response)
    headers = list(rows[0])
    assert headers.index("纬度（WGS-84）") + 1 == headers.index("经度（WGS-84）")
    ledger = {"基本生活（吃穿住医）", "家庭赡养/抚养说明", "需求", "需跟进", "跟进期限", "服务领域", "审核人",
              "审核意见"}
    assert ledger <= set(headers)
    row = next(row for row in rows if int(row["编号"]) == visit.id)
    assert (row["纬度（WGS-84）"], row["经度（WGS-84）"]) == ("21.123457", "110.987654")
    assert (row["安全隐患（房、水、电、气）"], row["安全隐患（房、水、电、气）说明"]) == ("有问题", "煤气管老化")
    assert (row["需求"], row["需跟进"]) == ("康复护理", "是")


def test_the_exports_page_says_what_the_visit_export_holds(scene, client, login_as):
    login_as(scene["supervisor"])

    page = client.get("/admin/exports/").get_data(as_text=True)

    assert "四个方面" in page and "按记录编号" in page
