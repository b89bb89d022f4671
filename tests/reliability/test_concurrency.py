"""Scarce stock under real concurrency: no overselling, no lost lines, no deadlocks, one notification per order.

Each app runs under a multi-worker production server on its own fresh database (FastAPI: uvicorn, 2 workers;
Flask: gunicorn sync, 2 workers; and gunicorn gthread, 2 workers x 8 threads). Five items get a stock of 7; eight
users fire 200 orders at once from 25 threads (1-3 distinct items per order, 1-3 units per line), far more than
the 35 units in stock. Afterwards the database must balance exactly.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from bench.drive.carrier_stub import CarrierStub
from bench.drive.servers import Framework, RunningServer
from tests.support.api import get, http_client, scalar, seed_account, wait_for

from .helpers import execute, report, rows, server_config

ITEM_IDS = [11, 12, 13, 14, 15]
INITIAL_STOCK = 7
USERS = 8
ORDERS = 200
THREADS = 25
RNG_SEED = 20261125
REQUEST_TIMEOUT_S = 30


@dataclass
class Attempt:
    """One order request and what came back."""

    user: int
    lines: list[dict[str, int]]
    status: int = 0
    body: Any = None
    error: str | None = None


def _plan(rng: random.Random) -> list[Attempt]:
    attempts = []
    for n in range(ORDERS):
        items = rng.sample(ITEM_IDS, k=rng.randint(1, 3))
        attempts.append(
            Attempt(user=n % USERS, lines=[{"item_id": item, "quantity": rng.randint(1, 3)} for item in items])
        )
    return attempts


def _fire(base_url: str, tokens: list[str], attempts: list[Attempt]) -> float:
    """Send every attempt from THREADS threads at once (one httpx client per thread); return the seconds taken."""
    local = threading.local()
    clients: list[httpx.Client] = []
    clients_lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = http_client(base_url, REQUEST_TIMEOUT_S)
            with clients_lock:
                clients.append(local.client)
        return local.client  # type: ignore[no-any-return]

    def send(attempt: Attempt) -> None:
        try:
            response = client().post(
                "/orders", json={"lines": attempt.lines}, headers={"Authorization": f"Bearer {tokens[attempt.user]}"}
            )
            attempt.status = response.status_code
            attempt.body = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else response.text
            )
        except httpx.HTTPError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"

    def worker(share: list[Attempt]) -> None:
        client()
        start.wait(timeout=30)  # every thread has its connection ready, then all go together
        for attempt in share:
            send(attempt)

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(worker, attempts[i::THREADS]) for i in range(THREADS)]
            for future in futures:
                future.result()
    finally:
        for http in clients:
            http.close()
    return time.perf_counter() - began


def _run_scarce_stock(label: str, server: RunningServer, engine: Engine) -> None:
    # Scarce stock on five items; their prices for checking totals.
    execute(engine, "UPDATE items SET stock = :stock WHERE id = ANY(:ids)", stock=INITIAL_STOCK, ids=ITEM_IDS)
    prices = {
        row["id"]: row["price"]
        for row in rows(engine, "SELECT id, price FROM items WHERE id = ANY(:ids)", ids=ITEM_IDS)
    }
    assert len(prices) == len(ITEM_IDS)
    max_order_before = scalar(engine, "SELECT coalesce(max(id), 0) FROM orders")
    accounts = [seed_account(server.url, index) for index in range(USERS)]
    attempts = _plan(random.Random(RNG_SEED))

    seconds = _fire(server.url, [account.token for account in accounts], attempts)

    # Every request got an answer, and only the two the contract allows: no 5xx, no deadlock, no timeout.
    errors = [a.error for a in attempts if a.error]
    assert not errors, f"{len(errors)} requests failed: {errors[:5]}"
    statuses = Counter(a.status for a in attempts)
    assert set(statuses) <= {201, 409}, f"{statuses}: {[a.body for a in attempts if a.status not in (201, 409)][:5]}"
    created = [a for a in attempts if a.status == 201]
    refused = [a for a in attempts if a.status == 409]
    assert created, "no order succeeded"
    assert refused, "no order was refused: the stock was not scarce"

    # Each 201 body is the order as requested: lines in request order, unit prices and total right, right user.
    for attempt in created:
        body = attempt.body
        assert body["user_id"] == accounts[attempt.user].id
        assert body["status"] == "confirmed"
        assert [(line["item_id"], line["quantity"]) for line in body["lines"]] == [
            (line["item_id"], line["quantity"]) for line in attempt.lines
        ]
        assert all(Decimal(str(line["unit_price"])) == prices[line["item_id"]] for line in body["lines"])
        expected_total = sum(prices[line["item_id"]] * line["quantity"] for line in attempt.lines)
        assert Decimal(str(body["total"])) == expected_total
    # Each 409 names one of the items it asked for.
    for attempt in refused:
        requested = {line["item_id"] for line in attempt.lines}
        assert attempt.body["detail"] in {f"Insufficient stock for item {item}" for item in requested}, attempt.body

    # The database balances: remaining + sold == initial for every item, and nothing is negative.
    sold: Counter[int] = Counter()
    for attempt in created:
        for line in attempt.lines:
            sold[line["item_id"]] += line["quantity"]
    stock = {
        row["id"]: row["stock"]
        for row in rows(engine, "SELECT id, stock FROM items WHERE id = ANY(:ids)", ids=ITEM_IDS)
    }
    for item in ITEM_IDS:
        assert stock[item] >= 0, f"item {item} has negative stock {stock[item]}"
        assert stock[item] + sold[item] == INITIAL_STOCK, f"item {item}: {stock[item]} left + {sold[item]} sold"
    # Exactly one order row per 201 (a 409 wrote nothing), each with all of its lines.
    new_orders = rows(
        engine,
        "SELECT o.id, o.user_id, count(oi.id) AS lines, sum(oi.quantity) AS units FROM orders o "
        "JOIN order_items oi ON oi.order_id = o.id WHERE o.id > :before GROUP BY o.id",
        before=max_order_before,
    )
    assert scalar(engine, "SELECT count(*) FROM orders WHERE id > :before", before=max_order_before) == len(created)
    by_id = {row["id"]: row for row in new_orders}
    assert set(by_id) == {a.body["id"] for a in created}
    for attempt in created:
        row = by_id[attempt.body["id"]]
        assert row["lines"] == len(attempt.lines)
        assert row["units"] == sum(line["quantity"] for line in attempt.lines)
    # Exactly one notification per created order, written after the response (poll up to 5 s).
    order_ids = sorted(by_id)

    def notified() -> bool:
        count = scalar(engine, "SELECT count(*) FROM notifications WHERE order_id = ANY(:ids)", ids=order_ids)
        return bool(count == len(order_ids))

    assert wait_for(notified, timeout_s=5.0), "not every order got its notification within 5 s"
    notes = rows(
        engine,
        "SELECT n.order_id, n.recipient, n.message, u.email FROM notifications n "
        "JOIN orders o ON o.id = n.order_id JOIN users u ON u.id = o.user_id WHERE n.order_id = ANY(:ids)",
        ids=order_ids,
    )
    assert Counter(note["order_id"] for note in notes) == Counter(order_ids)  # one each, no duplicates
    for note in notes:
        assert note["recipient"] == note["email"]
        assert note["message"].startswith(f"Order {note['order_id']} confirmed: ")
    # No orphan notifications for orders that do not exist.
    assert (
        scalar(
            engine, "SELECT count(*) FROM notifications n LEFT JOIN orders o ON o.id = n.order_id WHERE o.id IS NULL"
        )
        == 0
    )

    # The server is healthy and logged no error (no deadlock, no failed notification, no traceback).
    assert get(f"{server.url}/health", timeout=5).status_code == 200
    log = server.log_path.read_text(errors="replace")
    for marker in ("Traceback", "deadlock", "notification_failed", "QueuePool limit"):
        assert marker not in log, f"{marker!r} in the server log:\n{server.log_tail(40)}"

    report(
        f"concurrency [{label}]: {USERS} users, {THREADS} client threads, {ORDERS} orders in {seconds:.2f} s -> "
        f"{len(created)} x 201 / {len(refused)} x 409; units sold {sum(sold.values())} of "
        f"{INITIAL_STOCK * len(ITEM_IDS)}; remaining stock {[stock[i] for i in ITEM_IDS]}"
    )


def test_scarce_stock_under_concurrency(
    framework: Framework,
    fresh_db: Callable[[], str],
    start_app: Callable[..., RunningServer],
    engine_for: Callable[[str], Engine],
) -> None:
    url = fresh_db()
    server = start_app(framework, database_url=url)
    assert len(server.tree()) >= 3, "expected a master and 2 workers"
    _run_scarce_stock(server.config.setup.name, server, engine_for(url))


def test_scarce_stock_under_concurrency_flask_gthread(
    fresh_db: Callable[[], str],
    carrier: CarrierStub,
    engine_for: Callable[[str], Engine],
    own_servers: list[RunningServer],
    tmp_path: Path,
) -> None:
    url = fresh_db()
    config = server_config(
        "flask", database_url=url, carrier_url=carrier.url, setup="flask-gunicorn-gthread", workers=2, threads=8
    )
    server = RunningServer(config, log_dir=tmp_path)
    own_servers.append(server)
    try:
        server.start()
        _run_scarce_stock("flask-gunicorn-gthread (2 workers x 8 threads)", server, engine_for(url))
    finally:
        server.stop()
