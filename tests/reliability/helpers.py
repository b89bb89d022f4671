"""Helpers of the reliability suite: accounts, tokens, database access and polling."""

from __future__ import annotations

import base64
import json
import ssl
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import Engine, create_engine, text

from bench.drive.servers import DEFAULT_SETUP, SETUPS, Framework, ServerConfig
from shared_models.seed import LOAD_USER_PASSWORD, load_user_email
from shared_models.settings import DEFAULT_JWT_SECRET

PASSWORD = "reliability-suite-pw"
INT32_MAX = 2_147_483_647
INT64_MAX = 9_223_372_036_854_775_807
MIB = 1_048_576
# httpx builds a new SSL context (~35 ms of CPU) for every client it creates, even for plain-http URLs; the suite
# makes thousands of requests through short-lived clients, so they all share this one.
SSL_CONTEXT = ssl.create_default_context()


def http_client(base_url: str, timeout: float = 10) -> httpx.Client:
    """A client for one server, sharing the suite's SSL context."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=SSL_CONTEXT)


def get(url: str, timeout: float = 10, **kwargs: Any) -> httpx.Response:
    """httpx.get with the shared SSL context."""
    with httpx.Client(timeout=timeout, verify=SSL_CONTEXT) as client:
        return client.get(url, **kwargs)


@dataclass(frozen=True)
class Account:
    """A logged-in user."""

    id: int
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_email(prefix: str = "rel") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}@example.com"


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def register(client: httpx.Client, email: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/auth/register", json={"email": email or unique_email(), "password": password})
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_account(client: httpx.Client, prefix: str = "rel") -> Account:
    """Register a fresh user and log it in."""
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


# --- tokens ----------------------------------------------------------------------------------------------
def make_token(
    *,
    sub: Any = "1",
    secret: str = DEFAULT_JWT_SECRET,
    algorithm: str = "HS256",
    expires_in: timedelta = timedelta(minutes=5),
    claims: dict[str, Any] | None = None,
) -> str:
    """A JWT signed with the development secret the test servers use, unless told otherwise."""
    if claims is None:
        now = datetime.now(UTC)
        claims = {"sub": sub, "iat": now, "exp": now + expires_in}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """An `alg: none` token with an empty signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


# --- database --------------------------------------------------------------------------------------------
def sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def make_engine(url: str) -> Engine:
    return create_engine(sync_url(url), pool_size=2, pool_pre_ping=True)


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


# --- polling ---------------------------------------------------------------------------------------------
def wait_for(fetch: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.05) -> Any:
    """Poll until fetch() returns something truthy; return it (or the last falsy value on timeout)."""
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not value and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = fetch()
    return value


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
