"""Error handlers: domain errors and HTTP errors as {"detail": ...}, like FastAPI's default handlers."""

from __future__ import annotations

from flask import Flask, Response, current_app
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from flask_app.fastapi_compat import starlette_error_detail, starlette_server_error
from flask_app.responses import detail_response
from shared_models.exceptions import DATABASE_UNAVAILABLE, DomainError, database_unavailable

_BODY_TOO_LARGE = "Request body too large"


def init_app(app: Flask) -> None:
    """Register the handlers on `app`."""
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(ConnectionError, _database_error)


def _database_error(exc: Exception) -> Response:
    # An unreachable database is an outage (503), not a bug; anything else stays a logged 500.
    if database_unavailable(exc):
        return detail_response(DATABASE_UNAVAILABLE, 503)
    current_app.logger.error("unhandled database error", exc_info=exc)
    return _server_error(InternalServerError())


def _domain_error(exc: DomainError) -> Response:
    return detail_response(exc.detail, exc.status_code)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = _BODY_TOO_LARGE if status == 413 else starlette_error_detail(exc)
    # Keep headers such as Allow (405) and WWW-Authenticate (401), not Werkzeug's text/html type.
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return detail_response(detail, status, headers)


def _server_error(_exc: InternalServerError) -> Response:
    # Flask has already logged the exception.
    return starlette_server_error()
