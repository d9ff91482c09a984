"""GET /me."""

from flask import Blueprint, jsonify

from api.v1.schemas import dump_user
from api.v1.security import current_user, token_required


@token_required
def me():
    """The logged-in user."""
    return jsonify(dump_user(current_user()))


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/me", view_func=me, methods=["GET"])
