"""Fixtures of the reliability suite.

`framework`, `live`, `live_servers`, `client`, `db`, `carrier`, `start_app`, `fresh_db` and `pg_server` come from
tests/conftest.py. Tests that write a lot (fuzzing, concurrency, faults) use servers of their own on fresh
databases, so the shared live servers' data stays what the other suites expect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bench.carrier_stub import CarrierStub
from bench.servers import RunningServer

pytest.register_assert_rewrite(f"{__name__.rpartition('.')[0]}.helpers")

from .helpers import REPORT, Account, make_engine, seed_account  # noqa: E402

_seed_accounts: dict[str, Account] = {}


@pytest.fixture
def engine_for() -> Iterator[Callable[[str], Engine]]:
    """Factory: a sync engine on a database URL, disposed after the test."""
    engines: list[Engine] = []

    def _make(url: str) -> Engine:
        engine = make_engine(url)
        engines.append(engine)
        return engine

    yield _make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def own_servers(tmp_path: Path) -> Iterator[list[RunningServer]]:
    """Servers a test builds itself (other setups, shorter start timeouts): every one is stopped afterwards."""
    servers: list[RunningServer] = []
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def seed_user(live: RunningServer) -> Account:
    """Seed user 0 of the current framework's live server, logged in once per server."""
    if live.url not in _seed_accounts:
        _seed_accounts[live.url] = seed_account(live.url, 0)
    return _seed_accounts[live.url]


@pytest.fixture
def carrier_reset(carrier: CarrierStub) -> Iterator[CarrierStub]:
    """The carrier stub, put back to its defaults whatever the test did to it."""
    carrier.reset()
    try:
        yield carrier
    finally:
        carrier.reset()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the reliability tests measured (fuzz case counts, scale, recovery times)."""
    if REPORT:
        terminalreporter.section("reliability figures")
        for line in REPORT:
            terminalreporter.write_line(line)
