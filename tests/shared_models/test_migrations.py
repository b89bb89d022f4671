"""The packaged Alembic migrations: upgrade, downgrade, re-upgrade, and no drift from models.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from shared_models import migrate
from shared_models.models import Base

TABLES = {"users", "items", "orders", "order_items", "notifications"}


def _schema(url: str) -> tuple[set[str], bool, set[str]]:
    """(tables, whether the order_status type exists, index names)."""
    engine = create_engine(migrate.sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            tables = set(inspector.get_table_names()) - {"alembic_version"}
            enum = conn.execute(text("SELECT 1 FROM pg_type WHERE typname = 'order_status'")).first()
            indexes = {ix["name"] or "" for table in tables for ix in inspector.get_indexes(table)}
            return tables, enum is not None, indexes
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(new_db: Callable[..., str]) -> None:
    url = new_db()
    assert _schema(url) == (set(), False, set())

    migrate.upgrade(url)
    tables, enum, indexes = _schema(url)
    assert tables == TABLES
    assert enum
    assert {"ix_items_lower_name", "ix_orders_user_id_id", "ix_order_items_order_id"} <= indexes

    migrate.downgrade(url)
    assert _schema(url) == (set(), False, set())  # the enum type goes too

    migrate.upgrade(url)
    assert _schema(url)[0] == TABLES


def test_models_and_migrations_do_not_drift(new_db: Callable[..., str]) -> None:
    engine = create_engine(migrate.sync_url(new_db(migrated=True)), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_cli(new_db: Callable[..., str], capsys: pytest.CaptureFixture[str]) -> None:
    url = new_db()
    assert migrate.main(["upgrade", "--database-url", url]) == 0
    assert _schema(url)[0] == TABLES
    assert migrate.main(["downgrade", "--database-url", url]) == 0
    assert _schema(url)[0] == set()
    assert migrate.main(["upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]) == 1
    assert "migration failed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        migrate.main(["sideways"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p%40ss@h:5433/db", "postgresql+psycopg2://u:p%40ss@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
    ],
)
def test_sync_url(given: str, expected: str) -> None:
    assert migrate.sync_url(given) == expected


def test_config_points_at_packaged_migrations() -> None:
    config = migrate.alembic_config("postgresql://u:p%40ss@h/db")
    assert config.get_main_option("script_location") == str(migrate.MIGRATIONS_DIR)
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert config.get_main_option("sqlalchemy.url") == "postgresql+psycopg2://u:p%40ss@h/db"
