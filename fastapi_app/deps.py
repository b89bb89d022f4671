"""FastAPI dependencies: settings, database session, carrier client and the authenticated user."""

from __future__ import annotations

from typing import Annotated

import aiohttp
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fastapi_app import crud
from fastapi_app.admission import ADMISSION_KEY, DbAdmission
from fastapi_app.session_scope import register
from shared_models.models import User
from shared_models.security import InvalidTokenError, decode_access_token
from shared_models.settings import AppSettings

reusable_oauth2 = OAuth2PasswordBearer(tokenUrl="auth/token")


# The dependencies below are `async def` although they do not await: FastAPI runs plain `def`
# dependencies in the threadpool, which would cost a thread hop per request for an attribute lookup.
async def get_settings(request: Request) -> AppSettings:
    """The settings the app was created with."""
    settings: AppSettings = request.app.state.settings
    return settings


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The process-wide session factory opened by the lifespan."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SessionMakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_db(request: Request) -> AsyncSession:
    """This request's session: opened here, closed by SessionScopeMiddleware once the response is built."""
    # A plain dependency, not a `yield` one: the middleware owns the close (fastapi_app/session_scope.py says
    # why). FastAPI caches it per request, so the view and get_current_user share one session.
    # The factory straight from app.state rather than through SessionMakerDep: one dependency less to solve.
    # Admission first (FIFO, fastapi_app/admission.py), so the session's connection is free when it is admitted;
    # the session gives the place back when it closes (early, in a view that closes it before an upstream call).
    admission: DbAdmission | None = request.app.state.db_admission
    admitted = await admission.admit() if admission else None
    session: AsyncSession = request.app.state.sessionmaker(info={ADMISSION_KEY: admitted})
    return register(request.scope, session)


async def get_carrier_client(request: Request) -> aiohttp.ClientSession:
    """The shared HTTP client for the carrier upstream."""
    client: aiohttp.ClientSession = request.app.state.carrier_client
    return client


SettingsDep = Annotated[AppSettings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]
CarrierClientDep = Annotated[aiohttp.ClientSession, Depends(get_carrier_client)]
TokenDep = Annotated[str, Depends(reusable_oauth2)]


def credentials_error() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def get_current_user(session: SessionDep, token: TokenDep, settings: SettingsDep) -> User:
    """The user named by a valid bearer token; 401 for any bad token or a deleted user."""
    try:
        user_id = decode_access_token(token, secret=settings.jwt_secret, algorithm=settings.jwt_algorithm)
    except InvalidTokenError:
        raise credentials_error() from None
    user = await crud.get_user(session=session, user_id=user_id)
    if user is None:
        raise credentials_error()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
