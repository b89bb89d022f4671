"""Fixtures of the HTTP contract suite.

`framework`, `live`, `live_servers`, `client`, `db`, `carrier` and `start_app` come from tests/conftest.py.
Everything in this suite talks real HTTP to the running servers and checks the database through `db`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .helpers import Account, new_account, seed_account


# --- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def seed_user(live: Any) -> Account:
    """Seed user 0 of the current framework's server, logged in once per session (read-only checks)."""
    return seed_account(live.url, 0)


@pytest.fixture(scope="session")
def writer(live: Any) -> Account:
    """A fresh account per framework for creating items (items have no owner)."""
    with httpx.Client(base_url=live.url, timeout=10) as c:
        return new_account(c, "writer")


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
