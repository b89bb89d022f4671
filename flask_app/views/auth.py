"""POST /auth/register and POST /auth/token."""

from __future__ import annotations

from flask import Blueprint, Response

from flask_app.auth import unauthorized
from flask_app.config import get_settings
from flask_app.db import get_session
from flask_app.responses import model_response
from flask_app.validation import validate
from shared_models import crud
from shared_models.schemas import Token, TokenForm, UserCreate, UserPublic
from shared_models.security import create_access_token

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.post("/register")
@validate(body=UserCreate)
def register(body: UserCreate) -> Response:
    """Create an account."""
    user = crud.create_user(session=get_session(), user_in=body)
    return model_response(UserPublic, user, status=201)


@bp.post("/token")
@validate(form=TokenForm)
def login(form: TokenForm) -> Response:
    """Exchange email and password (OAuth2 password form) for a bearer token."""
    user = crud.authenticate(session=get_session(), email=form.username, password=form.password)
    if user is None:
        unauthorized("Incorrect email or password")
    settings = get_settings()
    token = create_access_token(
        user_id=user.id,
        secret=settings.jwt_secret,
        algorithm=settings.jwt_algorithm,
        expires_minutes=settings.access_token_expire_minutes,
    )
    return model_response(Token, {"access_token": token, "token_type": "bearer"})
