"""The roster import page over HTTP: upload → dry-run report → confirm → all written, or nothing; admins only."""

import io
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Beneficiary
from services.registry.fields import complete_id_number
from tests.admin.conftest import redirects_to_login
from tests.factories import make_admin, make_station, make_supervisor, roster_xlsx_bytes

ZHANG = complete_id_number("44090219500301001")
LI = complete_id_number("44090219620715002")
HEADER = ["姓名", "身份证号码", "类别", "乡镇(街道)", "村(社区)", "联系电话"]
TOKEN_FIELD = re.compile(r'name="token" value="([0-9a-f]{32})"')
NEW_POINT_FIELD = re.compile(r'name="service_point" [^>]*value=\'([^\']*)\'')


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Beneficiary))


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
