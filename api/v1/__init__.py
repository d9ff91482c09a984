"""API v1: one module per resource, each adding its views to the blueprint of api.v1.blueprint at /api/v1.

Importing the resource modules here is what attaches their routes, so `from api.v1 import bp` is a complete API.
"""

from api.v1 import auth, beneficiaries, me, meta, openapi, photos, visits, wechat  # noqa: F401  (routes on bp)
from api.v1.blueprint import bp

__all__ = ["bp"]
