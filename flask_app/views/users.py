"""GET /users/me."""

from __future__ import annotations

from flask import Blueprint, Response

from flask_app.auth import current_user, login_required
from flask_app.responses import model_response
from shared_models.schemas import UserPublic

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/me")
@login_required
def me() -> Response:
    """Return the authenticated user."""
    return model_response(UserPublic, current_user())
