"""Databases for the shared_models tests, on the session's PostgreSQL (`pg_server` from tests/conftest.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from bench.drive.postgres import Server
from shared_models.migrate import sync_url, upgrade

_names = itertools.count()


@pytest.fixture(scope="session")
def migrated_template(pg_server: Server) -> Iterator[str]:
    """Name of an empty database migrated to head; cloning it is much faster than migrating again."""
    name = f"sm_tmpl_{os.getpid()}"
    pg_server.create_database(name)
    upgrade(pg_server.url_for(name))
    yield name
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def new_db(pg_server: Server, migrated_template: str) -> Iterator[Callable[..., str]]:
    """Factory: new_db() -> URL of a fresh empty database; new_db(migrated=True) -> a migrated one."""
    created: list[str] = []

    def make(*, migrated: bool = False) -> str:
        name = f"sm_{os.getpid()}_{next(_names)}"
        pg_server.create_database(name, template=migrated_template if migrated else None)
        created.append(name)
        return pg_server.url_for(name)

    yield make
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture
def migrated_engine(new_db: Callable[..., str]) -> Iterator[Engine]:
    """A psycopg2 engine on a fresh migrated database."""
    engine = create_engine(sync_url(new_db(migrated=True)), poolclass=NullPool)
    yield engine
    engine.dispose()
