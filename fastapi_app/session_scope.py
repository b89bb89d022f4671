"""A request's database sessions: opened on first use by SessionDep, closed once the response is built.

The lifecycle of Flask's session on `g` with its teardown (flask_app/db.py), in both FastAPI apps: the
dependency is a plain `async def` that registers the session with the request, and this middleware closes what
was registered when the response starts (as the `scope="function"` `yield` dependency it replaces did, so a
finished request does not hold its connection while it waits to send), or when the request ends without one
(an error answered further out, a client gone). Why not the `yield` dependency: FastAPI 0.165 enters one through
two nested async context managers, an exit stack and an anyio cancel scope; the sync variant paid that plus a
hop back to the loop, and measured 0.81x its minimal app with it, 0.86x with this (paired wrk, README "Request
path"). The async app measured the same either way (0.84x), and keeps the one mechanism so that the two FastAPI
apps differ by their driver only, which the report's driver effect assumes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = structlog.get_logger(__name__)

SESSIONS_KEY = "fastapi_app.sessions"  # the request's open sessions, in the ASGI scope

_S = TypeVar("_S")
CloseSessions = Callable[[Scope, list[Any]], Awaitable[None]]


class SessionScopeMiddleware:
    """Close every session the request registered, before its response goes out."""

    def __init__(self, app: ASGIApp, *, close: CloseSessions) -> None:
        self.app = app
        self.close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        opened: list[Any] = []
        scope[SESSIONS_KEY] = opened

        async def close_then_send(message: Message) -> None:
            if opened and message["type"] == "http.response.start":
                await self._close(scope, opened)
            await send(message)

        try:
            await self.app(scope, receive, close_then_send)
        finally:
            if opened:
                await self._close(scope, opened)

    async def _close(self, scope: Scope, opened: list[Any]) -> None:
        sessions = opened[:]
        opened.clear()
        await self.close(scope, sessions)


def register(scope: Scope, session: _S) -> _S:
    """Have the request's SessionScopeMiddleware close this session; the session, for chaining."""
    try:
        opened: list[Any] = scope[SESSIONS_KEY]
    except KeyError:
        raise RuntimeError("SessionDep needs SessionScopeMiddleware on the app (fastapi_app.main._build)") from None
    opened.append(session)
    return session


async def close_async_sessions(_scope: Scope, sessions: list[AsyncSession]) -> None:
    """Close (roll back if still open) each session; a failed close is logged, and the response still goes out."""
    for session in sessions:
        try:
            await session.close()
        except Exception as exc:
            # The database is gone and SQLAlchemy has invalidated the connection. Why not raise: the response is
            # already built from what was read or committed; raising here would turn it into a 500 after
            # Starlette marked the response as started.
            logger.warning("session close failed", error=repr(exc))
