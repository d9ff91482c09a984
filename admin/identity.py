"""Who is asking: the logged-in user as services see them, and the way to the login page for everyone else.

Below admin.base and admin.error_pages, which both need it (the error pages are registered by admin.base).
"""

from flask import redirect, request, url_for
from flask_login import current_user

from models import User


def redirect_to_login():
    """Send an anonymous visitor to the login page, remembering where they were going."""
    return redirect(url_for("admin_auth.login", next=request.full_path))


def acting_user() -> User | None:
    """The logged-in, active user itself (not Flask-Login's proxy), as services check and audit it; else None."""
    if not current_user.is_authenticated or not current_user.is_active:
        return None
    return current_user._get_current_object()
