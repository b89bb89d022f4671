"""FIFO admission to the pool: arrival order, the pool's timeout as a 503 error, release once, from any thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from fastapi_app.admission import ADMISSION_KEY, AdmittedSession, DbAdmission


def test_waiters_are_admitted_in_arrival_order() -> None:
    async def scenario() -> list[int]:
        admission = DbAdmission(1, timeout_s=5)
        first = await admission.admit()
        order: list[int] = []

        async def waiter(i: int) -> None:
            admitted = await admission.admit()
            order.append(i)
            admitted.release()

        tasks = [asyncio.create_task(waiter(i)) for i in range(5)]
        await asyncio.sleep(0)  # all five queue behind the held place, in this order
        first.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]


def test_a_request_that_waits_past_the_pool_timeout_gets_the_pools_timeout_error() -> None:
    async def scenario() -> None:
        admission = DbAdmission(1, timeout_s=0.05)
        await admission.admit()
        with pytest.raises(PoolTimeoutError, match=r"no database connection free within 0\.05 s"):
            await admission.admit()

    asyncio.run(scenario())


def test_closing_the_session_frees_the_place_once_even_from_a_worker_thread() -> None:
    async def scenario() -> bool:
        admission = DbAdmission(1, timeout_s=5)
        admitted = await admission.admit()
        session = AdmittedSession(info={ADMISSION_KEY: admitted})
        # A sync view closes its session early, in a threadpool thread (the shipping quote).
        closer = threading.Thread(target=session.close)
        closer.start()
        closer.join()
        nxt = await asyncio.wait_for(admission.admit(), timeout=1)  # the place came back through the loop
        session.close()  # the dependency's own close at the end of the request: no second release
        admitted.release()
        nxt.release()
        await admission.admit()  # one place, held again
        return admission._slots.locked()

    assert asyncio.run(scenario())
