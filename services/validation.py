"""Field errors gathered across every check of one input, so that a person sees all the problems at once.

Every validating service (the visit submission, the registry's form and imports) checks all the fields it can,
records each refusal here under the field's name, and refuses the input once, at the end, with the lot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from services.errors import Invalid


class FieldProblem(Exception):
    """A refused field value, raised by a field check: a stable code for programs and a message for people.

    params: the values the refusal is about (a length, the offending text), for wording it by code at the edge.
    """

    def __init__(self, code: str, message: str, params: Mapping | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = dict(params or {})


class FieldError(NamedTuple):
    field: str
    code: str
    message: str
    params: Mapping = {}  # never mutated: each refusal with parameters brings its own dict


class FieldErrors:
    """The accumulator: add refusals, or run checks that raise FieldProblem, then raise_if_any."""

    def __init__(self, message: str, code: str | None = None):
        # What the whole input is refused with (Invalid's message and code); the per-field messages say why.
        self.message = message
        self.code = code
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str, code: str = "invalid", params: Mapping | None = None) -> None:
        """Refuse `field` with `message` (and, for wording it by code, the values it is about)."""
        self.errors.append(FieldError(field, code, message, dict(params or {})))

    def run(self, field: str, check: Callable, *args):
        """check(*args)'s result, or None with its FieldProblem recorded under `field`."""
        try:
            return check(*args)
        except FieldProblem as problem:
            self.add(field, problem.message, problem.code, problem.params)
            return None

    def __contains__(self, field: str) -> bool:
        return any(error.field == field for error in self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    @property
    def fields(self) -> dict[str, list[str]]:
        """The messages per field, in the order they were found: the `fields` of the Invalid raised."""
        fields: dict[str, list[str]] = {}
        for error in self.errors:
            fields.setdefault(error.field, []).append(error.message)
        return fields

    def raise_if_any(self) -> None:
        """Raise Invalid with every field error, if there is any."""
        if self.errors:
            raise Invalid(self.message, code=self.code, fields=self.fields)
