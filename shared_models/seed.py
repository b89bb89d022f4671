"""Deterministic seed data: the same rng seed always gives the same users, items, orders and notifications."""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, create_engine, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email
from shared_models.migrate import sync_url
from shared_models.models import Base, Item, Notification, Order, OrderItem, OrderStatus, User
from shared_models.security import hash_seed_password

DEFAULT_RNG_SEED = 20261125
# Fixed timestamps (not now()) so two seeded databases are identical row for row, timestamps included.
SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = ("users", "items", "orders", "order_items", "notifications")
_ADJECTIVES = (
    "Sturdy",
    "Compact",
    "Deluxe",
    "Classic",
    "Smart",
    "Rugged",
    "Portable",
    "Silent",
    "Bright",
    "Eco",
)
_NOUNS = ("Widget", "Gadget", "Gizmo", "Sprocket", "Lamp", "Kettle", "Router", "Backpack", "Speaker", "Drill")
_COLLECTIONS = ("spring", "summer", "autumn", "winter", "studio", "outdoor", "office", "kitchen")
_BATCH = 5_000  # rows per executemany call: bounded memory, still few round trips


@dataclass(frozen=True)
class SeedSummary:
    """What seed() inserted and how long it took."""

    users: int
    items: int
    orders: int
    order_items: int
    notifications: int
    seconds: float


def _items(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        adjective, noun, collection = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_COLLECTIONS)
        created = SEED_EPOCH + timedelta(seconds=i)
        rows.append(
            {
                "id": i + 1,
                "name": f"{adjective} {noun} {i + 1}",
                "description": f"A {adjective} {noun} from the {collection} range.".capitalize(),
                "price": Decimal(rng.randint(100, 50_000)) / 100,  # 1.00 .. 500.00, exact cents
                # Far more than any benchmark run sells, so write scenarios never hit 409 out-of-stock.
                "stock": rng.randint(10_000, 100_000),
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


def _orders(
    rng: random.Random, count: int, users: int, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for order_id in range(1, count + 1):
        user_index = rng.randrange(users)
        picked = rng.sample(range(len(items)), k=min(rng.randint(1, 5), len(items)))  # distinct items
        order_lines = [
            {
                "id": len(lines) + n + 1,
                "order_id": order_id,
                "item_id": items[k]["id"],
                "quantity": rng.randint(1, 5),
                "unit_price": items[k]["price"],
            }
            for n, k in enumerate(picked)
        ]
        total = sum((line["quantity"] * line["unit_price"] for line in order_lines), Decimal("0.00"))
        created = SEED_EPOCH + timedelta(days=30, seconds=order_id)
        orders.append(
            {
                "id": order_id,
                "user_id": user_index + 1,
                "status": OrderStatus.CONFIRMED,
                "total": total,
                "created_at": created,
            }
        )
        lines.extend(order_lines)
        # Same wording as the apps' post-response notification (docs/CONTRACT.md).
        notes.append(
            {
                "id": order_id,
                "order_id": order_id,
                "recipient": load_user_email(user_index),
                "message": f"Order {order_id} confirmed: {len(order_lines)} line(s), total {total}",
                "sent_at": created + timedelta(seconds=1),
            }
        )
    return orders, lines, notes


def _insert(conn: Connection, model: type[Any], rows: list[dict[str, Any]]) -> None:
    # Core executemany: SQLAlchemy batches it into multi-row INSERT ... VALUES, no ORM unit-of-work cost.
    for start in range(0, len(rows), _BATCH):
        conn.execute(insert(model), rows[start : start + _BATCH])


def reset_sequences(conn: Connection) -> None:
    """Point every id sequence past the largest id, so inserts after an explicit-id seed get fresh ids."""
    for name in TABLES:
        table = Base.metadata.tables[name]
        next_id = func.coalesce(func.max(table.c.id), 0) + 1
        conn.execute(select(func.setval(func.pg_get_serial_sequence(name, "id"), next_id, False)))


def seed(
    url: str,
    *,
    users: int = 1000,
    items: int = 10_000,
    orders: int = 5_000,
    rng_seed: int = DEFAULT_RNG_SEED,
) -> SeedSummary:
    """Replace all rows of a migrated database with deterministic data; returns counts and seconds taken.

    Seed orders do not decrement item stock (stock is drawn independently and is large); they exist so
    order listings have data to page through.
    """
    for name, value in (("users", users), ("items", items), ("orders", orders)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if orders and (not users or not items):
        raise ValueError("orders need at least one user and one item")
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    # One minimal-cost hash shared by every seed user (see security.hash_seed_password for why).
    hashed = hash_seed_password(LOAD_USER_PASSWORD)
    user_rows = [
        {
            "id": i + 1,
            "email": load_user_email(i),
            "hashed_password": hashed,
            "full_name": f"Load User {i}",
            "created_at": SEED_EPOCH + timedelta(seconds=i),
        }
        for i in range(users)
    ]
    item_rows = _items(rng, items)
    order_rows, line_rows, note_rows = _orders(rng, orders, users, item_rows)
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            for model, rows in (
                (User, user_rows),
                (Item, item_rows),
                (Order, order_rows),
                (OrderItem, line_rows),
                (Notification, note_rows),
            ):
                _insert(conn, model, rows)
            reset_sequences(conn)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Fresh planner statistics, so the first measured queries get the same plans as the last ones.
            conn.execute(text(f"ANALYZE {', '.join(TABLES)}"))
    finally:
        engine.dispose()
    return SeedSummary(
        users=users,
        items=items,
        orders=orders,
        order_items=len(line_rows),
        notifications=len(note_rows),
        seconds=time.perf_counter() - started,
    )


def _count(value: str) -> int:
    # argparse prefixes the message with the flag's name ("argument --users: ...").
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {number}")
    return number


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m shared_models.seed [--database-url URL] [--users N] [--items N] ..."""
    parser = argparse.ArgumentParser(
        prog="python -m shared_models.seed",
        description="Replace all rows of a migrated database with deterministic benchmark data.",
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (default: DATABASE_URL via AppSettings)")
    parser.add_argument("--users", type=_count, default=1000, help="seed users (default: 1000)")
    parser.add_argument("--items", type=_count, default=10_000, help="items (default: 10000)")
    parser.add_argument("--orders", type=_count, default=5_000, help="orders, 1-5 lines each (default: 5000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_RNG_SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.orders and (not args.users or not args.items):
        parser.error("--orders > 0 needs --users >= 1 and --items >= 1")
    if args.database_url is None:
        from shared_models.settings import AppSettings  # only when needed: a bad env must not block --help

        args.database_url = str(AppSettings().database_url)
    try:
        summary = seed(args.database_url, users=args.users, items=args.items, orders=args.orders, rng_seed=args.seed)
    except SQLAlchemyError as exc:
        print(f"seeding failed (is the database up and migrated?): {exc}", file=sys.stderr)
        return 1
    print(
        f"seeded {summary.users} users, {summary.items} items, {summary.orders} orders "
        f"({summary.order_items} lines, {summary.notifications} notifications) in {summary.seconds:.2f} s; "
        f"log in as {load_user_email(0)} / {LOAD_USER_PASSWORD}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
