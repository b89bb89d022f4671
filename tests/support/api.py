"""HTTP, token and database helpers shared by the contract and reliability suites."""

from __future__ import annotations

import base64
import json
import ssl
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import Engine, text

from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email
from shared_models.settings import DEFAULT_JWT_SECRET

PASSWORD = "test-suite-password"
JWT_ALGORITHM = "HS256"
# httpx builds a new SSL context (~35 ms of CPU) for every client it creates, even for plain-http URLs; the suites
# make thousands of requests through short-lived clients, so they all share this one.
SSL_CONTEXT = ssl.create_default_context()


def http_client(base_url: str, timeout: float = 10) -> httpx.Client:
    """A client for one server, sharing the suites' SSL context."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=SSL_CONTEXT)


def get(url: str, timeout: float = 10, **kwargs: Any) -> httpx.Response:
    """httpx.get with the shared SSL context."""
    with httpx.Client(timeout=timeout, verify=SSL_CONTEXT) as client:
        return client.get(url, **kwargs)


# --- accounts --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    """A logged-in user that can call authenticated endpoints."""

    id: int
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_email(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}@example.com"


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def register(client: httpx.Client, email: str | None = None, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    response = client.post("/auth/register", json={"email": email or unique_email(), "password": password, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_account(client: httpx.Client, prefix: str = "test") -> Account:
    """Register a fresh user (unique email) and log it in: 2 Argon2 operations on the server."""
    email = unique_email(prefix)
    user = register(client, email)
    return Account(id=user["id"], email=email, password=PASSWORD, token=login(client, email, PASSWORD))


def seed_account(base_url: str, index: int = 0) -> Account:
    """Seed user `index` (every seeded database has it), logged in."""
    email = load_user_email(index)
    with http_client(base_url) as client:
        token = login(client, email, LOAD_USER_PASSWORD)
        me = client.get("/users/me", headers=bearer(token))
        assert me.status_code == 200, me.text
    return Account(id=me.json()["id"], email=email, password=LOAD_USER_PASSWORD, token=token)


# --- tokens ----------------------------------------------------------------------------------------------
def make_token(
    claims: dict[str, Any] | None = None,
    *,
    sub: Any = "1",
    secret: str = DEFAULT_JWT_SECRET,
    algorithm: str = JWT_ALGORITHM,
    expires_in: timedelta = timedelta(minutes=5),
) -> str:
    """A JWT signed like the live (development) servers sign them, with whatever claims a test needs."""
    if claims is None:
        now = datetime.now(UTC)
        claims = {"sub": str(sub), "iat": now, "exp": now + expires_in}
    with warnings.catch_warnings():
        # HS384/HS512 tokens signed with the 45-byte dev secret are made on purpose (algorithm confusion).
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """An `alg: none` token: header.payload. with an empty signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


# --- database and polling --------------------------------------------------------------------------------
def scalar(db: Engine, sql: str, **params: Any) -> Any:
    with db.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def wait_for(fetch: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.05) -> Any:
    """Poll until fetch() returns something truthy; return it (or the last falsy value on timeout)."""
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not value and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = fetch()
    return value
