"""FIFO admission to the database: at most as many requests hold a session as the pool has connections."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared_models.settings import AppSettings

ADMISSION_KEY = "admission"  # where a session's Admitted lives in Session.info


def db_admission(settings: AppSettings) -> DbAdmission | None:
    """The app's admission to its pool: FIFO and pool-sized, or None when the settings turn it off."""
    if not settings.db_fifo_admission:
        return None
    return DbAdmission(settings.db_pool_size + settings.db_max_overflow, settings.db_pool_timeout_s)


class Admitted:
    """One request's admission: released once, when its session closes or at the latest when the request ends."""

    __slots__ = ("_loop", "_released", "_slots", "_thread")

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots = slots
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._released = False

    def release(self) -> None:
        """Free the place for the next request in line (idempotent; callable from a threadpool thread)."""
        if self._released:
            return
        self._released = True
        if threading.get_ident() == self._thread:
            self._slots.release()
        else:  # a sync view closed its session in a worker thread: asyncio objects belong to the loop
            self._loop.call_soon_threadsafe(self._slots.release)


class DbAdmission:
    """Admits requests to the pool in arrival order, with the pool's own timeout."""

    # Why: uvicorn accepts every request at once, and SQLAlchemy's async pool queue lets a newly arrived request
    # take a returned connection before the waiter it woke runs (barging), so under more requests than
    # connections some wait several turns. asyncio.Semaphore is FIFO (a new arrival queues behind waiters).
    # The sync variant needs it for another reason: its views wait for a connection while holding a threadpool
    # token, and FastAPI validates a `def` view's response in the threadpool while the session still holds its
    # connection, so with every token held by waiting views nothing returns a connection (a deadlock that
    # answered nothing at 128 users until the pool timeout). Admitted first, a view never waits for a connection.
    # A place is held while the session is open, not for the whole request: a view that closes its session
    # before a slow upstream call (the shipping quote) lets the next request in, as it returns the connection.
    __slots__ = ("_slots", "_timeout_s")

    def __init__(self, connections: int, timeout_s: float) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._timeout_s = timeout_s

    async def admit(self) -> Admitted:
        """Wait for a place in arrival order; the pool's timeout error (→ 503) after the pool's timeout."""
        if not self._slots.locked():
            await self._slots.acquire()  # a free place and nobody waiting: returns without suspending
            return Admitted(self._slots)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            # The pool's own timeout error, so the app's outage handler answers 503 as for a pool timeout.
            raise PoolTimeoutError(f"no database connection free within {self._timeout_s:g} s") from None
        return Admitted(self._slots)


def _release(info: dict[object, object]) -> None:
    admitted = info.get(ADMISSION_KEY)
    if isinstance(admitted, Admitted):
        admitted.release()


class AdmittedAsyncSession(AsyncSession):
    """An AsyncSession that gives its request's admission back when it closes."""

    async def close(self) -> None:
        """Close, then free the admission place (the connection is back in the pool, or invalidated)."""
        try:
            await super().close()
        finally:
            _release(self.info)  # also when the close failed: a place lost per outage would starve the app


class AdmittedSession(Session):
    """A Session that gives its request's admission back when it closes (also from a threadpool thread)."""

    def close(self) -> None:
        """Close, then free the admission place (the connection is back in the pool, or invalidated)."""
        try:
            super().close()
        finally:
            _release(self.info)  # also when the close failed: a place lost per outage would starve the app
