"""The current user. Plain `def` views (fastapi_app/routes/users.py is the async twin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fastapi_app.docs import UNAUTHORIZED
from fastapi_app.sync.deps import CurrentUser
from shared_models.schemas import (
    UserPublic,
)

router = APIRouter()


@router.get("/users/me", response_model=UserPublic, summary="Current user", tags=["users"], responses=UNAUTHORIZED)
def read_user_me(current_user: CurrentUser) -> Any:
    """Return the user the bearer token belongs to."""
    return current_user
