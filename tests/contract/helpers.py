"""Helpers for the HTTP contract suite (docs/CONTRACT.md): accounts, tokens, items, database, error bodies."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, text

from shared_models.errors import dumps, validation_detail
from tests.support.api import Account

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


def unique_name(prefix: str = "item") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


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
