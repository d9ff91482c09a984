"""API v1: one module per resource, gathered on one blueprint at /api/v1."""

from flask import Blueprint

from api.v1 import auth, beneficiaries, me, meta, openapi, photos, visits, wechat


def create_blueprint() -> Blueprint:
    """Build the v1 blueprint; a fresh one per app so create_app() can run many times."""
    blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    for module in (auth, me, photos, visits, beneficiaries, meta, openapi, wechat):
        module.register(blueprint)
    return blueprint
