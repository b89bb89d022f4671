"""Checks that run before anything is created: is the database reachable, is the run directory a run."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from bench.drive.postgres import PostgresSettings, PostgresUnavailableError, find_pg_bin

CONNECT_TIMEOUT_S = 5


def check_database(settings: PostgresSettings) -> None:
    """Fail with one sentence naming DATABASE_URL (or the binaries) unless a database can be had."""
    if settings.database_url is None:
        find_pg_bin(settings)  # no binaries and no DATABASE_URL: say so before creating anything
        return
    try:
        url = make_url(str(settings.database_url)).set(drivername="postgresql+psycopg2")
    except ArgumentError as exc:
        raise PostgresUnavailableError(f"DATABASE_URL is not a database URL: {exc}") from exc
    shown = url.render_as_string(hide_password=True)
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise PostgresUnavailableError(f"DATABASE_URL={shown}: cannot connect ({reason})") from None
    finally:
        engine.dispose()
