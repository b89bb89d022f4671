"""GET /health and GET /health/live."""

from __future__ import annotations

from flask import Blueprint, Response

from flask_app.db import get_session
from flask_app.responses import model_response
from shared_models import __version__, crud
from shared_models.errors import JSON_MEDIA_TYPE
from shared_models.schemas import HealthPublic, LivenessPublic

bp = Blueprint("health", __name__)
# The liveness answer never changes: serialised once, at import.
_LIVENESS_BODY = LivenessPublic(status="alive", version=__version__).model_dump_json()


@bp.get("/health/live")
def liveness() -> Response:
    """Answer without touching the database: routing and hooks (the body is serialised once)."""
    return Response(_LIVENESS_BODY, mimetype=JSON_MEDIA_TYPE)


@bp.get("/health")
def health() -> Response:
    """Report whether the app and its database are up."""
    if crud.database_ok(session=get_session()):
        return model_response(HealthPublic, {"status": "healthy", "version": __version__, "database": "ok"})
    unhealthy = {"status": "unhealthy", "version": __version__, "database": "unreachable"}
    return model_response(HealthPublic, unhealthy, status=503)
