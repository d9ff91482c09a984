"""The one field-error accumulator: every refusal kept, in order, raised once as Invalid with per-field messages."""

import pytest

from services.errors import Invalid
from services.validation import FieldErrors, FieldProblem


def _refuse_odd(number: int) -> int:
    if number % 2:
        raise FieldProblem("odd", f"{number} 是奇数")
    return number


def test_nothing_refused_raises_nothing():
    errors = FieldErrors("输入有误")
    assert errors.run("a", _refuse_odd, 2) == 2
    assert not errors and "a" not in errors
    errors.raise_if_any()


def test_every_problem_is_kept_per_field_in_order_and_raised_once():
    errors = FieldErrors("输入有误")
    assert errors.run("a", _refuse_odd, 3) is None
    errors.add("b", "不能为空", "missing")
    errors.add("a", "太大")
    assert errors and "a" in errors and "c" not in errors
    assert [(error.field, error.code) for error in errors.errors] == [("a", "odd"), ("b", "missing"), ("a", "invalid")]
    with pytest.raises(Invalid) as raised:
        errors.raise_if_any()
    assert raised.value.message == "输入有误" and raised.value.status == 422
    assert raised.value.fields == {"a": ["3 是奇数", "太大"], "b": ["不能为空"]}


def test_a_check_that_raises_anything_else_is_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        FieldErrors("输入有误").run("a", lambda: 1 / 0)
