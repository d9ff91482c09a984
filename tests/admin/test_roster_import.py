"""The roster import page over HTTP: upload → dry-run report → confirm → all written, or nothing; admins only."""

import io
import json
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Beneficiary, ServicePoint
from services.registry.fields import complete_id_number
from tests.admin.conftest import redirects_to_login
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_service_point,
    make_station,
    make_supervisor,
    roster_xlsx_bytes,
)

ZHANG = complete_id_number("44090219500301001")
LI = complete_id_number("44090219620715002")
HEADER = ["姓名", "身份证号码", "类别", "乡镇(街道)", "村(社区)", "联系电话"]
TOKEN_FIELD = re.compile(r'name="token" value="([0-9a-f]{32})"')
NEW_POINT_FIELD = re.compile(r'name="service_point" [^>]*value=\'([^\']*)\'')


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Beneficiary))


def village_names() -> list[str]:
    return sorted(db.session.scalars(select(ServicePoint.name)))


def upload(client, csrf_from, raw: bytes, name: str = "花名册.xlsx"):
    return client.post("/admin/roster-import/check", content_type="multipart/form-data",
                       data={"csrf_token": csrf_from("/admin/roster-import/"), "file": (io.BytesIO(raw), name)})


@pytest.fixture
def station(app):
    return make_station(code="440902100", name="金塘镇")


def test_dry_run_then_commit(station, client, login_as, csrf_from):
    login_as(make_admin())
    raw = roster_xlsx_bytes([HEADER, ["张三", ZHANG, "低保、特困", "金塘镇", "东村", "13800138000"],
                             ["李四", LI, "留守老人", "金塘镇", "西村", ""]], title_rows=[["金塘镇困难群众名册"]])

    checked = upload(client, csrf_from, raw)

    page = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "检查通过" in page and "新增 2 人" in page
    assert people_count() == 0
    token = TOKEN_FIELD.search(page).group(1)
    assert "新建服务点：东村" in page and "新建服务点：西村" in page
    confirmations = [unescape(value) for value in NEW_POINT_FIELD.findall(page)]

    committed = client.post("/admin/roster-import/commit", data={"csrf_token": csrf_from("/admin/roster-import/"),
                                                                 "token": token, "service_point": confirmations})

    assert committed.status_code == 200
    assert 'id="roster-result"' in committed.get_data(as_text=True)
    assert people_count() == 2
    zhang = db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == ZHANG))
    assert zhang.categories == ["dibao", "tekun"] and zhang.service_point.name == "东村"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "beneficiaries_imported")) is not None

    again = client.post("/admin/roster-import/commit", data={"csrf_token": csrf_from("/admin/roster-import/"),
                                                             "token": token})
    assert again.status_code == 302 and people_count() == 2


def test_bad_rows_are_listed_and_nothing_is_written(station, client, login_as, csrf_from):
    login_as(make_admin())
    bad_checksum = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")
    raw = roster_xlsx_bytes([HEADER, ["张三", bad_checksum, "低保", "金塘镇", "东村", ""],
                             ["李四", LI, "贫困户", "金塘镇", "东村", ""],
                             ["王五", 440902198001010000, "低保", "不存在镇", "东村", ""]])

    response = upload(client, csrf_from, raw)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "没有导入任何数据" in page and 'id="roster-commit-form"' not in page
    rows = re.findall(r'<tr data-line="(\d+)" data-code="([a-z_]+)">', page)
    assert rows == [("2", "id_number_checksum"), ("3", "unknown_category"), ("4", "id_number_numeric"),
                    ("4", "unknown_station")]
    assert "贫困户" in page and "不存在镇" in page
    assert people_count() == 0


def test_a_missing_file_is_refused(station, client, login_as, csrf_from):
    login_as(make_admin())

    response = client.post("/admin/roster-import/check", content_type="multipart/form-data",
                           data={"csrf_token": csrf_from("/admin/roster-import/")})

    assert response.status_code == 400
    assert "请选择名册文件" in response.get_data(as_text=True)


def test_an_unknown_token_commits_nothing(station, client, login_as, csrf_from):
    login_as(make_admin())

    response = client.post("/admin/roster-import/commit", data={"csrf_token": csrf_from("/admin/roster-import/"),
                                                                "token": "0" * 32}, follow_redirects=True)

    assert "不存在或已过期" in response.get_data(as_text=True)
    assert people_count() == 0


def test_supervisors_cannot_import(station, client, login_as, csrf_from):
    login_as(make_supervisor(station))
    token = csrf_from("/admin/exports/")
    raw = roster_xlsx_bytes([HEADER, ["张三", ZHANG, "低保", "金塘镇", "东村", ""]])

    assert client.get("/admin/roster-import/").status_code == 403
    response = client.post("/admin/roster-import/check", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(raw), "roster.xlsx")})
    assert response.status_code == 403
    assert people_count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert redirects_to_login(client.get("/admin/roster-import/"))


def commit(client, csrf_from, token, confirmations=()):
    return client.post("/admin/roster-import/commit", data={"csrf_token": csrf_from("/admin/roster-import/"),
                                                            "token": token, "service_point": list(confirmations)})


def switch_to_english(client, csrf_from):
    client.post("/admin/language", data={"locale": "en", "next": "/admin/roster-import/",
                                         "csrf_token": csrf_from("/admin/roster-import/")})


def test_a_new_village_is_created_only_when_ticked(station, client, login_as, csrf_from):
    login_as(make_admin())
    make_service_point(station, name="东村")
    raw = roster_xlsx_bytes([HEADER, ["张三", ZHANG, "低保", "金塘镇", "东村", ""],
                             ["李四", LI, "低保", "金塘镇", "新村仔", ""]])

    page = upload(client, csrf_from, raw).get_data(as_text=True)

    assert "新建服务点：新村仔" in page and "新建服务点：东村" not in page
    checkboxes = re.findall(r'<input [^>]*name="service_point"[^>]*>', page)
    assert len(checkboxes) == 1 and "checked" not in checkboxes[0]
    token = TOKEN_FIELD.search(page).group(1)

    refused = commit(client, csrf_from, token)

    refused_page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "没有导入任何数据" in refused_page and "未勾选：新村仔" in refused_page
    assert people_count() == 0 and village_names() == ["东村"]
    assert TOKEN_FIELD.search(refused_page).group(1) == token  # ticking and confirming again needs no new upload

    done = commit(client, csrf_from, token, [unescape(value) for value in NEW_POINT_FIELD.findall(refused_page)])

    assert done.status_code == 200 and 'id="roster-result"' in done.get_data(as_text=True)
    assert people_count() == 2 and village_names() == ["东村", "新村仔"]
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "beneficiaries_imported"))
    assert audit.details["service_points_created"] == [["440902100", "新村仔"]]


def test_a_confirmation_the_file_does_not_match_creates_nothing(station, client, login_as, csrf_from):
    login_as(make_admin())
    raw = roster_xlsx_bytes([HEADER, ["李四", LI, "低保", "金塘镇", "新村仔", ""]])
    token = TOKEN_FIELD.search(upload(client, csrf_from, raw).get_data(as_text=True)).group(1)

    forged = commit(client, csrf_from, token, ['["440902100", "新村"]', '["440902100", "别的村"]', "not json"])
    assert forged.status_code == 302 and people_count() == 0  # a malformed confirmation is refused outright

    refused = commit(client, csrf_from, token, ['["440902100", "新村"]', '["440902100", "别的村"]'])

    assert refused.status_code == 422
    assert people_count() == 0 and village_names() == []


def test_the_check_step_shows_what_changes_per_person(station, client, login_as, csrf_from):
    login_as(make_admin())
    east = make_service_point(station, name="东村")
    make_service_point(station, name="西村")
    make_beneficiary(station, name="张三", name_initials="zs", id_number=ZHANG, categories=["dibao"],
                     service_point=east, phone="13800138000", gender="male", birth_date=date(1950, 3, 1))
    make_beneficiary(station, name="李四", name_initials="ls", id_number=LI, categories=["tekun"],
                     service_point=east, phone=None, gender="female", birth_date=date(1962, 7, 15))
    raw = roster_xlsx_bytes([HEADER, ["张三", ZHANG, "低保、独居老人", "金塘镇", "西村", "13900139000"],
                             ["李四", LI, "特困", "金塘镇", "东村", ""]])

    page = upload(client, csrf_from, raw).get_data(as_text=True)

    assert "更新 1 人" in page and "1 人不变" in page
    changes = re.search(r'<table [^>]*id="roster-changes".*?</table>', page, re.S).group(0)
    assert "张三" in changes and "李四" not in changes  # unchanged people are counted, not listed
    assert "440902********" in changes and ZHANG not in page
    assert "类别：低保 → 低保、独居老人" in changes
    assert "村/社区：东村 → 西村" in changes
    assert "电话：13800138000 → 13900139000" in changes
    assert "<td>张三</td>" in changes and "<th>姓名</th>" in changes
    assert 'id="roster-changes-more"' not in page

    switch_to_english(client, csrf_from)
    english = upload(client, csrf_from, raw).get_data(as_text=True)
    assert "Categories: Minimum living allowance → Minimum living allowance, " in english
    assert "Village / community: 东村 → 西村" in english


def test_row_problems_are_worded_in_the_page_language(station, client, login_as, csrf_from):
    login_as(make_admin())
    bad_checksum = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")
    raw = roster_xlsx_bytes([HEADER, ["张三", bad_checksum, "低保", "金塘镇", "东村", ""],
                             ["李四", LI, "贫困户", "不存在镇", "东村", ""],
                             ["王五", LI, "低保", "金塘镇", "东村", "电话"]])

    chinese = unescape(upload(client, csrf_from, raw).get_data(as_text=True))
    switch_to_english(client, csrf_from)
    english = unescape(upload(client, csrf_from, raw).get_data(as_text=True))

    assert "身份证号校验位错误" in chinese and "未知类别：贫困户" in chinese and "身份证号与第 3 行重复" in chinese
    assert "The ID number's check digit is wrong." in english
    assert "Unknown category: 贫困户." in english
    assert "Unknown station “不存在镇” (write a station's name or code)." in english
    assert "The same ID number is already on row 3." in english
    assert "The phone number “电话” is not valid." in english
    for chinese_only in ("校验位错误", "未知类别", "重复", "格式不正确", "未知乡镇"):
        assert chinese_only not in english


def test_a_refused_commit_keeps_what_was_ticked(station, client, login_as, csrf_from):
    login_as(make_admin())
    raw = roster_xlsx_bytes([HEADER, ["张三", ZHANG, "低保", "金塘镇", "新村", ""],
                             ["李四", LI, "低保", "金塘镇", "新村仔", ""]])
    page = upload(client, csrf_from, raw).get_data(as_text=True)
    token = TOKEN_FIELD.search(page).group(1)

    refused = commit(client, csrf_from, token, ['["440902100", "新村"]']).get_data(as_text=True)

    ticked = {tuple(json.loads(unescape(value))): "checked" in tag for tag, value in
              re.findall(r'(<input [^>]*name="service_point" [^>]*value=\'([^\']*)\'[^>]*>)', refused)}
    assert ticked == {("440902100", "新村"): True, ("440902100", "新村仔"): False}
    assert "未勾选：新村仔" in refused and people_count() == 0
