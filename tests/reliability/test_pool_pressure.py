"""More concurrent requests than pool connections and threads: every request is answered, none waits forever.

FastAPI validates a `def` view's response in the threadpool while the request's session still holds its
connection; with every threadpool token held by views waiting for a connection, nothing would return one (a
deadlock that answers nothing until the pool timeout). Both FastAPI apps admit requests to the pool first, in
arrival order (fastapi_app/admission.py). Every setup must drain a burst far larger than the pool (2 connections)
and the threadpool (40 tokens) with 200s only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench.drive.carrier_stub import CarrierStub
from bench.drive.servers import SETUPS, RunningServer, ServerConfig

from .helpers import SERVER_ENV

CLIENTS = 128  # concurrent keep-alive clients: 64× the pool, 3× anyio's default threadpool
REQUESTS = 10  # each, back to back (a burst of fresh connections did not reach the deadlock; this does, admission off)
# A deadlock shows as 503s after this pool timeout instead of a hang until the client's timeout. It must exceed
# the whole burst's duration (~1-4 s on a busy 2-core CI machine): SQLAlchemy's pool queue lets a thread that
# returns a connection take it again before the woken waiter runs, so one gthread request can wait for most of
# the burst. At 3 s, CI saw 11 of 1,280 Flask requests answer 503 that way, which is overload, not a deadlock.
POOL_TIMEOUT_S = "15"
CLIENT_TIMEOUT_S = 60  # above the pool timeout, so a deadlock is reported as 503s rather than a client error
SETUP_NAMES = ["fastapi-uvicorn", "fastapi-uvicorn-sync", "flask-gunicorn-gthread"]


@pytest.mark.parametrize("setup", SETUP_NAMES)
def test_a_burst_larger_than_pool_and_threadpool_is_answered(
    setup: str,
    fresh_db: Callable[[], str],
    carrier: CarrierStub,
    own_servers: list[RunningServer],
    tmp_path: Path,
) -> None:
    config = ServerConfig(
        setup=SETUPS[setup], database_url=fresh_db(), carrier_url=carrier.url, workers=1, threads=64,
        pool_budget=2, app_env={**SERVER_ENV, "DB_POOL_TIMEOUT_S": POOL_TIMEOUT_S},
    )  # fmt: skip
    server = RunningServer(config, log_dir=tmp_path)
    own_servers.append(server)
    server.start()

    def client(i: int) -> Counter[int]:
        with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT_S) as http:
            return Counter(http.get(f"/items/{1 + (i + k) % 50}").status_code for k in range(REQUESTS))

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        statuses = sum(pool.map(client, range(CLIENTS)), Counter[int]())
    assert statuses == Counter({200: CLIENTS * REQUESTS}), f"{setup}: {dict(statuses)}\n{server.log_tail(30)}"
