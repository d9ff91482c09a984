"""GET /me."""

from flask import jsonify

from api.v1.blueprint import bp
from api.v1.schemas import dump_user
from api.v1.security import current_user, token_required


@bp.get("/me")
@token_required
def me():
    """The logged-in user.
    ---
    get:
      tags: [auth]
      summary: The user the token belongs to
      security: [{bearerAuth: []}]
      responses:
        200:
          description: The user
          content:
            application/json:
              schema: UserSchema
        401: {$ref: '#/components/responses/Unauthorized'}
    """
    return jsonify(dump_user(current_user()))
