"""Fixtures of the reliability suite.

`framework`, `live`, `live_servers`, `client`, `db`, `carrier`, `start_app`, `fresh_db` and `pg_server` come from
tests/conftest.py. Tests that write a lot (fuzzing, concurrency, faults) use servers of their own on fresh
databases, so the shared live servers' data stays what the other suites expect.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bench.drive.carrier_stub import CarrierStub
from bench.drive.servers import RunningServer

pytest.register_assert_rewrite(f"{__name__.rpartition('.')[0]}.helpers")

from tests.support.api import Account, http_client, seed_account  # noqa: E402

from .helpers import REPORT, make_engine  # noqa: E402

_seed_accounts: dict[str, Account] = {}
_HERE = Path(__file__).resolve().parent
_FIGURES = "reliability-figure"


def _ours(item: pytest.Item) -> bool:
    return _HERE in Path(str(item.path)).resolve().parents


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the figures a test recorded to its report (they travel from xdist workers to the controller)."""
    report = yield
    if _ours(item) and REPORT:
        report.user_properties.extend((_FIGURES, line) for line in REPORT)
        REPORT.clear()
    return report


@pytest.fixture
def client(live: RunningServer) -> Iterator[httpx.Client]:
    """tests/conftest.py's `client`, with the suite's shared SSL context (a new one costs ~35 ms per test)."""
    with http_client(live.url) as http:
        yield http


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
def own_servers() -> Iterator[list[RunningServer]]:
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
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        for name, value in getattr(report, "user_properties", ())
        if name == _FIGURES
    ]
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(str(line))
