"""admin.messages: service refusals are worded by code, in both languages, never with the API's Chinese text."""

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from admin.messages import SERVICE_ERROR_MESSAGES, service_error_text
from services.errors import Conflict, Forbidden, Invalid, NotFound

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
