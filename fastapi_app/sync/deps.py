"""Dependencies of the sync variant: a Session per request, the carrier client and the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import urllib3
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from fastapi_app.deps import SettingsDep, TokenDep, credentials_error
from shared_models import crud
from shared_models.models import User
from shared_models.security import InvalidTokenError, decode_access_token


async def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    """The process-wide session factory opened by the lifespan."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


SessionMakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]


def get_db(request: Request) -> Iterator[Session]:
    """One session per request, closed (and rolled back if still open) when the request ends."""
    with request.app.state.sessionmaker() as session:
        yield session


async def get_carrier_client(request: Request) -> urllib3.PoolManager:
    """The shared HTTP client for the carrier upstream (async: an attribute read needs no thread hop)."""
    client: urllib3.PoolManager = request.app.state.carrier_client
    return client


SessionDep = Annotated[Session, Depends(get_db)]
CarrierClientDep = Annotated[urllib3.PoolManager, Depends(get_carrier_client)]


def get_current_user(session: SessionDep, token: TokenDep, settings: SettingsDep) -> User:
    """The user named by a valid bearer token; 401 for any bad token or a deleted user."""
    try:
        user_id = decode_access_token(token, secret=settings.jwt_secret, algorithm=settings.jwt_algorithm)
    except InvalidTokenError:
        raise credentials_error() from None
    user = crud.get_user(session=session, user_id=user_id)
    if user is None:
        raise credentials_error()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
