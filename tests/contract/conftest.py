"""Fixtures of the HTTP contract suite.

`framework`, `live`, `live_servers`, `client`, `db`, `carrier` and `start_app` come from tests/conftest.py.
Everything in this suite talks real HTTP to the running servers and checks the database through `db`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

# Plain asserts in the helpers module get pytest's detailed failure messages too.
pytest.register_assert_rewrite(f"{__name__.rpartition('.')[0]}.helpers")

from tests.support.api import Account, new_account, seed_account  # noqa: E402

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
