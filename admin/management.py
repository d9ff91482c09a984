"""Management views: users, regions, stations, service points, beneficiaries, audit log (admin only)."""

from flask_admin import Admin


def add_management_views(admin: Admin) -> None:
    """Register the management views on this app's Admin."""
