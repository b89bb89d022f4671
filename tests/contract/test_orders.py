"""POST /orders, GET /orders, GET /orders/{id} and the notification written after the response."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from shared_models.schemas import EntityId, OrderCreate, PageQuery
from tests.support.api import Account, new_account, scalar, wait_for

from .helpers import (
    MISSING_ID,
    NOT_AUTHENTICATED,
    ORDER_LINE_KEYS,
    ORDER_PUBLIC_KEYS,
    assert_401,
    assert_422,
    assert_detail,
    assert_json,
    create_item,
    expected_errors,
    item_stock,
    locs,
    set_stock,
)

ORDER_NOT_FOUND = "Order not found"


def _post_order(client: httpx.Client, account: Account, lines: list[tuple[int, int]]) -> httpx.Response:
    body = {"lines": [{"item_id": item_id, "quantity": quantity} for item_id, quantity in lines]}
    return client.post("/orders", json=body, headers=account.headers)


def _order(client: httpx.Client, account: Account, lines: list[tuple[int, int]]) -> dict:
    response = _post_order(client, account, lines)
    assert response.status_code == 201, response.text
    return response.json()


def _orders_of(db: Engine, user_id: int) -> int:
    return scalar(db, "SELECT count(*) FROM orders WHERE user_id = :u", u=user_id)


# --- create ----------------------------------------------------------------------------------------------
def test_create_order(client: httpx.Client, writer: Account, buyer: Account, db: Engine) -> None:
    a = create_item(client, writer, price=19.99, stock=10)
    b = create_item(client, writer, price=0.01, stock=100)
    c = create_item(client, writer, price=5, stock=3)
    # Lines in request order, deliberately not sorted by id.
    response = _post_order(client, buyer, [(b["id"], 7), (a["id"], 3), (c["id"], 3)])
    assert response.status_code == 201, response.text
    order = response.json()
    assert set(order) == ORDER_PUBLIC_KEYS
    assert order["user_id"] == buyer.id
    assert order["status"] == "confirmed"
    assert isinstance(order["total"], float)
    assert order["total"] == 75.04  # 7 x 0.01 + 3 x 19.99 + 3 x 5
    created = datetime.fromisoformat(order["created_at"])
    assert created.tzinfo is not None
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    lines = order["lines"]
    assert [set(line) for line in lines] == [ORDER_LINE_KEYS] * 3
    assert [(line["item_id"], line["quantity"], line["unit_price"]) for line in lines] == [
        (b["id"], 7, 0.01),
        (a["id"], 3, 19.99),
        (c["id"], 3, 5.0),
    ]
    assert all(isinstance(line["unit_price"], float) for line in lines)
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    # Stock decremented by exactly the quantity, to zero when the order takes all of it.
    assert (item_stock(db, a["id"]), item_stock(db, b["id"]), item_stock(db, c["id"])) == (7, 93, 0)
    with db.connect() as conn:
        row = conn.execute(text("SELECT * FROM orders WHERE id = :id"), {"id": order["id"]}).mappings().one()
        db_lines = conn.execute(
            text("SELECT item_id, quantity, unit_price FROM order_items WHERE order_id = :id ORDER BY id"),
            {"id": order["id"]},
        ).all()
    assert (row["user_id"], row["status"], row["total"]) == (buyer.id, "confirmed", Decimal("75.04"))
    assert [tuple(r) for r in db_lines] == [
        (b["id"], 7, Decimal("0.01")),
        (a["id"], 3, Decimal("19.99")),
        (c["id"], 3, Decimal("5.00")),
    ]
    # The order reads back exactly as it was created.
    assert_json(client.get(f"/orders/{order['id']}", headers=buyer.headers), 200, order)


def test_create_order_writes_a_notification(client: httpx.Client, writer: Account, buyer: Account, db: Engine) -> None:
    item = create_item(client, writer, price=2.5, stock=10)
    order = _order(client, buyer, [(item["id"], 4)])

    def fetch() -> Any:
        with db.connect() as conn:
            return (
                conn.execute(
                    text("SELECT recipient, message, sent_at FROM notifications WHERE order_id = :id"),
                    {"id": order["id"]},
                )
                .mappings()
                .first()
            )

    notification = wait_for(fetch, timeout_s=5)
    assert notification is not None, "no notification row within 5 s"
    total = scalar(db, "SELECT total FROM orders WHERE id = :id", id=order["id"])
    assert notification["recipient"] == buyer.email
    assert notification["message"] == f"Order {order['id']} confirmed: 1 line(s), total {total}"
    assert notification["message"].endswith("total 10.00")
    assert scalar(db, "SELECT count(*) FROM notifications WHERE order_id = :id", id=order["id"]) == 1


def test_create_order_requires_auth(client: httpx.Client, writer: Account, db: Engine) -> None:
    item = create_item(client, writer, stock=5)
    response = client.post("/orders", json={"lines": [{"item_id": item["id"], "quantity": 1}]})
    assert_401(response, NOT_AUTHENTICATED)
    assert item_stock(db, item["id"]) == 5


def test_create_order_unknown_item_is_404_and_changes_nothing(
    client: httpx.Client, writer: Account, buyer: Account, db: Engine
) -> None:
    item = create_item(client, writer, stock=5)
    own_before = _orders_of(db, buyer.id)
    orders_before = scalar(db, "SELECT count(*) FROM orders")
    lines_before = scalar(db, "SELECT count(*) FROM order_items")
    response = _post_order(client, buyer, [(item["id"], 2), (MISSING_ID, 1), (MISSING_ID - 1, 1)])
    # The lowest missing id is named.
    assert_detail(response, 404, f"Item {MISSING_ID - 1} not found")
    assert item_stock(db, item["id"]) == 5
    assert _orders_of(db, buyer.id) == own_before
    assert scalar(db, "SELECT count(*) FROM orders") == orders_before
    assert scalar(db, "SELECT count(*) FROM order_items") == lines_before


def test_create_order_insufficient_stock_is_409_and_changes_nothing(
    client: httpx.Client, writer: Account, buyer: Account, db: Engine
) -> None:
    short_low = create_item(client, writer, stock=50)
    short_high = create_item(client, writer, stock=50)
    plenty = create_item(client, writer, stock=50)
    assert short_low["id"] < short_high["id"]
    set_stock(db, short_low["id"], 1)
    set_stock(db, short_high["id"], 1)
    own_before = _orders_of(db, buyer.id)
    lines = [(plenty["id"], 3), (short_high["id"], 2), (short_low["id"], 2)]
    response = _post_order(client, buyer, lines)
    # The lowest short id is named, whatever the line order.
    assert_detail(response, 409, f"Insufficient stock for item {short_low['id']}")
    stocks = [item_stock(db, i["id"]) for i in (plenty, short_low, short_high)]
    assert stocks == [50, 1, 1]
    assert _orders_of(db, buyer.id) == own_before
    # Exactly the stock left is fine; one more is not.
    _order(client, buyer, [(short_low["id"], 1)])
    assert item_stock(db, short_low["id"]) == 0
    again = _post_order(client, buyer, [(short_low["id"], 1)])
    assert_detail(again, 409, f"Insufficient stock for item {short_low['id']}")
    assert _orders_of(db, buyer.id) == own_before + 1


def test_missing_item_wins_over_insufficient_stock(
    client: httpx.Client, writer: Account, buyer: Account, db: Engine
) -> None:
    item = create_item(client, writer, stock=1)
    response = _post_order(client, buyer, [(item["id"], 5), (MISSING_ID, 1)])
    assert_detail(response, 404, f"Item {MISSING_ID} not found")
    assert item_stock(db, item["id"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"lines": []}, id="no-lines"),
        pytest.param({"lines": [{"item_id": i, "quantity": 1} for i in range(1, 52)]}, id="51-lines"),
        pytest.param({"lines": [{"item_id": 1, "quantity": 0}]}, id="quantity-0"),
        pytest.param({"lines": [{"item_id": 1, "quantity": 101}]}, id="quantity-101"),
        pytest.param({"lines": [{"item_id": 1, "quantity": 1.5}]}, id="quantity-float"),
        pytest.param({"lines": [{"item_id": 0, "quantity": 1}]}, id="item-id-0"),
        pytest.param({"lines": [{"item_id": 2147483648, "quantity": 1}]}, id="item-id-2^31"),
        pytest.param({"lines": [{"item_id": 1}]}, id="quantity-missing"),
        pytest.param({"lines": [{"item_id": 1, "quantity": 1}, {"item_id": 1, "quantity": 2}]}, id="duplicate"),
        pytest.param({}, id="lines-missing"),
        pytest.param({"lines": "nope"}, id="lines-not-a-list"),
        pytest.param([], id="body-is-a-list"),
    ],
)
def test_create_order_invalid_is_422(client: httpx.Client, seed_user: Account, db: Engine, body: Any) -> None:
    orders_before = scalar(db, "SELECT count(*) FROM orders")
    response = client.post("/orders", json=body, headers=seed_user.headers)
    assert_422(response, expected_errors(OrderCreate, body))
    assert all(loc[0] == "body" for loc in locs(response))
    assert scalar(db, "SELECT count(*) FROM orders") == orders_before


def test_create_order_limits_are_accepted(client: httpx.Client, writer: Account, buyer: Account) -> None:
    item = create_item(client, writer, price=1, stock=100)
    order = _order(client, buyer, [(item["id"], 100)])
    assert (order["total"], order["lines"][0]["quantity"]) == (100.0, 100)


def test_concurrent_orders_never_oversell(client: httpx.Client, live: Any, writer: Account, db: Engine) -> None:
    item = create_item(client, writer, stock=3)
    line = {"lines": [{"item_id": item["id"], "quantity": 1}]}

    def place(_: int) -> int:
        with httpx.Client(base_url=live.url, timeout=10) as c:
            return c.post("/orders", json=line, headers=writer.headers).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(place, range(6)))
    assert statuses == [201, 201, 201, 409, 409, 409]
    assert item_stock(db, item["id"]) == 0
    assert scalar(db, "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE item_id = :i", i=item["id"]) == 3


# --- read ------------------------------------------------------------------------------------------------
def test_list_orders_own_only_newest_first(client: httpx.Client, writer: Account, db: Engine) -> None:
    alice, bob = new_account(client, "alice"), new_account(client, "bob")
    item = create_item(client, writer, stock=100)
    a1 = _order(client, alice, [(item["id"], 1)])
    b1 = _order(client, bob, [(item["id"], 2)])
    a2 = _order(client, alice, [(item["id"], 3)])
    assert_json(client.get("/orders", headers=alice.headers), 200, {"data": [a2, a1], "count": 2})
    assert_json(client.get("/orders", headers=bob.headers), 200, {"data": [b1], "count": 1})
    # Another user's order is invisible, as if it did not exist.
    assert_detail(client.get(f"/orders/{b1['id']}", headers=alice.headers), 404, ORDER_NOT_FOUND)
    assert_detail(client.get(f"/orders/{a1['id']}", headers=bob.headers), 404, ORDER_NOT_FOUND)
    assert_json(client.get(f"/orders/{a1['id']}", headers=alice.headers), 200, a1)


def test_list_orders_pagination(client: httpx.Client, writer: Account, account: Account) -> None:
    assert_json(client.get("/orders", headers=account.headers), 200, {"data": [], "count": 0})
    item = create_item(client, writer, stock=100)
    orders = [_order(client, account, [(item["id"], q)]) for q in (1, 2, 3)]
    newest_first = orders[::-1]
    assert client.get("/orders", headers=account.headers).json() == {"data": newest_first, "count": 3}
    page1 = client.get("/orders", params={"limit": 2}, headers=account.headers)
    assert_json(page1, 200, {"data": newest_first[:2], "count": 3})
    page2 = client.get("/orders", params={"skip": 2, "limit": 2}, headers=account.headers)
    assert_json(page2, 200, {"data": newest_first[2:], "count": 3})
    past = client.get("/orders", params={"skip": 10}, headers=account.headers)
    assert_json(past, 200, {"data": [], "count": 3})


def test_list_orders_of_a_seed_user(client: httpx.Client, seed_user: Account, db: Engine) -> None:
    body = client.get("/orders", params={"limit": 100}, headers=seed_user.headers).json()
    assert body["count"] == _orders_of(db, seed_user.id)
    assert len(body["data"]) == body["count"]
    ids = [o["id"] for o in body["data"]]
    assert ids == sorted(ids, reverse=True)
    assert all(o["user_id"] == seed_user.id for o in body["data"])
    for order in body["data"]:
        assert set(order) == ORDER_PUBLIC_KEYS
        assert isinstance(order["total"], float)
        total = sum(Decimal(str(line["unit_price"])) * line["quantity"] for line in order["lines"])
        assert order["total"] == float(total)


def test_list_orders_requires_auth(client: httpx.Client) -> None:
    assert_401(client.get("/orders"), NOT_AUTHENTICATED)
    assert_401(client.get("/orders/1"), NOT_AUTHENTICATED)


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"skip": "-1"}, {"limit": "x"}])
def test_list_orders_invalid_query_is_422(client: httpx.Client, seed_user: Account, params: dict[str, str]) -> None:
    response = client.get("/orders", params=params, headers=seed_user.headers)
    assert locs(response) == [["query", next(iter(params))]]
    assert_422(response, expected_errors(PageQuery, params, ("query",)))


def test_get_missing_order_is_404(client: httpx.Client, seed_user: Account) -> None:
    assert_detail(client.get(f"/orders/{MISSING_ID}", headers=seed_user.headers), 404, ORDER_NOT_FOUND)


@pytest.mark.parametrize("raw_id", ["abc", "0", "99999999999"])
def test_get_order_bad_id_is_422(client: httpx.Client, seed_user: Account, raw_id: str) -> None:
    response = client.get(f"/orders/{raw_id}", headers=seed_user.headers)
    assert locs(response) == [["path", "order_id"]]
    assert_422(response, expected_errors(EntityId, raw_id, ("path", "order_id")))
