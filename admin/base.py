"""Secure bases for every admin view: closed unless logged in as a supervisor or admin, CSRF on forms."""

from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_login import current_user

REVIEWER_ROLES = frozenset({"supervisor", "admin"})


def redirect_to_login():
    """Send an anonymous visitor to the login page, remembering where they were going."""
    return redirect(url_for("admin_auth.login", next=request.full_path))


class SecureMixin:
    """Access rule shared by model and custom views; `allowed_roles` narrows it per view."""

    allowed_roles: frozenset[str] = REVIEWER_ROLES

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.role in self.allowed_roles

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect_to_login()
        abort(403)


class SecureModelView(SecureMixin, ModelView):
    """A ModelView with CSRF-protected forms, no deletes, and access closed by default."""

    form_base_class = SecureForm
    can_delete = False
    page_size = 50


class SecureView(SecureMixin, BaseView):
    """A custom admin page, closed by default."""


class AdminOnlyModelView(SecureModelView):
    allowed_roles = frozenset({"admin"})
