"""GET/POST/PATCH/DELETE /items (docs/CONTRACT.md, Endpoints and Conventions)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, text

from shared_models.schemas import EntityId, ItemCreate, ItemsQuery, ItemUpdate
from tests.support.api import Account, scalar

from .helpers import (
    ITEM_PUBLIC_KEYS,
    MISSING_ID,
    NOT_AUTHENTICATED,
    assert_401,
    assert_422,
    assert_detail,
    assert_json,
    create_item,
    expected_errors,
    is_json_number,
    item_row,
    locs,
    unique_name,
)

ITEM_NOT_FOUND = "Item not found"


def _as_public(row: dict) -> dict:
    """The JSON an item row must be served as."""
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "price": float(row["price"]),
        "stock": row["stock"],
    }


def _strip_times(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in {"created_at", "updated_at"}}


# --- listing ---------------------------------------------------------------------------------------------
def test_list_default_page(client: httpx.Client, db: Engine) -> None:
    response = client.get("/items")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "count"}
    assert body["count"] == scalar(db, "SELECT count(*) FROM items")
    assert len(body["data"]) == 10
    with db.connect() as conn:
        rows = [dict(r) for r in conn.execute(text("SELECT * FROM items ORDER BY id LIMIT 10")).mappings()]
    assert [_strip_times(item) for item in body["data"]] == [_as_public(row) for row in rows]
    for item, row in zip(body["data"], rows, strict=True):
        assert set(item) == ITEM_PUBLIC_KEYS
        assert is_json_number(item["price"])
        assert datetime.fromisoformat(item["created_at"]) == row["created_at"]
        assert datetime.fromisoformat(item["updated_at"]) == row["updated_at"]


def test_list_pages_are_disjoint_and_ordered(client: httpx.Client, db: Engine) -> None:
    first = client.get("/items", params={"skip": 0, "limit": 5}).json()
    second = client.get("/items", params={"skip": 5, "limit": 5}).json()
    both = client.get("/items", params={"skip": 0, "limit": 10}).json()
    ids_first = [i["id"] for i in first["data"]]
    ids_second = [i["id"] for i in second["data"]]
    assert len(ids_first) == len(ids_second) == 5
    assert not set(ids_first) & set(ids_second)
    assert ids_first + ids_second == [i["id"] for i in both["data"]]
    assert ids_first + ids_second == sorted(ids_first + ids_second)
    assert first["count"] == second["count"] == both["count"] == scalar(db, "SELECT count(*) FROM items")


def test_list_max_limit_and_past_the_end(client: httpx.Client, db: Engine) -> None:
    total = scalar(db, "SELECT count(*) FROM items")
    page = client.get("/items", params={"limit": 100}).json()
    assert len(page["data"]) == min(100, total)
    ids = [i["id"] for i in page["data"]]
    assert ids == sorted(ids)
    beyond = client.get("/items", params={"skip": total + 10, "limit": 5})
    assert_json(beyond, 200, {"data": [], "count": total})


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"skip": "-1"},
        {"limit": "abc"},
        {"skip": "1.5"},
        {"skip": "2147483648"},
        {"q": "x" * 101},
        {"q": "a\x00b"},
    ],
    ids=["limit=0", "limit=101", "skip=-1", "limit=abc", "skip=1.5", "skip=2^31", "q-101-chars", "q-NUL"],
)
def test_list_invalid_query_is_422(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get("/items", params=params)
    assert locs(response) == [["query", next(iter(params))]]
    assert_422(response, expected_errors(ItemsQuery, params, ("query",)))


def test_list_search_is_case_insensitive_substring(client: httpx.Client, writer: Account, db: Engine) -> None:
    token = uuid.uuid4().hex[:10]
    made = [
        create_item(client, writer, name=f"Alpha {token.upper()} one"),
        create_item(client, writer, name=f"beta-{token}-two"),
    ]
    create_item(client, writer, name=f"unrelated {uuid.uuid4().hex[:10]}")
    for q in (token, token.upper(), token[2:8].swapcase()):
        body = client.get("/items", params={"q": q}).json()
        assert [i["id"] for i in body["data"]] == [m["id"] for m in made], q
        assert body["count"] == 2
    paged = client.get("/items", params={"q": token, "limit": 1, "skip": 1}).json()
    assert paged == {"data": [made[1]], "count": 2}


@pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
def test_list_search_treats_wildcards_literally(client: httpx.Client, writer: Account, wildcard: str) -> None:
    token = uuid.uuid4().hex[:10]
    literal = create_item(client, writer, name=f"w{token}{wildcard}tail")
    # Would match `token%` / `token_` if the wildcard were not escaped.
    create_item(client, writer, name=f"w{token}Xtail")
    response = client.get("/items", params={"q": f"{token}{wildcard}"})
    assert_json(response, 200, {"data": [literal], "count": 1})
    only_wildcard = client.get("/items", params={"q": wildcard, "limit": 100})
    assert only_wildcard.status_code == 200
    assert all(wildcard in item["name"] for item in only_wildcard.json()["data"])


def test_list_search_without_match(client: httpx.Client) -> None:
    response = client.get("/items", params={"q": f"no-such-item-{uuid.uuid4().hex}"})
    assert_json(response, 200, {"data": [], "count": 0})


# --- one item --------------------------------------------------------------------------------------------
def test_get_item(client: httpx.Client, db: Engine) -> None:
    response = client.get("/items/1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ITEM_PUBLIC_KEYS
    row = item_row(db, 1)
    assert row is not None
    assert _strip_times(body) == _as_public(row)
    assert datetime.fromisoformat(body["updated_at"]) == row["updated_at"]


def test_get_missing_item_is_404(client: httpx.Client) -> None:
    assert_detail(client.get(f"/items/{MISSING_ID}"), 404, ITEM_NOT_FOUND)


@pytest.mark.parametrize("raw_id", ["abc", "0", "-1", "99999999999", "1.5", "2147483648"])
def test_get_item_bad_id_is_422(client: httpx.Client, raw_id: str) -> None:
    response = client.get(f"/items/{raw_id}")
    assert locs(response) == [["path", "item_id"]]
    assert_422(response, expected_errors(EntityId, raw_id, ("path", "item_id")))


# --- create ----------------------------------------------------------------------------------------------
def test_create_item(client: httpx.Client, writer: Account, db: Engine) -> None:
    body = {"name": unique_name("new"), "description": "a thing", "price": 19.99, "stock": 7}
    response = client.post("/items", json=body, headers=writer.headers)
    assert response.status_code == 201, response.text
    item = response.json()
    assert set(item) == ITEM_PUBLIC_KEYS
    assert {k: item[k] for k in body} == body
    assert isinstance(item["price"], float)
    assert item["created_at"] == item["updated_at"]
    row = item_row(db, item["id"])
    assert row is not None
    assert row["price"] == Decimal("19.99")
    assert row["stock"] == 7
    assert_json(client.get(f"/items/{item['id']}"), 200, item)


def test_create_item_defaults(client: httpx.Client, writer: Account) -> None:
    response = client.post("/items", json={"name": unique_name(), "price": 3}, headers=writer.headers)
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["description"], item["stock"], item["price"]) == (None, 0, 3)
    assert '"price":3.0' in response.text.replace(" ", "")


@pytest.mark.parametrize(
    ("price", "expected"),
    [(0.01, 0.01), (10, 10.0), (9.9, 9.9), ("12.50", 12.5), (99999999.99, 99999999.99)],
)
def test_create_item_prices_are_json_numbers_in_cents(
    client: httpx.Client, writer: Account, price: object, expected: float
) -> None:
    item = create_item(client, writer, price=price)
    assert isinstance(item["price"], float)
    assert item["price"] == expected


def test_create_item_requires_auth(client: httpx.Client, db: Engine) -> None:
    name = unique_name("anon")
    assert_401(client.post("/items", json={"name": name, "price": 1}), NOT_AUTHENTICATED)
    assert scalar(db, "SELECT count(*) FROM items WHERE name = :n", n=name) == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"name": "x", "price": 0}', "price"),
        ('{"name": "x", "price": -5}', "price"),
        ('{"name": "x", "price": 1.234}', "price"),
        ('{"name": "x", "price": 1e400}', "price"),
        ('{"name": "x", "price": 100000000}', "price"),
        ('{"name": "x", "price": "abc"}', "price"),
        ('{"name": "x", "price": true}', "price"),
        ('{"name": "", "price": 1}', "name"),
        ('{"name": "' + "n" * 101 + '", "price": 1}', "name"),
        ('{"name": "a\\u0000b", "price": 1}', "name"),
        ('{"name": "x", "price": 1, "description": "d\\u0000"}', "description"),
        ('{"name": "x", "price": 1, "description": "' + "d" * 1001 + '"}', "description"),
        ('{"name": "x", "price": 1, "stock": -1}', "stock"),
        ('{"name": "x", "price": 1, "stock": 2147483648}', "stock"),
        ('{"price": 1}', "name"),
        ('{"name": "x"}', "price"),
    ],
    ids=[
        "price-0",
        "price-negative",
        "price-3-decimals",
        "price-1e400",
        "price-9-whole-digits",
        "price-string",
        "price-bool",
        "name-empty",
        "name-101",
        "name-NUL",
        "description-NUL",
        "description-1001",
        "stock-negative",
        "stock-2^31",
        "name-missing",
        "price-missing",
    ],
)
def test_create_item_invalid_is_422(client: httpx.Client, writer: Account, raw: str, field: str) -> None:
    response = client.post("/items", content=raw, headers={**writer.headers, "Content-Type": "application/json"})
    assert locs(response) == [["body", field]]
    assert_422(response, expected_errors(ItemCreate, json.loads(raw)))


def test_create_item_name_at_limits(client: httpx.Client, writer: Account) -> None:
    for name in ("n", "n" * 100, "ünïcödé ✓"):
        assert create_item(client, writer, name=name)["name"] == name


# --- update ----------------------------------------------------------------------------------------------
def test_patch_changes_only_given_fields(client: httpx.Client, writer: Account, db: Engine) -> None:
    item = create_item(client, writer, price=10, stock=5, description="before")
    response = client.patch(f"/items/{item['id']}", json={"price": 12.34}, headers=writer.headers)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["price"] == 12.34
    unchanged = {k: v for k, v in item.items() if k not in {"price", "updated_at"}}
    assert {k: patched[k] for k in unchanged} == unchanged
    assert datetime.fromisoformat(patched["updated_at"]) > datetime.fromisoformat(item["updated_at"])
    row = item_row(db, item["id"])
    assert row is not None
    assert (row["price"], row["stock"], row["description"]) == (Decimal("12.34"), 5, "before")
    assert_json(client.get(f"/items/{item['id']}"), 200, patched)


def test_patch_several_fields_and_null_description(client: httpx.Client, writer: Account) -> None:
    item = create_item(client, writer, description="has one")
    changes = {"name": unique_name("renamed"), "description": None, "stock": 0}
    response = client.patch(f"/items/{item['id']}", json=changes, headers=writer.headers)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert {k: patched[k] for k in changes} == changes
    assert patched["price"] == item["price"]
    assert patched["created_at"] == item["created_at"]


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"price": None}, {"stock": None}, {"price": 0}, {"name": ""}, {"stock": -1}],
    ids=["name-null", "price-null", "stock-null", "price-0", "name-empty", "stock-negative"],
)
def test_patch_invalid_is_422(client: httpx.Client, writer: Account, db: Engine, body: dict) -> None:
    item = create_item(client, writer)
    response = client.patch(f"/items/{item['id']}", json=body, headers=writer.headers)
    assert locs(response) == [["body", next(iter(body))]]
    assert_422(response, expected_errors(ItemUpdate, body))
    assert_json(client.get(f"/items/{item['id']}"), 200, item)


def test_patch_missing_item_is_404(client: httpx.Client, writer: Account) -> None:
    response = client.patch(f"/items/{MISSING_ID}", json={"stock": 1}, headers=writer.headers)
    assert_detail(response, 404, ITEM_NOT_FOUND)


def test_patch_requires_auth(client: httpx.Client, writer: Account) -> None:
    item = create_item(client, writer)
    assert_401(client.patch(f"/items/{item['id']}", json={"stock": 1}), NOT_AUTHENTICATED)
    assert_json(client.get(f"/items/{item['id']}"), 200, item)


def test_patch_bad_id_is_422(client: httpx.Client, writer: Account) -> None:
    response = client.patch("/items/abc", json={"stock": 1}, headers=writer.headers)
    assert_422(response, expected_errors(EntityId, "abc", ("path", "item_id")))


# --- delete ----------------------------------------------------------------------------------------------
def test_delete_item(client: httpx.Client, writer: Account, db: Engine) -> None:
    item = create_item(client, writer)
    response = client.delete(f"/items/{item['id']}", headers=writer.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert item_row(db, item["id"]) is None
    assert_detail(client.get(f"/items/{item['id']}"), 404, ITEM_NOT_FOUND)
    assert_detail(client.delete(f"/items/{item['id']}", headers=writer.headers), 404, ITEM_NOT_FOUND)


def test_delete_requires_auth(client: httpx.Client, writer: Account, db: Engine) -> None:
    item = create_item(client, writer)
    assert_401(client.delete(f"/items/{item['id']}"), NOT_AUTHENTICATED)
    assert item_row(db, item["id"]) is not None


def test_delete_item_referenced_by_an_order_is_409(client: httpx.Client, writer: Account, db: Engine) -> None:
    item = create_item(client, writer, stock=5)
    order = client.post("/orders", json={"lines": [{"item_id": item["id"], "quantity": 1}]}, headers=writer.headers)
    assert order.status_code == 201, order.text
    response = client.delete(f"/items/{item['id']}", headers=writer.headers)
    assert_detail(response, 409, "Item is referenced by orders")
    assert item_row(db, item["id"]) is not None
    assert client.get(f"/items/{item['id']}").status_code == 200
