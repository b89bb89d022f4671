"""Bearer-token authentication: `login_required` loads the user onto `g`, as in the Flask tutorial."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar, cast

from flask import g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from flask_app.config import get_settings
from flask_app.db import get_session
from shared_models import crud
from shared_models.models import User
from shared_models.security import InvalidTokenError, decode_access_token

P = ParamSpec("P")
R = TypeVar("R")

NOT_AUTHENTICATED = "Not authenticated"
BAD_CREDENTIALS = "Could not validate credentials"


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Answer 401 unless the request carries a valid bearer token of an existing user."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.user = _authenticate()
        return view(*args, **kwargs)

    return wrapper


def current_user() -> User:
    """The user that `login_required` authenticated for this request."""
    return cast(User, g.user)


def unauthorized(detail: str) -> NoReturn:
    """Abort with 401, `detail` and the `WWW-Authenticate: Bearer` challenge."""
    raise Unauthorized(description=detail, www_authenticate=WWWAuthenticate("bearer"))


def _authenticate() -> User:
    # Parsed like FastAPI's OAuth2PasswordBearer: scheme case-insensitive, token after the first space.
    header = request.headers.get("Authorization")
    scheme, _, token = (header or "").partition(" ")
    if not header or scheme.lower() != "bearer":
        unauthorized(NOT_AUTHENTICATED)
    settings = get_settings()
    try:
        user_id = decode_access_token(token.strip(), secret=settings.jwt_secret, algorithm=settings.jwt_algorithm)
    except InvalidTokenError:
        unauthorized(BAD_CREDENTIALS)
    user = crud.get_user(session=get_session(), user_id=user_id)
    if user is None:
        unauthorized(BAD_CREDENTIALS)
    return user
