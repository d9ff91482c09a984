"""Supervisor review: the queue, the record page and the review actions."""

from flask_admin import Admin


def add_review_views(admin: Admin) -> None:
    """Register the review views on this app's Admin."""
