"""Admin site login and logout (Flask-Login session)."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from services.accounts import authenticate
from services.errors import ServiceError


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=256)])


def safe_next_url(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for("admin.index")


def login():
    """Show the login form; on success start a session and go to the safe `next`."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, ip=request.remote_addr)
        except ServiceError as error:
            flash(error.message, "error")
            return render_template("admin/login.html", form=form), error.status
        if user.role == "worker":
            return render_template("admin/workers_use_phone.html"), 403
        login_user(user)
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("admin/login.html", form=form)


def logout():
    """End the admin session."""
    logout_user()
    return redirect(url_for("admin_auth.login"))


def create_auth_blueprint() -> Blueprint:
    blueprint = Blueprint("admin_auth", __name__, template_folder="templates")
    blueprint.add_url_rule("/admin/login", view_func=login, methods=["GET", "POST"])
    blueprint.add_url_rule("/admin/logout", view_func=logout, methods=["POST"])
    return blueprint
