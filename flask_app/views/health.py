"""GET /health and GET /health/live."""

from __future__ import annotations

from flask import Blueprint, Response

from flask_app.db import get_session
from flask_app.responses import model_response
from shared_models import __version__, crud
from shared_models.schemas import HealthPublic, LivenessPublic

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def liveness() -> Response:
    """Answer without touching the database: routing, hooks and serialisation only."""
    return model_response(LivenessPublic, {"status": "alive", "version": __version__})


@bp.get("/health")
def health() -> Response:
    """Report whether the app and its database are up."""
    if crud.database_ok(session=get_session()):
        return model_response(HealthPublic, {"status": "healthy", "version": __version__, "database": "ok"})
    unhealthy = {"status": "unhealthy", "version": __version__, "database": "unreachable"}
    return model_response(HealthPublic, unhealthy, status=503)
