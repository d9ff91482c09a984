"""flask beneficiaries import FILE.xlsx [--dry-run]: the bureau's workbook through the command line."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Beneficiary
from services.registry.fields import complete_id_number
from tests.factories import make_station, roster_xlsx_bytes

ZHANG = complete_id_number("44090219500301001")
LI = complete_id_number("44090219620715002")
HEADER = ["姓名", "公民身份号码", "类别", "所属乡镇", "村居", "住址", "电话", "经度", "纬度"]


@pytest.fixture
def station(app):
    return make_station(code="440902100", name="金塘镇")


def write(tmp_path, rows, name="花名册.xlsx"):
    path = tmp_path / name
    path.write_bytes(roster_xlsx_bytes(rows, title_rows=[["2024 年困难群众名册"]]))
    return path


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Beneficiary))


def test_dry_run_then_import_of_a_workbook(station, runner, tmp_path):
    path = write(tmp_path, [HEADER, ["张三", ZHANG, "低保", "金塘镇", "东村", "东村 1 号", "13800138000", 110.9, 21.6],
                            ["李四", LI, "特困；独居老人", "金塘镇", "西村", "", "", "", ""]])

    dry = runner.invoke(args=["beneficiaries", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would have created 2" in dry.output and people_count() == 0
    assert "新建服务点：东村（金塘镇，1 行，首见第 3 行）" in dry.output and "新建服务点：西村" in dry.output

    done = runner.invoke(args=["beneficiaries", "import", str(path)])
    assert done.exit_code == 0, done.output
    assert "imported: created 2, updated 0, unchanged 0" in done.output
    li = db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == LI))
    assert li.categories == ["elderly_alone", "tekun"] and li.service_point.name == "西村"

    again = runner.invoke(args=["beneficiaries", "import", str(path)])
    assert "created 0, updated 0, unchanged 2" in again.output


def test_bad_rows_are_listed_with_sheet_rows_and_file_headers(station, runner, tmp_path):
    path = write(tmp_path, [HEADER, ["张三", 440902195003010000, "低保", "金塘镇", "", "", "", "", ""],
                            ["李四", LI, "特困", "外镇", "", "", "", "", ""]])

    result = runner.invoke(args=["beneficiaries", "import", str(path)])

    assert result.exit_code == 1
    assert "line 3 [公民身份号码]" in result.output and "数字格式" in result.output
    assert "line 4 [所属乡镇]" in result.output and "外镇" in result.output
    assert "2 problem(s) found; nothing was imported" in result.output
    assert people_count() == 0
