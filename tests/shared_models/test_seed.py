"""Deterministic seed data: counts, reproducibility, consistent orders, usable load users, speed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.pool import NullPool

from shared_models import seed as seed_module
from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email
from shared_models.migrate import sync_url
from shared_models.models import Item, Order, User
from shared_models.security import verify_password
from shared_models.seed import SeedSummary, seed

SMALL = {"users": 30, "items": 300, "orders": 120}


def _engine(url: str) -> Engine:
    return create_engine(sync_url(url), poolclass=NullPool)


@pytest.fixture(scope="module")
def default_seed(new_db: Callable[..., str]) -> Iterator[tuple[Engine, SeedSummary]]:
    """One database seeded at the default (benchmark) scale."""
    url = new_db(migrated=True)
    summary = seed(url)
    print(f"\nseed at default scale: {summary}")
    engine = _engine(url)
    yield engine, summary
    engine.dispose()


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in seed_module.TABLES
        }


def test_default_scale_counts_and_speed(default_seed: tuple[Engine, SeedSummary]) -> None:
    engine, summary = default_seed
    assert (summary.users, summary.items, summary.orders) == (1000, 10_000, 5_000)
    assert summary.notifications == 5_000
    assert 5_000 <= summary.order_items <= 25_000
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in seed_module.TABLES}
    assert counts == {
        "users": 1000,
        "items": 10_000,
        "orders": 5_000,
        "order_items": summary.order_items,
        "notifications": 5_000,
    }
    print(f"seeding 1000 users / 10000 items / 5000 orders took {summary.seconds:.2f} s")
    assert summary.seconds < 15


def test_load_users_can_log_in(default_seed: tuple[Engine, SeedSummary]) -> None:
    engine, _ = default_seed
    with engine.connect() as conn:
        for index in (0, 999):
            hashed = conn.execute(
                text("SELECT hashed_password FROM users WHERE email = :e"), {"e": load_user_email(index)}
            ).scalar_one()
            assert verify_password(LOAD_USER_PASSWORD, hashed)
        assert not verify_password("wrong-password", hashed)


def test_orders_are_consistent(default_seed: tuple[Engine, SeedSummary]) -> None:
    engine, _ = default_seed
    with engine.connect() as conn:
        bad_totals = conn.execute(
            text(
                "SELECT count(*) FROM orders o JOIN (SELECT order_id, sum(quantity * unit_price) AS s "
                "FROM order_items GROUP BY order_id) l ON l.order_id = o.id WHERE o.total <> l.s"
            )
        ).scalar()
        bad_prices = conn.execute(
            text("SELECT count(*) FROM order_items l JOIN items i ON i.id = l.item_id WHERE l.unit_price <> i.price")
        ).scalar()
        line_counts = conn.execute(
            text("SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM order_items GROUP BY order_id) c")
        ).one()
        orphans = conn.execute(
            text("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items WHERE order_id = o.id)")
        ).scalar()
        wrong_recipient = conn.execute(
            text(
                "SELECT count(*) FROM notifications n JOIN orders o ON o.id = n.order_id "
                "JOIN users u ON u.id = o.user_id WHERE n.recipient <> u.email"
            )
        ).scalar()
        prices = conn.execute(text("SELECT min(price), max(price), min(stock) FROM items")).one()
    assert (bad_totals, bad_prices, orphans, wrong_recipient) == (0, 0, 0, 0)
    assert tuple(line_counts) == (1, 5)
    min_price, max_price, min_stock = prices
    assert 1 <= min_price <= max_price <= 500
    assert min_stock >= 10_000


def test_sequences_continue_after_seed(default_seed: tuple[Engine, SeedSummary]) -> None:
    engine, _ = default_seed
    with engine.connect() as conn, conn.begin() as transaction:
        user_id = conn.execute(
            insert(User).values(email="new@example.com", hashed_password="x").returning(User.id)
        ).scalar_one()
        item_id = conn.execute(insert(Item).values(name="New", price=1, stock=1).returning(Item.id)).scalar_one()
        order_id = conn.execute(insert(Order).values(user_id=user_id, total=0).returning(Order.id)).scalar_one()
        transaction.rollback()  # the shared seeded database stays as seeded
    assert (user_id, item_id, order_id) == (1001, 10_001, 5_001)


def test_same_seed_same_data_other_seed_other_data(new_db: Callable[..., str]) -> None:
    first, second, other = (_engine(new_db(migrated=True)) for _ in range(3))
    try:
        seed(first.url.render_as_string(hide_password=False), **SMALL)
        seed(second.url.render_as_string(hide_password=False), **SMALL)
        seed(other.url.render_as_string(hide_password=False), **SMALL, rng_seed=7)
        first_dump = _dump(first)
        second_dump = _dump(second)
        # Password hashes are salted, so they differ; everything else, timestamps included, is identical.
        for dump in (first_dump, second_dump):
            dump["users"] = [row[:2] + row[3:] for row in dump["users"]]
        assert first_dump == second_dump
        assert len(first_dump["items"]) == SMALL["items"]
        assert _dump(other)["items"] != first_dump["items"]

        # Seeding again replaces the rows rather than adding to them.
        seed(first.url.render_as_string(hide_password=False), **SMALL)
        again = _dump(first)
        again["users"] = [row[:2] + row[3:] for row in again["users"]]
        assert again == first_dump
    finally:
        for engine in (first, second, other):
            engine.dispose()


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="users must be >= 0"):
        seed("postgresql://unused@127.0.0.1:1/x", users=-1)
    with pytest.raises(ValueError, match="at least one user"):
        seed("postgresql://unused@127.0.0.1:1/x", users=0)
    for argv, flag in (
        (["--users", "-5"], "--users"),
        (["--items", "ten"], "--items"),
        (["--orders", "1.5"], "--orders"),
        (["--seed", "x"], "--seed"),
    ):
        with pytest.raises(SystemExit) as info:
            seed_module.main(argv)
        assert info.value.code == 2
        assert f"argument {flag}" in capsys.readouterr().err


def test_cli(new_db: Callable[..., str], capsys: pytest.CaptureFixture[str]) -> None:
    url = new_db(migrated=True)
    assert seed_module.main(["--database-url", url, "--users", "3", "--items", "10", "--orders", "4"]) == 0
    out = capsys.readouterr().out
    assert "seeded 3 users, 10 items, 4 orders" in out
    assert seed_module.main(["--database-url", "postgresql://nobody@127.0.0.1:1/none", "--orders", "0"]) == 1
    assert "seeding failed" in capsys.readouterr().err


def test_load_user_email_scheme() -> None:
    assert load_user_email(0) == "user00000@example.com"
    assert load_user_email(42) == "user00042@example.com"
