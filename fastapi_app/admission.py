"""FIFO admission to the database: at most as many requests hold a session as the pool has connections."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from types import TracebackType

from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shared_models.settings import AppSettings


def db_admission(settings: AppSettings) -> AbstractAsyncContextManager[None]:
    """The app's admission to its pool: FIFO and pool-sized, or none when the settings turn it off."""
    if not settings.db_fifo_admission:
        return nullcontext()
    return DbAdmission(settings.db_pool_size + settings.db_max_overflow, settings.db_pool_timeout_s)


class DbAdmission:
    """An async context manager that admits requests to the pool in arrival order, with the pool's timeout."""

    # Why: uvicorn accepts every request at once, and SQLAlchemy's async pool queue lets a newly arrived request
    # take a returned connection before the waiter it woke runs (barging), so under more requests than
    # connections some wait several turns. asyncio.Semaphore is FIFO (a new arrival queues behind waiters).
    # The sync variant needs it for another reason: its views wait for a connection while holding a threadpool
    # token, and FastAPI validates a `def` view's response in the threadpool while the session still holds its
    # connection, so with every token held by waiting views nothing returns a connection (a deadlock that
    # answered nothing at 128 users until the pool timeout). Admitted first, a view never waits for a connection.
    __slots__ = ("_slots", "_timeout_s")

    def __init__(self, connections: int, timeout_s: float) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._timeout_s = timeout_s

    async def __aenter__(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot and nobody waiting: returns without suspending
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            # The pool's own timeout error, so the app's outage handler answers 503 as for a pool timeout.
            raise PoolTimeoutError(f"no database connection free within {self._timeout_s:g} s") from None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._slots.release()
