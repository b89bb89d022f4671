"""Helpers for the HTTP contract suite (docs/CONTRACT.md): accounts, tokens, items, database, error bodies."""

from __future__ import annotations

import base64
import json
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
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, text

from shared_models.errors import dumps, validation_detail
from shared_models.seed import LOAD_USER_PASSWORD, load_user_email
from shared_models.settings import DEFAULT_JWT_SECRET

PASSWORD = "contract-suite-password"
JWT_ALGORITHM = "HS256"
MAX_ID = 2_147_483_647
# An id inside the valid EntityId range that no test ever creates (sequences never get near it).
MISSING_ID = MAX_ID

USER_PUBLIC_KEYS = {"id", "email", "full_name", "created_at"}
ITEM_PUBLIC_KEYS = {"id", "name", "description", "price", "stock", "created_at", "updated_at"}
ORDER_PUBLIC_KEYS = {"id", "user_id", "status", "total", "created_at", "lines"}
ORDER_LINE_KEYS = {"id", "item_id", "quantity", "unit_price"}
QUOTE_KEYS = {"item_id", "zip", "carrier", "cost", "eta_days"}

NOT_AUTHENTICATED = "Not authenticated"
BAD_CREDENTIALS = "Could not validate credentials"


# --- accounts --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    """A user that can call authenticated endpoints."""

    id: int
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "contract") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}@example.com"


def unique_name(prefix: str = "item") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def register(client: httpx.Client, email: str | None = None, password: str = PASSWORD, **extra: Any) -> dict:
    response = client.post("/auth/register", json={"email": email or unique_email(), "password": password, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def new_account(client: httpx.Client, prefix: str = "contract") -> Account:
    """Register a fresh user (unique email) and log it in: 2 Argon2 operations on the server."""
    email = unique_email(prefix)
    user = register(client, email)
    return Account(id=user["id"], email=email, password=PASSWORD, token=login(client, email, PASSWORD))


def seed_account(base_url: str, index: int = 0) -> Account:
    email = load_user_email(index)
    with httpx.Client(base_url=base_url, timeout=10) as c:
        token = login(c, email, LOAD_USER_PASSWORD)
        me = c.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
    return Account(id=me.json()["id"], email=email, password=LOAD_USER_PASSWORD, token=token)


# --- tokens ----------------------------------------------------------------------------------------------
def make_token(
    claims: dict[str, Any] | None = None,
    *,
    sub: Any = None,
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


def unsigned_token(claims: dict[str, Any]) -> str:
    """An `alg: none` token: header.payload. with an empty signature."""

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- items -----------------------------------------------------------------------------------------------
def create_item(client: httpx.Client, account: Account, **fields: Any) -> dict:
    body = {"name": unique_name(), "description": "made by the contract suite", "price": 10, "stock": 100}
    body.update(fields)
    response = client.post("/items", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def item_row(db: Engine, item_id: int) -> dict | None:
    with db.connect() as conn:
        row = conn.execute(text("SELECT * FROM items WHERE id = :id"), {"id": item_id}).mappings().first()
    return dict(row) if row else None


def item_stock(db: Engine, item_id: int) -> int:
    row = item_row(db, item_id)
    assert row is not None, f"item {item_id} missing from the database"
    return row["stock"]


def set_stock(db: Engine, item_id: int, stock: int) -> None:
    with db.begin() as conn:
        conn.execute(text("UPDATE items SET stock = :s WHERE id = :id"), {"s": stock, "id": item_id})


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


# --- expected error bodies -------------------------------------------------------------------------------
def expected_errors(schema: Any, value: Any, prefix: tuple[str | int, ...] = ("body",)) -> list[dict]:
    """The exact 422 `detail` the contract prescribes: pydantic's errors for `value`, shared encoder.

    Validation is python-mode with from_attributes, as FastAPI does it and Flask mirrors it.
    """
    try:
        TypeAdapter(schema).validate_python(value, from_attributes=True)
    except ValidationError as exc:
        return json.loads(dumps({"detail": validation_detail(exc.errors(), prefix)}))["detail"]
    raise AssertionError(f"{value!r} is valid for {schema!r}; the test expects it not to be")


def assert_process_time(response: httpx.Response) -> None:
    raw = response.headers.get("x-process-time")
    assert raw is not None, f"no X-Process-Time on {response.request.method} {response.request.url}"
    assert float(raw) >= 0


def assert_json(response: httpx.Response, status: int, body: Any) -> None:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.json() == body
    assert_process_time(response)


def assert_detail(response: httpx.Response, status: int, detail: str) -> None:
    assert_json(response, status, {"detail": detail})


def assert_401(response: httpx.Response, detail: str) -> None:
    assert_detail(response, 401, detail)
    assert response.headers.get("www-authenticate") == "Bearer"


def assert_422(response: httpx.Response, detail: list[dict]) -> None:
    assert_json(response, 422, {"detail": detail})


def locs(response: httpx.Response) -> list[list[str | int]]:
    assert response.status_code == 422, f"{response.status_code}: {response.text}"
    return [entry["loc"] for entry in response.json()["detail"]]


def is_json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
