"""Database state between cells: a baseline after seeding, the order invariant, and an exact reset.

Write scenarios change stock and add orders. After every write cell the harness checks the invariant
(remaining stock + ordered quantity = initial stock, for every item; no order without lines; totals add up;
one notification per order) and then restores the baseline, so every cell starts from the same data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from shared_models.migrate import sync_url

_TABLES = ("users", "items", "orders", "order_items", "notifications")


@dataclass(frozen=True)
class Baseline:
    """The seeded state: highest id per table and every item's stock."""

    max_ids: dict[str, int]
    stock: dict[int, int]


def engine_for(url: str) -> Engine:
    """A small sync engine for checks and resets."""
    return create_engine(sync_url(url), pool_size=1, max_overflow=0)


def capture(engine: Engine) -> Baseline:
    """Record the baseline right after seeding."""
    with engine.connect() as conn:
        # Table names come from the fixed tuple above, never from input.
        max_ids = {t: int(conn.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}")) or 0) for t in _TABLES}  # noqa: S608
        stock = {int(i): int(s) for i, s in conn.execute(text("SELECT id, stock FROM items"))}
    return Baseline(max_ids, stock)


def wait_until_quiet(engine: Engine, *, timeout_s: float = 15.0, settle_s: float = 0.75) -> bool:
    """Wait until no other session works in this database and no order has been added for `settle_s`.

    When Locust stops, the server still holds requests it accepted (up to one per user); they finish after
    the load generator is gone. Checking or resetting before then would race with them.
    """
    query = text(
        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state NOT IN ('idle')), (SELECT coalesce(max(id), 0) FROM orders)"
    )
    deadline = time.monotonic() + timeout_s
    last: tuple[int, int] | None = None
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            active, max_order = conn.execute(query).one()
        state = (int(active), int(max_order))
        if state[0] > 0 or state != last:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle_s:
            return True
        last = state
        time.sleep(0.1)
    return False


def check_invariant(engine: Engine, baseline: Baseline, *, notification_wait_s: float = 5.0) -> list[str]:
    """Problems with the data written since the baseline (empty list = invariant holds)."""
    order_floor = baseline.max_ids["orders"]
    problems: list[str] = []
    # One snapshot for every query: each order is atomic, so the invariant holds in any consistent snapshot,
    # even if a late request commits while we look.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        ordered: dict[int, int] = dict(
            conn.execute(
                text("SELECT item_id, sum(quantity) FROM order_items WHERE order_id > :m GROUP BY item_id"),
                {"m": order_floor},
            ).all()
        )
        stock = {
            int(i): int(s)
            for i, s in conn.execute(
                text("SELECT id, stock FROM items WHERE id <= :m"), {"m": baseline.max_ids["items"]}
            )
        }
        broken = [
            item_id
            for item_id, initial in baseline.stock.items()
            if stock.get(item_id, 0) + int(ordered.get(item_id, 0)) != initial
        ]
        if broken:
            problems.append(f"stock + ordered != initial for {len(broken)} item(s), e.g. item {broken[0]}")
        if negative := conn.scalar(text("SELECT count(*) FROM items WHERE stock < 0")):
            problems.append(f"{negative} item(s) with negative stock")
        empty = conn.scalar(
            text(
                "SELECT count(*) FROM orders o WHERE o.id > :m AND NOT EXISTS "
                "(SELECT 1 FROM order_items l WHERE l.order_id = o.id)"
            ),
            {"m": order_floor},
        )
        if empty:
            problems.append(f"{empty} order(s) without lines")
        wrong_total = conn.scalar(
            text(
                "SELECT count(*) FROM orders o WHERE o.id > :m AND o.total <> "
                "(SELECT coalesce(sum(l.quantity * l.unit_price), 0) FROM order_items l WHERE l.order_id = o.id)"
            ),
            {"m": order_floor},
        )
        if wrong_total:
            problems.append(f"{wrong_total} order(s) whose total is not the sum of their lines")
    missing = _orders_without_one_notification(engine, order_floor, notification_wait_s)
    if missing:
        problems.append(f"{missing} order(s) without exactly one notification after {notification_wait_s:.0f} s")
    return problems


def _orders_without_one_notification(engine: Engine, order_floor: int, wait_s: float) -> int:
    # Notifications are written after the response; give the background tasks a moment to finish.
    query = text(
        "SELECT count(*) FROM orders o WHERE o.id > :m AND "
        "(SELECT count(*) FROM notifications n WHERE n.order_id = o.id) <> 1"
    )
    deadline = time.monotonic() + wait_s
    while True:
        with engine.connect() as conn:
            missing = int(conn.scalar(query, {"m": order_floor}) or 0)
        if missing == 0 or time.monotonic() >= deadline:
            return missing
        time.sleep(0.2)


def reset(engine: Engine, baseline: Baseline) -> None:
    """Delete everything written since the baseline, restore stock and sequences, and re-analyse."""
    m = baseline.max_ids
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM notifications WHERE id > :n OR order_id > :o"),
            {"n": m["notifications"], "o": m["orders"]},
        )
        conn.execute(text("DELETE FROM order_items WHERE order_id > :o"), {"o": m["orders"]})
        conn.execute(text("DELETE FROM orders WHERE id > :o"), {"o": m["orders"]})
        conn.execute(text("DELETE FROM items WHERE id > :i"), {"i": m["items"]})
        conn.execute(text("DELETE FROM users WHERE id > :u"), {"u": m["users"]})
        ids, stocks = zip(*baseline.stock.items(), strict=True) if baseline.stock else ((), ())
        conn.execute(
            text(
                "UPDATE items AS i SET stock = s.stock FROM unnest(:ids, :stocks) AS s(id, stock) "
                "WHERE i.id = s.id AND i.stock <> s.stock"
            ),
            {"ids": list(ids), "stocks": list(stocks)},
        )
        for table in _TABLES:
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :v, :called)"),
                {"v": max(m[table], 1), "called": m[table] > 0},
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


DB_RETRY_S = 30.0  # how long the harness keeps retrying a database call through a restart or a dropped connection


def retrying() -> Retrying:
    """Retry a harness database call on OperationalError for up to DB_RETRY_S, then re-raise."""
    return Retrying(
        retry=retry_if_exception_type(OperationalError),
        stop=stop_after_delay(DB_RETRY_S),
        wait=wait_fixed(0.5),
        reraise=True,
    )
