"""The schema's constraints hold at the database level, whatever an app forgets to validate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from shared_models.migrate import sync_url
from shared_models.models import Item, Notification, Order, OrderItem, OrderStatus, User


@pytest.fixture(scope="module")
def engine(new_db: Callable[..., str]) -> Iterator[Engine]:
    """One migrated database; every test works inside a transaction that is rolled back."""
    engine = create_engine(sync_url(new_db(migrated=True)), poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is always rolled back."""
    with engine.connect() as connection, connection.begin() as transaction:
        yield connection
        transaction.rollback()


def _order(conn: Connection) -> tuple[int, int, int]:
    """A user with an order, and an item: (user id, order id, item id)."""
    user_id = conn.execute(
        insert(User).values(email="c@example.com", hashed_password="h").returning(User.id)
    ).scalar_one()
    item_id = conn.execute(insert(Item).values(name="Thing", price=5, stock=3).returning(Item.id)).scalar_one()
    order_id = conn.execute(insert(Order).values(user_id=user_id, total=5).returning(Order.id)).scalar_one()
    return user_id, order_id, item_id


def _violates(conn: Connection, constraint: str, model: type[Any], **values: Any) -> None:
    with pytest.raises(IntegrityError) as info, conn.begin_nested():
        conn.execute(insert(model).values(**values))
    assert info.value.orig is not None
    assert info.value.orig.diag.constraint_name == constraint  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"price": 0}, "ck_items_price_positive"),
        ({"price": -1}, "ck_items_price_positive"),
        ({"stock": -1}, "ck_items_stock_non_negative"),
        ({"name": ""}, "ck_items_name_not_empty"),
    ],
)
def test_item_checks(conn: Connection, values: dict[str, Any], constraint: str) -> None:
    _violates(conn, constraint, Item, **({"name": "Thing", "price": 1, "stock": 0} | values))


@pytest.mark.parametrize("quantity", [0, -1, 101])
def test_order_line_quantity_range(conn: Connection, quantity: int) -> None:
    _, order_id, item_id = _order(conn)
    _violates(
        conn,
        "ck_order_items_quantity_range",
        OrderItem,
        order_id=order_id,
        item_id=item_id,
        quantity=quantity,
        unit_price=5,
    )
    conn.execute(insert(OrderItem).values(order_id=order_id, item_id=item_id, quantity=100, unit_price=5))


def test_keys_and_uniqueness(conn: Connection) -> None:
    user_id, order_id, item_id = _order(conn)
    _violates(conn, "uq_users_email", User, email="c@example.com", hashed_password="h")
    _violates(conn, "ck_orders_total_non_negative", Order, user_id=user_id, total=-1)
    _violates(conn, "fk_orders_user_id_users", Order, user_id=999_999, total=0)
    conn.execute(insert(OrderItem).values(order_id=order_id, item_id=item_id, quantity=1, unit_price=5))
    conn.execute(insert(Notification).values(order_id=order_id, recipient="c@example.com", message="m"))
    _violates(conn, "uq_notifications_order_id", Notification, order_id=order_id, recipient="x", message="m")
    # RESTRICT: an item with order lines cannot be deleted (the API answers 409).
    with pytest.raises(IntegrityError, match="fk_order_items_item_id_items"), conn.begin_nested():
        conn.execute(delete(Item).where(Item.id == item_id))
    # CASCADE: deleting the order removes its lines and notification.
    conn.execute(delete(Order).where(Order.id == order_id))


def test_defaults(conn: Connection) -> None:
    _, order_id, _ = _order(conn)
    row = conn.execute(Order.__table__.select().where(Order.__table__.c.id == order_id)).one()
    assert row.status == OrderStatus.CONFIRMED
    assert row.created_at.tzinfo is not None
