"""The authenticated user's own account."""

from typing import Any

from fastapi import APIRouter, status

from fastapi_app.deps import CurrentUser
from shared_models.schemas import Message, UserPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    response_model=UserPublic,
    summary="Current user",
    responses={status.HTTP_401_UNAUTHORIZED: {"model": Message, "description": "Not authenticated"}},
)
async def read_user_me(current_user: CurrentUser) -> Any:
    """Return the user the bearer token belongs to."""
    return current_user
