"""Application factory: `uvicorn --factory fastapi_app.main:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker
from starlette.types import Lifespan

import shared_models
from fastapi_app.admission import AdmittedAsyncSession, AdmittedSession, db_admission
from fastapi_app.middleware import BodySizeLimitMiddleware, CrossOriginMiddleware, ProcessTimeMiddleware
from fastapi_app.routes import routers
from fastapi_app.session_scope import CloseSessions, SessionScopeMiddleware, close_async_sessions
from fastapi_app.sync.closer import SessionCloser, close_sessions
from fastapi_app.sync.routes import routers as sync_routers
from shared_models.carrier import carrier_pool
from shared_models.errors import JSON_MEDIA_TYPE, validation_error_json
from shared_models.exceptions import DATABASE_UNAVAILABLE, DomainError, database_unavailable
from shared_models.logging import configure_logging
from shared_models.settings import AppSettings, engine_options


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One engine and one carrier client per worker process, shared by all requests it serves.
    settings: AppSettings = app.state.settings
    engine = create_async_engine(settings.async_database_url, **engine_options(settings))
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, class_=AdmittedAsyncSession)
    app.state.db_admission = db_admission(settings)
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.carrier_timeout_s),
        connector=aiohttp.TCPConnector(limit=settings.carrier_max_connections),
    ) as carrier_client:
        app.state.carrier_client = carrier_client
        try:
            yield
        finally:
            await engine.dispose()


@asynccontextmanager
async def _sync_lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The sync variant: psycopg2 engine and a urllib3 pool, used from the threadpool.
    settings: AppSettings = app.state.settings
    engine = create_engine(settings.sync_database_url, **engine_options(settings))
    app.state.sessionmaker = sessionmaker(engine, expire_on_commit=False, class_=AdmittedSession)
    app.state.db_admission = db_admission(settings)
    app.state.session_closer = closer = SessionCloser(threads=settings.db_pool_size + settings.db_max_overflow)
    pool = carrier_pool(timeout_s=settings.carrier_timeout_s, max_connections=settings.carrier_max_connections)
    with pool as carrier_client:
        app.state.carrier_client = carrier_client
        try:
            yield
        finally:
            closer.shutdown()
            engine.dispose()


async def _validation_exception_handler(request: Request, exc: RequestValidationError) -> Response:
    # FastAPI's default handler re-encodes inputs with jsonable_encoder and answers 500 to an infinite
    # number or undecodable bytes; the shared encoder also keeps the body identical to Flask's.
    return Response(
        content=validation_error_json(exc.errors()),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        media_type=JSON_MEDIA_TYPE,
    )


async def _domain_error_handler(request: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # An unreachable database is an outage (503), not a bug; anything else stays a 500 with a traceback.
    if not database_unavailable(exc):
        raise exc
    return JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """Build the FastAPI application from settings (read from the environment by default)."""
    return _build(settings or AppSettings.load_or_exit(), _lifespan, routers, close_async_sessions)


def create_sync_app(settings: AppSettings | None = None) -> FastAPI:
    """The same contract with plain `def` routes, sync SQLAlchemy + psycopg2 (fastapi_app/sync)."""
    return _build(settings or AppSettings.load_or_exit(), _sync_lifespan, sync_routers, close_sessions)


def _build(
    settings: AppSettings, lifespan: Lifespan[FastAPI], routers: tuple[APIRouter, ...], close_sessions: CloseSessions
) -> FastAPI:
    configure_logging(settings.log_level)

    docs_enabled = not settings.is_production
    app = FastAPI(
        title="FastAPI vs Flask benchmark: FastAPI",
        version=shared_models.__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json" if docs_enabled else None,
        docs_url="/docs" if docs_enabled else None,
        redoc_url="/redoc" if docs_enabled else None,
        # The contract has one spelling per path: "/items/" is an unknown route (404), not a redirect.
        redirect_slashes=False,
        exception_handlers={
            RequestValidationError: _validation_exception_handler,
            DomainError: _domain_error_handler,
            SQLAlchemyError: _database_error_handler,
            ConnectionError: _database_error_handler,
        },
    )
    app.state.settings = settings

    # add_middleware wraps the app, so the last one added runs first: the timer sees the whole request (the
    # session's close included, as Flask's teardown), and CORS headers reach the 413 answers too.
    app.add_middleware(SessionScopeMiddleware, close=close_sessions)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        CrossOriginMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(ProcessTimeMiddleware)

    for router in routers:
        app.include_router(router)
    return app
