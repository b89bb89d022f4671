"""Alembic environment: the shared models' metadata over a synchronous psycopg2 connection."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from shared_models.models import Base
from shared_models.settings import AppSettings

config = context.config
# Only the human entry point (`alembic` with alembic.ini) configures logging; library calls leave it alone.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> URL:
    # shared_models.migrate sets sqlalchemy.url; the alembic CLI leaves it to DATABASE_URL via AppSettings.
    configured = config.get_main_option("sqlalchemy.url")
    url = make_url(configured) if configured else AppSettings().sync_database_url
    # Migrations are synchronous whatever driver the URL names (asyncpg URLs are common in the env).
    return url.set(drivername="postgresql+psycopg2")


def _configure(**kwargs: Any) -> None:
    # compare_type: autogenerate also reports changed column types, not only added/removed columns.
    context.configure(target_metadata=Base.metadata, compare_type=True, **kwargs)


if context.is_offline_mode():
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
