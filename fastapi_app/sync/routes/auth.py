"""Registration and the OAuth2 password flow. Plain `def` views (fastapi_app/routes/auth.py is the async twin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from fastapi_app.deps import SettingsDep
from fastapi_app.docs import UNPARSABLE_BODY
from fastapi_app.sync.deps import SessionDep
from shared_models import crud
from shared_models.schemas import (
    Message,
    Token,
    UserCreate,
    UserPublic,
)
from shared_models.security import create_access_token

router = APIRouter()


@router.post(
    "/auth/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a user",
    tags=["auth"],
    responses={
        status.HTTP_409_CONFLICT: {"model": Message, "description": "Email already registered"},
        **UNPARSABLE_BODY,
    },
)
def register(session: SessionDep, user_in: UserCreate) -> Any:
    """Create an account."""
    return crud.create_user(session=session, user_in=user_in)


@router.post(
    "/auth/token",
    summary="Log in",
    tags=["auth"],
    responses={
        status.HTTP_401_UNAUTHORIZED: {"model": Message, "description": "Incorrect email or password"},
        **UNPARSABLE_BODY,
    },
)
def login_access_token(
    session: SessionDep, settings: SettingsDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: exchange an email and password for a bearer token."""
    user = crud.authenticate(session=session, email=form_data.username, password=form_data.password)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = create_access_token(
        user_id=user.id,
        secret=settings.jwt_secret,
        algorithm=settings.jwt_algorithm,
        expires_minutes=settings.access_token_expire_minutes,
    )
    return Token(access_token=token)
