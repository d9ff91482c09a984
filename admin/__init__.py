"""The Flask-Admin site at /admin, built inside the app factory."""

from flask import Flask, redirect, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from admin.auth import create_auth_blueprint
from admin.base import SecureMixin
from admin.exports import add_export_views
from admin.management import add_management_views
from admin.reports import add_report_views
from admin.review import add_review_views
from admin.templating import template_helpers
from models.enums import Role


class SecureIndexView(SecureMixin, AdminIndexView):
    """The admin index, closed to anyone not logged in: each role lands on its own home page.

    A supervisor's work is the review queue; the bureau's admins start from the dashboard (which
    supervisors also reach from the menu, scoped to their stations).
    """

    @expose("/")
    def index(self):
        if current_user.role == Role.SUPERVISOR:
            return redirect(url_for("review.index"))
        return redirect(url_for("dashboard.index"))


def init_admin(app: Flask) -> Admin:
    """Create the Admin for this app (never module-level: tests build many apps)."""
    app.register_blueprint(create_auth_blueprint())
    app.jinja_env.globals.update(template_helpers())
    admin = Admin(app, name="走访 Zoufang", index_view=SecureIndexView(url="/admin"),
                  theme=Bootstrap4Theme(base_template="admin/zoufang_base.html", fluid=True))
    add_review_views(admin)
    add_report_views(admin)
    add_management_views(admin)
    add_export_views(admin)
    return admin


__all__ = ["init_admin"]
