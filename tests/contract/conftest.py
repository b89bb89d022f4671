"""Fixtures of the HTTP contract suite.

`live_servers`, `client`, `db`, `carrier` and `start_app` come from tests/conftest.py. Here every test runs once
per target: both apps and their variants (tests/conftest.py VARIANTS); `framework` is the target's framework.
Everything in this suite talks real HTTP to the running servers and checks the database through `db`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

# Plain asserts in the helpers module get pytest's detailed failure messages too.
pytest.register_assert_rewrite(f"{__name__.rpartition('.')[0]}.helpers")

from bench.drive.servers import Framework, RunningServer, ServerSetup  # noqa: E402
from tests.support.api import Account, new_account, seed_account  # noqa: E402

# --- targets ---------------------------------------------------------------------------------------------
# The same contract on FastAPI's sync `def` routes (psycopg2, threadpool) and on gunicorn's gevent workers with a
# cooperative psycopg2: name -> (framework, app, gunicorn worker class). bench/ has their benchmark setups.
VARIANTS: dict[str, tuple[Framework, str, str]] = {
    "fastapi-sync": ("fastapi", "fastapi_app.main:create_sync_app", ""),
    "flask-gevent": ("flask", "flask_app.gevent:create_app()", "gevent"),
}
TARGETS = ("fastapi", "flask", *VARIANTS)


@pytest.fixture(scope="session")
def contract_servers(
    live_servers: dict[str, RunningServer],
    launch_app: Callable[..., RunningServer],
    factory_setup: Callable[..., ServerSetup],
) -> dict[str, RunningServer]:
    """The default servers of both apps plus one server per variant, each on its own copy of the seed data."""
    variants = {
        name: launch_app(framework, setup=factory_setup(name, framework, app, gunicorn_worker=worker))
        for name, (framework, app, worker) in VARIANTS.items()
    }
    return {**live_servers, **variants}


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    """Each test runs once per target."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def framework(target: str) -> str:
    """The framework of the current target (what framework-specific expectations depend on)."""
    return VARIANTS[target][0] if target in VARIANTS else target


@pytest.fixture
def live(contract_servers: dict[str, RunningServer], target: str) -> RunningServer:
    """The running server of the current target."""
    return contract_servers[target]


# --- fixtures --------------------------------------------------------------------------------------------
# Logins are Argon2-bound (~0.15 s): accounts reused across tests are made once per server and cached here.
_cached_accounts: dict[tuple[str, str], Account] = {}


def _cached(live: Any, role: str, make: Callable[[], Account]) -> Account:
    key = (live.url, role)
    if key not in _cached_accounts:
        _cached_accounts[key] = make()
    return _cached_accounts[key]


@pytest.fixture
def seed_user(live: Any) -> Account:
    """Seed user 0 of the current framework's server, logged in once per server (read-only checks)."""
    return _cached(live, "seed", lambda: seed_account(live.url, 0))


@pytest.fixture
def writer(live: Any) -> Account:
    """An account per server for creating items (items have no owner; its orders are never listed)."""

    def make() -> Account:
        with httpx.Client(base_url=live.url, timeout=10) as c:
            return new_account(c, "writer")

    return _cached(live, "writer", make)


@pytest.fixture
def buyer(live: Any) -> Account:
    """An account per server for placing orders; tests compare its order count before and after."""

    def make() -> Account:
        with httpx.Client(base_url=live.url, timeout=10) as c:
            return new_account(c, "buyer")

    return _cached(live, "buyer", make)


@pytest.fixture
def account(client: httpx.Client) -> Account:
    """A fresh account for tests that look at per-user state (orders)."""
    return new_account(client)


@pytest.fixture
def carrier_reset(carrier: Any) -> Iterator[Any]:
    """The carrier stub, put back to its defaults whatever the test did to it."""
    carrier.reset()
    try:
        yield carrier
    finally:
        carrier.reset()
