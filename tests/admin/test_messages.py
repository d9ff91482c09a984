"""admin.messages: service refusals are worded by code, in both languages, never with the API's Chinese text."""

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from admin.messages import (
    ROSTER_FIELD_LABELS,
    ROSTER_PROBLEM_MESSAGES,
    SERVICE_ERROR_MESSAGES,
    roster_problem_text,
    service_error_text,
)
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.registry.bulk_import import RowProblem

ROOT = Path(__file__).resolve().parents[2]


def _codes_raised_in_services() -> set[str]:
    codes = set()
    for path in (ROOT / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                codes.add(node.value.value)
    return codes


def test_every_translated_code_is_one_the_services_raise():
    assert set(SERVICE_ERROR_MESSAGES) - _codes_raised_in_services() == set()


def test_every_message_has_a_chinese_translation():
    catalog = read_po((ROOT / "translations/zh_Hans_CN/LC_MESSAGES/messages.po").open("rb"))
    for code, message in SERVICE_ERROR_MESSAGES.items():
        entry = catalog.get(message._args[0])
        assert entry is not None and entry.string, code


@pytest.mark.parametrize(("error", "english", "chinese"), [
    (Invalid("社工站 X1 已存在", code="station_exists", params={"code": "X1"}),
     "Station X1 already exists.", "社工站 X1 已存在"),
    (Invalid("一次最多批量处理 500 条", code="too_many_visits", params={"limit": 500}),
     "At most 500 records can be handled at once.", "一次最多批量处理 500 条"),
    (Forbidden("某个未翻译的拒绝", code="some_future_code"), "You may not do this.", "无权进行此操作"),
    (NotFound("不存在", code="some_future_code"), "Not found.", "记录不存在"),
    (Conflict("冲突", code="some_future_code"), "This record was changed meanwhile; please reload it.",
     "该记录已被修改，请刷新后重试"),
])
def test_refusals_are_worded_in_the_page_language(app, error, english, chinese):
    with app.test_request_context():
        with force_locale("en"):
            assert service_error_text(error) == english
        with force_locale("zh_Hans_CN"):
            assert service_error_text(error) == chinese


def test_field_details_name_the_fields_in_english_and_keep_the_sentences_in_chinese(app):
    error = Invalid("服务对象信息有误", code="beneficiary_invalid", fields={"id_number": ["身份证号校验位错误"]})
    with app.test_request_context():
        with force_locale("en"):
            assert service_error_text(error) == "The beneficiary's details are not valid. (id_number)"
        with force_locale("zh_Hans_CN"):
            assert service_error_text(error) == "服务对象信息有误（id_number: 身份证号校验位错误）"


# --- roster import problems (services.registry.bulk_import.RowProblem) ------------------------------------------

ROSTER_MODULES = ("bulk_import.py", "roster_xlsx.py", "csv_reader.py", "fields.py")


def _roster_problem_codes() -> set[str]:
    """Every code a roster row problem is raised with: RowProblem(line, column, CODE, ...),
    FieldProblem(CODE, ...) and the validator's checker.add(field, message, CODE, ...)."""
    codes = set()
    for name in ROSTER_MODULES:
        tree = ast.parse((ROOT / "services/registry" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            position = {"RowProblem": 2, "FieldProblem": 0, "add": 2}.get(callee)
            if position is not None and len(node.args) > position and isinstance(node.args[position], ast.Constant):
                codes.add(node.args[position].value)
    return codes


def test_every_roster_problem_code_is_worded():
    raised = _roster_problem_codes()
    assert len(raised) > 25
    worded = {key if isinstance(key, str) else key[0] for key in ROSTER_PROBLEM_MESSAGES}
    assert raised - worded == set()
    assert worded - raised == set()


def test_every_roster_message_has_a_chinese_translation():
    catalog = read_po((ROOT / "translations/zh_Hans_CN/LC_MESSAGES/messages.po").open("rb"))
    for key, message in [*ROSTER_PROBLEM_MESSAGES.items(), *ROSTER_FIELD_LABELS.items()]:
        msgid = message._args[0] if len(message._args) == 1 else message._args[1]
        context = message._args[0] if len(message._args) == 2 else None
        entry = catalog.get(msgid, context=context)
        assert entry is not None and entry.string, key


@pytest.mark.parametrize(("problem", "english", "chinese"), [
    (RowProblem(3, "id_number", "duplicate_in_file", "身份证号与第 2 行重复", {"first_line": 2}),
     "The same ID number is already on row 2.", "身份证号与第 2 行重复"),
    (RowProblem(3, "categories", "unknown_category", "未知类别", {"values": ["贫困户", "五好"]}),
     "Unknown category: 贫困户, 五好.", "未知类别：贫困户、五好"),
    (RowProblem(1, "", "header", "前 10 行中找不到表头", {"kind": "not_found", "rows": 10, "expected": ["姓名"]}),
     "No header in the first 10 rows (it should have columns such as 姓名).", "前 10 行中找不到表头（应含 姓名 等列）"),
    (RowProblem(1, "", "too_large", "工作簿中的文字过多", {"kind": "text"}),
     "The workbook holds too much text; split the file.", "工作簿中的文字过多，请拆分文件"),
    (RowProblem(2, "", "some_future_code", "某个新问题"), "This value is not valid.", "此项无效"),
    (RowProblem(2, "", "duplicate_in_file", "缺参数"), "This value is not valid.", "此项无效"),
])
def test_roster_problems_are_worded_in_the_page_language(app, problem, english, chinese):
    with app.test_request_context():
        with force_locale("en"):
            assert roster_problem_text(problem) == english
        with force_locale("zh_Hans_CN"):
            assert roster_problem_text(problem) == chinese
