"""Helpers of the reliability suite: accounts, tokens, database access and polling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from bench.drive.servers import DEFAULT_SETUP, SETUPS, Framework, ServerConfig
from shared_models.migrate import sync_url

INT32_MAX = 2_147_483_647
INT64_MAX = 9_223_372_036_854_775_807
MIB = 1_048_576
# --- servers -------------------------------------------------------------------------------------------
# The settings tests/conftest.py gives every server it starts (LIVE_ENV there), for servers built here.
SERVER_ENV = {"CARRIER_TIMEOUT_S": "1.0", "CORS_ORIGINS": "https://allowed.example", "APP_ENV": "development"}


def server_config(
    framework: Framework,
    *,
    database_url: str,
    carrier_url: str,
    env: Mapping[str, str] | None = None,
    setup: str | None = None,
    workers: int = 2,
    threads: int = 8,
) -> ServerConfig:
    """The same config `start_app` builds (workers=2, pool budget 8), optionally with another setup."""
    return ServerConfig(
        setup=SETUPS[setup or DEFAULT_SETUP[framework]],
        database_url=database_url,
        carrier_url=carrier_url,
        workers=workers,
        threads=threads,
        pool_budget=8,
        app_env={**SERVER_ENV, **(env or {})},
    )


def make_engine(url: str) -> Engine:
    return create_engine(sync_url(url), pool_size=2, pool_pre_ping=True)


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def describe(response: httpx.Response) -> str:
    """One line naming the request and its answer, for assertion messages."""
    request = response.request
    url = str(request.url)
    url = url if len(url) <= 200 else f"{url[:200]}...({len(url)} chars)"
    return f"{request.method} {url} -> {response.status_code} {response.text[:300]!r}"


# --- numbers the lead quotes -----------------------------------------------------------------------------
REPORT: list[str] = []


def report(line: str) -> None:
    """Record a measured figure; printed in the terminal summary and right away (visible with -s)."""
    REPORT.append(line)
    print(line)
