"""The admin site's own error pages (400, 403, 404, 405, 413, 429, 500, 503) in the session's language, not
Werkzeug's English.

They are error handlers of the admin's blueprints (every Flask-Admin view through SecureMixin.create_blueprint,
and the login blueprint, which also answers any unknown URL under /admin), so they never reach /api/v1 (JSON
errors, api/errors.py) nor /m/. A logged-in reviewer sees the page inside the admin layout with its menu; anyone
else a plain page.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import lazy_gettext
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from admin.identity import acting_user, redirect_to_login
from admin.messages import service_error_text
from extensions import db
from services.errors import ServiceError
from services.health import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from services.permissions import is_reviewer

ERROR_TITLES = {
    400: lazy_gettext("The request could not be handled"),
    403: lazy_gettext("Access denied"),
    404: lazy_gettext("Page not found"),
    500: lazy_gettext("Something went wrong"),
    405: lazy_gettext("The request could not be handled"),
    413: lazy_gettext("The upload is too large"),
    429: lazy_gettext("Too many attempts"),
    503: lazy_gettext("Service temporarily unavailable"),
}
ERROR_EXPLANATIONS = {
    # Mostly a form whose security token expired (the page was open for hours, or the user logged in again).
    400: lazy_gettext("The page was open too long or the form was incomplete. Go back, reload the page and try "
                      "again."),
    403: lazy_gettext("Your account may not open this page."),
    404: lazy_gettext("This page or record does not exist, or is not yours to see."),
    500: lazy_gettext("The server could not answer this request. The error has been logged; please try again "
                      "later."),
    405: lazy_gettext("This address does not take this kind of request; go back and use the page's buttons."),
    413: lazy_gettext("The file is larger than the site accepts; split it or make it smaller."),
    429: lazy_gettext("Too many attempts in a short time; please wait a minute and try again."),
    503: lazy_gettext("The database cannot be reached at the moment; please try again in a minute."),
}
# A refused service call nobody caught (a 400, 409 or 422 outside a form) is shown with this title and its reason.
REFUSED_TITLE = lazy_gettext("The request was refused")


def admin_error_page(error: Exception):
    """The error handler of every admin blueprint: a page for the HTTP errors a user meets and for refused
    service calls; any other HTTP error (and every redirect) keeps Werkzeug's answer."""
    if isinstance(error, HTTPException):
        if error.code not in ERROR_TITLES:
            return error
        page, status, headers = render_error_page(error.code)
        # The error's own headers (a 405's Allow, a 429's Retry-After) still go out with the page.
        kept = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return page, status, [*kept, *headers.items()]
    if isinstance(error, ServiceError):
        return render_error_page(error.status, service_error_text(error))
    if isinstance(error, DATABASE_UNAVAILABLE):
        current_app.logger.warning("database unavailable in the admin: %s",
                                   type(getattr(error, "orig", None) or error).__name__)
        return render_error_page(503)
    current_app.logger.exception("unhandled error in the admin")
    return render_error_page(500)


def render_error_page(status: int, message: str | None = None):
    """The page for an HTTP status in the session's language; inside the admin layout for a logged-in reviewer."""
    title = ERROR_TITLES.get(status, REFUSED_TITLE)
    explanation = message or ERROR_EXPLANATIONS.get(status, "")
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else {}
    if status >= 500:
        # The failed request's unit of work is dead (possibly a failed flush); the layout may read the user again.
        db.session.rollback()
    page = {"status": status, "title": title, "explanation": explanation}
    if status != 503 and _reviewer_logged_in():
        try:
            index_view = current_app.extensions["admin"][0].index_view
            return index_view.render("admin/errors/error.html", **page), status, headers
        except Exception:  # the layout itself failed (its menu, the user's row): the plain page still answers
            current_app.logger.exception("admin error page: the layout failed, answering with the plain page")
            db.session.rollback()
    return render_template("admin/errors/plain.html", **page), status, headers


def _reviewer_logged_in() -> bool:
    return is_reviewer(acting_user())


def unknown_admin_page(_path: str):
    """Any URL under /admin that no view answers: the admin's 404 page rather than Werkzeug's; an anonymous
    visitor is sent to log in, as from every admin URL (which URLs exist is not shown before logging in)."""
    other_methods = _methods_answering_elsewhere()
    if other_methods:
        # The URL exists for another method (a POST-only action): a 405 as without this catch-all.
        raise MethodNotAllowed(valid_methods=other_methods)
    if acting_user() is None:
        return redirect_to_login()
    abort(404)


def _methods_answering_elsewhere() -> list[str]:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    methods = []
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _values = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            methods.append(method)
    return methods


def register_error_pages(blueprint: Blueprint) -> None:
    """Show the admin's error pages for whatever fails inside this blueprint's views."""
    blueprint.register_error_handler(Exception, admin_error_page)
