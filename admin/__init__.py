"""The Flask-Admin site at /admin, built inside the app factory."""

from flask import Flask
from flask_admin import Admin, AdminIndexView, expose

from admin.auth import create_auth_blueprint
from admin.base import SecureMixin
from admin.management import add_management_views
from admin.review import add_review_views


class SecureIndexView(SecureMixin, AdminIndexView):
    """The admin index, closed to anyone not logged in as a supervisor or admin."""

    @expose("/")
    def index(self):
        return self.render("admin/index.html")


def init_admin(app: Flask) -> Admin:
    """Create the Admin for this app (never module-level: tests build many apps)."""
    app.register_blueprint(create_auth_blueprint())
    admin = Admin(app, name="走访 Zoufang", index_view=SecureIndexView(url="/admin"))
    add_review_views(admin)
    add_management_views(admin)
    return admin


__all__ = ["init_admin"]
