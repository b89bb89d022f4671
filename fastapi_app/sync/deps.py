"""Dependencies of the sync variant: a Session per request, the carrier client and the authenticated user."""

from __future__ import annotations

from typing import Annotated

import urllib3
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from fastapi_app.admission import ADMISSION_KEY, DbAdmission
from fastapi_app.deps import SettingsDep, TokenDep, credentials_error
from fastapi_app.session_scope import register
from shared_models import crud
from shared_models.models import User
from shared_models.security import InvalidTokenError, decode_access_token


async def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    """The process-wide session factory opened by the lifespan."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


SessionMakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]


async def get_db(request: Request) -> Session:
    """This request's session: opened here, handed to the closer by SessionScopeMiddleware when the response starts."""
    # Why async: FastAPI runs a plain `def` dependency in the threadpool, a thread hop per request. Creating a
    # Session does no I/O (it connects at its first query, in the view's thread); closing it returns the
    # connection with a ROLLBACK, which is I/O, so a closer thread does it (fastapi_app/sync/closer.py), not the
    # threadpool: with every token held by views, a close waiting for a token would never return its connection.
    # Not a `yield` dependency, as in the async app (fastapi_app/session_scope.py says what that saves).
    # Admission first (FIFO, pool-sized: fastapi_app/admission.py), so a view never waits for a connection; the
    # session gives the place back once closed (in the view's thread when the view closes it early).
    admission: DbAdmission | None = request.app.state.db_admission
    admitted = await admission.admit() if admission else None
    session: Session = request.app.state.sessionmaker(info={ADMISSION_KEY: admitted})
    return register(request.scope, session)


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
