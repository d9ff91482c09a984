"""Secure bases for every admin view: closed unless logged in as a supervisor or admin, CSRF on forms.

Who may open what is asked of services.permissions; a refused service call is shown by one helper here.
"""

from collections.abc import Callable
from datetime import datetime

from flask import abort, flash
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_admin.form import BaseForm, SecureForm
from flask_admin.model.base import ViewArgs
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm

from admin.error_pages import register_error_pages
from admin.identity import acting_user, redirect_to_login
from admin.messages import code_text, service_error_text
from admin.templating import local_time
from extensions import db
from models.types import INT_MAX, in_column_range
from services.errors import ServiceError
from services.permissions import ADMIN_ROLES, REVIEWER_ROLES, is_admin

# What an optional select shows for "nothing chosen".
BLANK_CHOICE_TEXT = "—"


class CsrfForm(FlaskForm):
    """An empty form carrying only the CSRF token, for the admin's own POST forms (review actions, exports, import)."""


class AdminSecureForm(SecureForm):
    """Flask-Admin's SecureForm, signing its token the way Flask-WTF does.

    The app-wide CSRFProtect checks every POST for a Flask-WTF token before a view runs; SecureForm's own
    session token would be refused there. One token kind, checked twice (by CSRFProtect and by the form).
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, _form):
            return BaseForm.Meta._translations

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            # Flask-Admin's optional relation selects (ours and the ones it generates) would show their blank
            # choice by its internal value "__None"; a dash reads as "none chosen" in every language.
            if isinstance(field, QuerySelectField) and field.allow_blank and not field.blank_text:
                field.blank_text = BLANK_CHOICE_TEXT


def has_role(roles: frozenset[str]) -> bool:
    """Whether the logged-in, active user has one of the roles."""
    user = acting_user()
    return user is not None and user.role in roles


def user_is_admin() -> bool:
    """Whether the logged-in, active user is an administrator (services.permissions.is_admin)."""
    return is_admin(acting_user())


def flash_service_error(error: ServiceError) -> None:
    """Show a service's refusal in the page's language (translated by its code, admin/messages.py)."""
    flash(service_error_text(error), "error")


def call_service(service: Callable, *args, form=None, **kwargs):
    """Call one service function for a submitted form; on a refusal, flash it and answer False.

    The one place the admin ends a refused unit of work: the page that follows re-renders its form from
    the database, so the refused transaction (possibly a failed flush) is rolled back first. Given the `form`,
    each field problem of the refusal (services.validation.FieldsInvalid) is also shown under its field.
    """
    try:
        return service(*args, **kwargs)
    except ServiceError as error:
        db.session.rollback()
        flash_service_error(error)
        if form is not None:
            show_field_problems(form, error)
        return False


def show_field_problems(form, error: ServiceError) -> None:
    """Put each field problem of a refusal under its form field, worded by its code in the page's language."""
    for problem in getattr(error, "errors", ()):
        field = form._fields.get(problem.field) if hasattr(form, "_fields") else None
        if field is not None:
            field.errors = [*field.errors, code_text(problem.code, problem.params, error.status)]


def local_time_formatter(_view, value: datetime, _name: str) -> str:
    """Stored UTC times in the configured zone (Asia/Shanghai) to the minute, as the people using the site read
    them: 2026-11-28 14:02, no offset, no microseconds."""
    return local_time(value)


def yes_no_formatter(_view, value: bool, _name: str) -> str:
    """A boolean as a word of the page's language (是 / 否), never Python's True / False."""
    return gettext("Yes") if value else gettext("No")


# How every list and details page shows a value by its type (a column's own formatter still comes first).
TYPE_FORMATTERS = {**DEFAULT_FORMATTERS, datetime: local_time_formatter, bool: yes_no_formatter}


class SecureMixin:
    """Access rule shared by model and custom views; `allowed_roles` narrows it per view."""

    allowed_roles: frozenset[str] = REVIEWER_ROLES

    def is_accessible(self) -> bool:
        return has_role(self.allowed_roles)

    def inaccessible_callback(self, _name, **kwargs):
        if not current_user.is_authenticated or not current_user.is_active:
            return redirect_to_login()
        abort(403)

    def create_blueprint(self, admin):
        blueprint = super().create_blueprint(admin)
        register_error_pages(blueprint)
        return blueprint


def record_id_or_404(value) -> int:
    """A record id from a URL (`?id=`), or 404 when it is not an integer the id columns can hold."""
    try:
        record_id = int(value)
    except (TypeError, ValueError):
        abort(404)
    if not in_column_range(record_id):
        abort(404)
    return record_id


class SecureModelView(SecureMixin, ModelView):
    """A ModelView with CSRF-protected forms, no deletes, and access closed by default."""

    form_base_class = AdminSecureForm
    can_delete = False
    can_view_details = True
    can_export = False
    page_size = 50
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS

    def _get_list_extra_args(self) -> ViewArgs:
        # ?page=-5 or ?page=10**30 would reach the database as a negative or overflowing OFFSET.
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), INT_MAX // self.page_size)
        return args

    def get_one(self, id):
        return super().get_one(str(record_id_or_404(id)))


class SecureView(SecureMixin, BaseView):
    """A custom admin page, closed by default."""


class AdminOnlyModelView(SecureModelView):
    """A management view only admins may open."""

    allowed_roles = ADMIN_ROLES


class AdminEditsModelView(SecureModelView):
    """Supervisors may open it read-only; only admins create and edit (rows are scoped by the subclass)."""

    @property
    def can_create(self) -> bool:
        return user_is_admin()

    @property
    def can_edit(self) -> bool:
        return user_is_admin()

    def is_action_allowed(self, name: str) -> bool:
        return user_is_admin() and super().is_action_allowed(name)
