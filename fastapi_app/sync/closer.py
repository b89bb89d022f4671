"""Closing a request's sync Session off the request path, on threads of its own."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import structlog
from sqlalchemy.orm import Session
from starlette.types import Scope

logger = structlog.get_logger(__name__)


class SessionCloser:
    """Closes sessions on its own threads once their response is built; waits for the last ones at shutdown."""

    # Why: closing returns the connection with a ROLLBACK, a round trip to the database that must not block the
    # event loop. Awaiting it in a thread cost every request one more loop -> thread -> loop handoff, a
    # plain-`def` FastAPI app's dearest step on one core (README, "request path"). Nothing in the response
    # depends on it: a write has committed in the view, and a read's transaction only has to end. The
    # session's admission place comes back when the close is done (AdmittedSession.close), so the next request
    # is let in once the connection is back in the pool, never before.
    __slots__ = ("_pool",)

    def __init__(self, threads: int) -> None:
        # As many threads as sessions can be open at once (the admission's places): a close never queues.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="session-close")

    def close(self, session: Session) -> None:
        """Close the session on a closer thread; returns at once (inline if the closer has shut down)."""
        try:
            self._pool.submit(session.close).add_done_callback(_log_failure)
        except RuntimeError:  # shut down: the app is stopping, so blocking the loop for one close is harmless
            session.close()

    def shutdown(self) -> None:
        """Wait for every pending close, so the engine is disposed with every connection back in its pool."""
        self._pool.shutdown(wait=True)


def _log_failure(done: Future[None]) -> None:
    # A close fails only when the database is gone; SQLAlchemy has invalidated the connection by then.
    if (exc := done.exception()) is not None:
        logger.warning("session close failed", error=repr(exc))


async def close_sessions(scope: Scope, sessions: list[Session]) -> None:
    """SessionScopeMiddleware's close for the sync variant: each session to the app's closer, without waiting."""
    closer: SessionCloser = scope["app"].state.session_closer
    for session in sessions:
        closer.close(session)
