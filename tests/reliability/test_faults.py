"""Injected faults: PostgreSQL restarted under traffic, a slow carrier upstream, a dead carrier upstream.

The restart runs on a cluster of its own: the apps have no pool_pre_ping (as in production, they pay one 503 per
stale pooled connection after an outage, then reconnect), so restarting the session's cluster would hand the
servers of other tests a few of those 503s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import shared_models
from bench.drive.carrier_stub import CarrierStub
from bench.drive.postgres import EmbeddedPostgres, database_server
from bench.drive.servers import FRAMEWORKS, RunningServer
from shared_models.migrate import upgrade
from shared_models.seed import seed
from tests.support.api import get, http_client

from .helpers import describe, report

CLIENT_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.05
DOWN_S = 2.0
RECOVERY_BUDGET_S = 5.0
UNREACHABLE = {"status": "unhealthy", "version": shared_models.__version__, "database": "unreachable"}
CARRIER_UNAVAILABLE = {"detail": "Carrier unavailable"}


@dataclass(frozen=True)
class Probe:
    """One polled request: when it was sent and answered, and what came back."""

    framework: str
    path: str
    sent: float
    answered: float
    status: int | None  # None: no HTTP answer (connection error or timeout)
    body: Any
    error: str | None = None


class Poller:
    """Polls GET /health and GET /items/1 on several servers every 50 ms from background threads."""

    PATHS = ("/health", "/items/1")

    def __init__(self, servers: dict[str, RunningServer]) -> None:
        self.servers = servers
        self.probes: list[Probe] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(framework, path), daemon=True)
            for framework in servers
            for path in self.PATHS
        ]

    def _poll(self, framework: str, path: str) -> None:
        with http_client(self.servers[framework].url, CLIENT_TIMEOUT_S) as http:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    response = http.get(path)
                    try:
                        body: Any = response.json()
                    except ValueError:
                        body = response.text[:200]
                    probe = Probe(framework, path, sent, time.monotonic(), response.status_code, body)
                except httpx.HTTPError as exc:
                    probe = Probe(framework, path, sent, time.monotonic(), None, None, f"{type(exc).__name__}: {exc}")
                with self._lock:
                    self.probes.append(probe)
                self._stop.wait(POLL_INTERVAL_S)

    def __enter__(self) -> Poller:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT_S + 1)

    def of(self, framework: str, path: str | None = None) -> list[Probe]:
        with self._lock:
            return [p for p in self.probes if p.framework == framework and (path is None or p.path == path)]

    def recovered_at(self, framework: str, after: float) -> float | None:
        """When both paths first answered 200 for requests sent after `after`, and kept answering 200."""
        times = []
        for path in self.PATHS:
            probes = [p for p in self.of(framework, path) if p.sent >= after]
            failing = [p for p in probes if p.status != 200]
            last_failure = max((p.sent for p in failing), default=after)
            ok = [p for p in probes if p.status == 200 and p.sent >= last_failure]
            if not ok:
                return None
            times.append(min(p.answered for p in ok))
        return max(times)


@pytest.fixture
def own_cluster() -> Iterator[EmbeddedPostgres]:
    """A throwaway embedded PostgreSQL for the restart, with one seeded database per app."""
    with database_server() as pg:
        if not isinstance(pg, EmbeddedPostgres):
            pytest.skip("restarting PostgreSQL needs the embedded server; DATABASE_URL names an external one")
        yield pg


def test_postgres_restart_under_traffic(own_cluster: EmbeddedPostgres, start_app: Callable[..., RunningServer]) -> None:
    # Both apps on fresh databases, polled the whole time; one restart of the cluster hits both.
    servers = {}
    for framework in FRAMEWORKS:
        own_cluster.create_database(f"restart_{framework}")
        url = own_cluster.url_for(f"restart_{framework}")
        upgrade(url)
        seed(url, users=5, items=20, orders=0)
        servers[framework] = start_app(framework, database_url=url)
    with Poller(servers) as poller:
        time.sleep(0.5)  # a baseline of healthy answers
        down_at = time.monotonic()
        own_cluster.restart(down_s=DOWN_S)
        up_at = time.monotonic()  # PostgreSQL accepts connections again
        deadline = up_at + RECOVERY_BUDGET_S + 1
        while time.monotonic() < deadline and not all(poller.recovered_at(fw, up_at) for fw in servers):
            time.sleep(POLL_INTERVAL_S)
        time.sleep(0.3)  # a few answers after recovery, to check they stay healthy

    lines = []
    for framework in servers:
        probes = poller.of(framework)
        # Never a hang: every request got an HTTP answer within the client timeout (no connection errors either).
        no_answer = [p for p in probes if p.status is None]
        assert not no_answer, f"{framework}: requests without an answer: {no_answer[:3]}"
        assert max(p.answered - p.sent for p in probes) < CLIENT_TIMEOUT_S
        # Healthy before the restart.
        before = [p for p in probes if p.answered < down_at]
        assert before, f"{framework}: no probe before the restart"
        assert all(p.status == 200 for p in before), [p for p in before if p.status != 200][:3]
        # While down: /health says so with 503 and the contract body; item reads fail with a 5xx, never a 2xx/4xx.
        down = [p for p in probes if down_at <= p.sent and p.answered <= up_at]
        health_down = [p for p in down if p.path == "/health" and p.status != 200]
        assert health_down, f"{framework}: /health never reported the outage"
        assert all(p.status == 503 and p.body == UNREACHABLE for p in health_down), health_down[:3]
        items_down = [p for p in down if p.path == "/items/1" and p.status != 200]
        assert items_down, f"{framework}: no item request failed while the database was down"
        assert all(p.status is not None and 500 <= p.status < 600 for p in items_down), items_down[:3]
        # Back within the budget, and healthy from then on.
        recovered = poller.recovered_at(framework, up_at)
        assert recovered is not None, f"{framework}: not recovered; last probes {probes[-4:]}"
        recovery_s = recovered - up_at
        assert recovery_s < RECOVERY_BUDGET_S, f"{framework}: recovered after {recovery_s:.2f} s"
        lines.append(
            f"db restart [{servers[framework].config.setup.name}]: back to 200 {recovery_s:.2f} s after PostgreSQL "
            f"accepted connections ({(recovered - down_at):.2f} s after it went down for {DOWN_S:.0f} s); "
            f"{len(health_down)} x 503 /health, {len(items_down)} x {sorted({p.status for p in items_down})} /items/1"
        )
    for line in lines:
        report(line)
    # The servers' logs carry the outage, but every process is still there (no worker died for good).
    for framework, server in servers.items():
        assert len(server.tree()) >= 3, f"{framework}: workers missing after the restart"
        # Without pre-ping a worker that sat idle through the outage pays one 503 per stale pooled connection, then
        # reconnects: a few answers may still be 503, and the last ones are all 200.
        statuses = [get(f"{server.url}/health", timeout=5).status_code for _ in range(12)]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[-4:] == [200] * 4, statuses


# --- carrier upstream ------------------------------------------------------------------------------------
def _quote(base_url: str, item_id: int = 1) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = get(f"{base_url}/items/{item_id}/shipping-quote", params={"zip": "12345"}, timeout=10)
    return response, time.perf_counter() - started


def test_slow_carrier_is_502_within_budget_and_health_still_answers(
    live: RunningServer, carrier_reset: CarrierStub
) -> None:
    # The live servers give the carrier 1 s (CARRIER_TIMEOUT_S); it now takes 3 s.
    carrier_reset.configure(delay_ms=3000)
    outcome: dict[str, Any] = {}

    def slow_quote() -> None:
        outcome["response"], outcome["seconds"] = _quote(live.url)
        outcome["answered_at"] = time.monotonic()

    pending = threading.Thread(target=slow_quote)
    pending.start()
    try:
        time.sleep(0.3)  # the quote is now waiting on the carrier
        assert pending.is_alive(), "the quote answered before the carrier could have"
        health = get(f"{live.url}/health", timeout=5)
        health_answered_at = time.monotonic()
        item = get(f"{live.url}/items/2", timeout=5)
    finally:
        pending.join(timeout=15)
    assert health.status_code == 200, describe(health)
    assert item.status_code == 200, describe(item)
    # /health was answered while the quote still waited on the carrier: a pending upstream call does not block
    # the server (Flask's sync workers: the other worker answered).
    assert health_answered_at < outcome["answered_at"], "/health waited for the pending quote"
    response, seconds = outcome["response"], outcome["seconds"]
    assert response.status_code == 502, describe(response)
    assert response.json() == CARRIER_UNAVAILABLE
    assert 0.9 <= seconds < 2.5, f"502 after {seconds:.2f} s"


@pytest.mark.parametrize("status", [500, 404, 429, 503])
def test_carrier_error_status_is_502(live: RunningServer, carrier_reset: CarrierStub, status: int) -> None:
    carrier_reset.configure(delay_ms=0, status=status)
    response, seconds = _quote(live.url)
    assert response.status_code == 502, describe(response)
    assert response.json() == CARRIER_UNAVAILABLE
    assert seconds < 1.0
    # And it comes back as soon as the carrier does.
    carrier_reset.reset()
    response, _ = _quote(live.url)
    assert response.status_code == 200, describe(response)


def test_dead_carrier_is_502_fast(framework: str, start_app: Callable[..., RunningServer]) -> None:
    # Nothing listens on port 9 (discard): the connection is refused at once.
    server = start_app(framework, env={"CARRIER_URL": "http://127.0.0.1:9"})
    for item_id in (1, 2, 3):
        response, seconds = _quote(server.url, item_id)
        assert response.status_code == 502, describe(response)
        assert response.json() == CARRIER_UNAVAILABLE
        assert seconds < 1.0, f"502 after {seconds:.2f} s: it waited for the 1 s carrier timeout"
    # The item still has to exist first: an unknown item is 404 without asking the carrier.
    response, _ = _quote(server.url, 2_147_483_647)
    assert response.status_code == 404, describe(response)
    assert get(f"{server.url}/health", timeout=5).status_code == 200
