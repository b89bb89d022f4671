"""Liveness and database reachability."""

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response

import shared_models
from fastapi_app import crud
from fastapi_app.deps import SessionDep
from shared_models.errors import JSON_MEDIA_TYPE
from shared_models.schemas import HealthPublic, LivenessPublic

router = APIRouter(tags=["health"])
# The liveness answer never changes: serialised once, at import (response_model still documents it).
LIVENESS_BODY = LivenessPublic(status="alive", version=shared_models.__version__).model_dump_json()


@router.get("/health/live", response_model=LivenessPublic, summary="Liveness check")
async def liveness() -> Any:
    """Answer without touching the database: routing and middleware (the body is serialised once)."""
    return Response(LIVENESS_BODY, media_type=JSON_MEDIA_TYPE)


@router.get(
    "/health",
    response_model=HealthPublic,
    summary="Health check",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": HealthPublic, "description": "Database unreachable"}},
)
async def health(session: SessionDep) -> Any:
    """Report the service version and whether the database answers."""
    if await crud.database_ok(session=session):
        return HealthPublic(status="healthy", version=shared_models.__version__, database="ok")
    unhealthy = HealthPublic(status="unhealthy", version=shared_models.__version__, database="unreachable")
    return JSONResponse(unhealthy.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
