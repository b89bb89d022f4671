"""Liveness and health: the framework floor and a database round trip. Plain `def` views (fastapi_app/routes/health.py is the async twin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response

import shared_models
from fastapi_app.routes.health import LIVENESS_BODY
from fastapi_app.sync.deps import SessionDep
from shared_models import crud
from shared_models.errors import JSON_MEDIA_TYPE
from shared_models.schemas import (
    HealthPublic,
    LivenessPublic,
)

router = APIRouter()


@router.get("/health/live", response_model=LivenessPublic, summary="Liveness check", tags=["health"])
async def liveness() -> Any:
    """Answer without touching the database: routing and middleware (the body is serialised once)."""
    # async def: nothing here blocks, and a plain def would cost a threadpool hop.
    return Response(LIVENESS_BODY, media_type=JSON_MEDIA_TYPE)


@router.get(
    "/health",
    response_model=HealthPublic,
    summary="Health check",
    tags=["health"],
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": HealthPublic, "description": "Database unreachable"}},
)
def health(session: SessionDep) -> Any:
    """Report the service version and whether the database answers."""
    if crud.database_ok(session=session):
        return HealthPublic(status="healthy", version=shared_models.__version__, database="ok")
    unhealthy = HealthPublic(status="unhealthy", version=shared_models.__version__, database="unreachable")
    return JSONResponse(unhealthy.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
