"""Turning service refusals into CLI errors."""

from contextlib import contextmanager

import click

from services.errors import ServiceError


@contextmanager
def refusals_as_click_errors():
    """Show a service's refusal as a one-line error with exit code 1, not a traceback."""
    try:
        yield
    except ServiceError as error:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(error.message + (f" ({detail})" if detail else "")) from error
