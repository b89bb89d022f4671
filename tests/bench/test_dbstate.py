"""Between cells: the order invariant catches broken data, and reset restores the seeded state exactly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from bench.drive import dbstate


@pytest.fixture
def engine(fresh_db: Callable[[], str]) -> Engine:
    return dbstate.engine_for(fresh_db())


def _order(engine: Engine, *, user_id: int, lines: list[tuple[int, int]], notify: bool = True) -> int:
    """Place an order the way the apps do: decrement stock, insert order, lines and notification."""
    with engine.begin() as conn:
        total = 0
        for item_id, quantity in lines:
            price = conn.execute(
                text("UPDATE items SET stock = stock - :q WHERE id = :i RETURNING price"), {"q": quantity, "i": item_id}
            ).scalar_one()
            total += price * quantity
        order_id = conn.execute(
            text("INSERT INTO orders (user_id, status, total) VALUES (:u, 'confirmed', :t) RETURNING id"),
            {"u": user_id, "t": total},
        ).scalar_one()
        for item_id, quantity in lines:
            conn.execute(
                text(
                    "INSERT INTO order_items (order_id, item_id, quantity, unit_price) "
                    "SELECT :o, id, :q, price FROM items WHERE id = :i"
                ),
                {"o": order_id, "q": quantity, "i": item_id},
            )
        if notify:
            conn.execute(
                text("INSERT INTO notifications (order_id, recipient, message) VALUES (:o, 'x@example.com', 'm')"),
                {"o": order_id},
            )
    return int(order_id)


def test_invariant_holds_for_correct_orders(engine: Engine) -> None:
    baseline = dbstate.capture(engine)
    _order(engine, user_id=1, lines=[(1, 3), (2, 1)])
    _order(engine, user_id=2, lines=[(1, 2)])
    assert dbstate.check_invariant(engine, baseline, notification_wait_s=0) == []


@pytest.mark.parametrize(
    ("corrupt", "needle"),
    [
        ("UPDATE items SET stock = stock - 1 WHERE id = 5", "stock + ordered != initial for 1 item(s)"),
        ("DELETE FROM order_items WHERE order_id = {order}", "without lines"),
        ("UPDATE orders SET total = total + 1 WHERE id = {order}", "total is not the sum"),
        ("DELETE FROM notifications WHERE order_id = {order}", "without exactly one notification"),
    ],
)
def test_invariant_reports_each_kind_of_damage(engine: Engine, corrupt: str, needle: str) -> None:
    baseline = dbstate.capture(engine)
    order = _order(engine, user_id=1, lines=[(3, 1)])
    with engine.begin() as conn:
        conn.execute(text(corrupt.format(order=order)))
    problems = dbstate.check_invariant(engine, baseline, notification_wait_s=0.3)
    assert any(needle in problem for problem in problems), problems


def test_reset_restores_rows_stock_and_sequences(engine: Engine) -> None:
    baseline = dbstate.capture(engine)
    for user in (1, 2, 3):
        _order(engine, user_id=user, lines=[(user, 2), (10, 1)])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (email, hashed_password) VALUES ('new@example.com', 'x')"))
    dbstate.reset(engine, baseline)
    assert dbstate.capture(engine) == baseline
    first_new = _order(engine, user_id=1, lines=[(1, 1)])
    assert first_new == baseline.max_ids["orders"] + 1  # the next cell sees the same ids as the first one


def test_wait_until_quiet_sees_an_idle_database_and_waits_for_a_busy_one(engine: Engine) -> None:
    assert dbstate.wait_until_quiet(engine, timeout_s=5, settle_s=0.3) is True
    other = dbstate.engine_for(engine.url.render_as_string(hide_password=False))
    busy = other.connect()
    try:
        busy.execute(text("SELECT 1"))  # leaves a transaction open: "idle in transaction" is not quiet
        assert dbstate.wait_until_quiet(engine, timeout_s=1.0, settle_s=0.3) is False
    finally:
        busy.close()
        other.dispose()


def test_invariant_uses_one_snapshot(engine: Engine) -> None:
    # An order committed between two separate queries would look like lost stock; one snapshot never does.
    baseline = dbstate.capture(engine)
    _order(engine, user_id=1, lines=[(7, 2)])
    assert dbstate.check_invariant(engine, baseline, notification_wait_s=0) == []
