"""The API v1 blueprint, at module level like flaskr's and microblog's.

Its own module so that the resource modules can import it without a cycle through api.v1. A blueprint is only a
record of routes: registering this one object on every app that create_app() builds (the tests build many) is
what Flask intends, as long as every route is added at import time, before the first registration.
"""

from flask import Blueprint

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
