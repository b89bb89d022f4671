"""Run the shared Alembic migrations from code or the command line, without an alembic.ini."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def sync_url(url: str) -> str:
    """Any PostgreSQL URL as a psycopg2 URL, the driver migrations and seeding use."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    """An Alembic config for the packaged migrations against one database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which percent-encoded passwords contain.
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database up to a revision (default: the latest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database down to a revision (default: empty)."""
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m shared_models.migrate upgrade|downgrade [--revision R] [--database-url URL]."""
    parser = argparse.ArgumentParser(prog="python -m shared_models.migrate", description=__doc__)
    parser.add_argument("action", choices=["upgrade", "downgrade"])
    parser.add_argument("--revision", help="target revision (default: head for upgrade, base for downgrade)")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: DATABASE_URL via AppSettings)")
    args = parser.parse_args(argv)
    if args.database_url is None:
        from shared_models.settings import AppSettings  # only when needed: a bad env must not block --help

        args.database_url = str(AppSettings().database_url)
    try:
        if args.action == "upgrade":
            upgrade(args.database_url, args.revision or "head")
        else:
            downgrade(args.database_url, args.revision or "base")
    except SQLAlchemyError as exc:
        print(f"migration failed (is the database up?): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
