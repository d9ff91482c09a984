"""Field errors gathered across every check of one input, so that a person sees all the problems at once.

Every validating service (the visit submission, the registry's form and imports) checks all the fields it can,
records each refusal here under the field's name, and refuses the input once, at the end, with the lot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from services.errors import Invalid


class FieldProblem(Exception):
    """A refused field value, raised by a field check: a stable code for programs and a message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class FieldError(NamedTuple):
    field: str
    code: str
    message: str


class FieldErrors:
    """The accumulator: add refusals, or run checks that raise FieldProblem, then raise_if_any."""

    def __init__(self, message: str, code: str | None = None):
        # What the whole input is refused with (Invalid's message and code); the per-field messages say why.
        self.message = message
        self.code = code
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str, code: str = "invalid") -> None:
        """Refuse `field` with `message`."""
        self.errors.append(FieldError(field, code, message))

    def run(self, field: str, check: Callable, *args):
        """check(*args)'s result, or None with its FieldProblem recorded under `field`."""
        try:
            return check(*args)
        except FieldProblem as problem:
            self.add(field, problem.message, problem.code)
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
