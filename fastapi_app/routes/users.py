"""The authenticated user's own account."""

from typing import Any

from fastapi import APIRouter

from fastapi_app.deps import CurrentUser
from fastapi_app.docs import UNAUTHORIZED
from shared_models.schemas import UserPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    response_model=UserPublic,
    summary="Current user",
    responses=UNAUTHORIZED,
)
async def read_user_me(current_user: CurrentUser) -> Any:
    """Return the user the bearer token belongs to."""
    return current_user
