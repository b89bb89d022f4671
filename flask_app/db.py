"""SQLAlchemy wiring as a Flask extension: one engine per app, one Session per app context.

Plain SQLAlchemy 2 rather than Flask-SQLAlchemy, so both apps share the same models and query code.
"""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, g
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from flask_app.config import get_settings
from shared_models.settings import engine_options

_EXTENSION = "db"


def init_app(app: Flask) -> None:
    """Create the engine and session factory and close each context's session on teardown."""
    settings = get_settings(app)
    # No connection is opened here, so the engine is safe to create before gunicorn forks.
    engine = create_engine(settings.sync_database_url, **engine_options(settings))
    app.extensions[_EXTENSION] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """Return this app context's Session, opening it on first use."""
    if "db_session" not in g:
        factory = cast("sessionmaker[Session]", current_app.extensions[_EXTENSION])
        g.db_session = factory()
    return cast(Session, g.db_session)


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
