"""Admin site login and logout (Flask-Login session), idle timeout, and the language switch."""

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin.error_pages import register_error_pages, unknown_admin_page
from admin.i18n import choose_locale
from services.accounts.credentials import authenticate
from services.accounts.users import record_logout
from services.errors import ServiceError, TooManyRequests
from services.permissions import is_reviewer

LAST_SEEN_KEY = "admin_last_seen"


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=256)])


class LanguageForm(FlaskForm):
    locale = HiddenField(validators=[DataRequired()])
    next = HiddenField()


def safe_next_url(target: str | None) -> str:
    """Only same-site absolute paths are followed (no open redirect); anything else goes to the index."""
    if target:
        parts = urlsplit(target)
        same_site_path = (not parts.scheme and not parts.netloc and target.startswith("/")
                          and not target.startswith("//") and "\\" not in target
                          and not any(ord(char) < 0x20 for char in target))
        if same_site_path:
            return target
    return url_for("admin.index")


def login():
    """Show the login form; on success start a session and go to the safe `next`."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, ip=request.remote_addr)
        except TooManyRequests as error:
            minutes = max(1, -(-int(error.headers.get("Retry-After", "60")) // 60))
            flash(gettext("Too many failed log-in attempts. Try again in %(minutes)d minutes.", minutes=minutes),
                  "error")
            return render_template("admin/login.html", form=form), error.status, error.headers
        except ServiceError as error:
            flash(gettext("Wrong username or password."), "error")
            return render_template("admin/login.html", form=form), error.status
        if not is_reviewer(user):
            return render_template("admin/workers_use_phone.html"), 403
        login_user(user)
        _mark_seen()
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("admin/login.html", form=form)


def logout():
    """End the admin session (POST with a CSRF token, checked by CSRFProtect)."""
    if current_user.is_authenticated:
        record_logout(current_user._get_current_object())
    logout_user()
    session.pop(LAST_SEEN_KEY, None)
    return redirect(url_for("admin_auth.login"))


def switch_language():
    """Remember the chosen language in the session and go back to the page it was chosen on."""
    form = LanguageForm()
    if form.validate_on_submit():
        choose_locale(form.locale.data)
    return redirect(safe_next_url(form.next.data))


def _mark_seen() -> None:
    session[LAST_SEEN_KEY] = int(time.time())
    session.permanent = True


def enforce_session_rules():
    """Before every request: end a session that sat idle too long or whose user was deactivated."""
    if "_user_id" not in session:
        return
    last_seen = session.get(LAST_SEEN_KEY)
    idle_limit = current_app.config["ADMIN_IDLE_TIMEOUT"].total_seconds()
    expired = not isinstance(last_seen, int) or time.time() - last_seen > idle_limit
    if expired or not current_user.is_active:
        logout_user()
        session.pop(LAST_SEEN_KEY, None)
        return
    _mark_seen()


def create_auth_blueprint() -> Blueprint:
    """The login, logout and language endpoints, the per-request session rules, and the 404 page of any unknown
    URL under /admin."""
    blueprint = Blueprint("admin_auth", __name__, template_folder="templates")
    blueprint.add_url_rule("/admin/login", view_func=login, methods=["GET", "POST"])
    blueprint.add_url_rule("/admin/logout", view_func=logout, methods=["POST"])
    blueprint.add_url_rule("/admin/language", view_func=switch_language, methods=["POST"])
    # Registered last and with a converter, so every URL a view answers matches before it does.
    blueprint.add_url_rule("/admin/<path:_path>", view_func=unknown_admin_page, methods=["GET"])
    register_error_pages(blueprint)
    blueprint.before_app_request(enforce_session_rules)
    return blueprint
