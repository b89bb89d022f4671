"""The request's session scope: closed before the response is sent, on errors too, once, and never a 500 by itself."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from fastapi_app.admission import ADMISSION_KEY, AdmittedAsyncSession, DbAdmission
from fastapi_app.session_scope import SESSIONS_KEY, SessionScopeMiddleware, close_async_sessions, register
from fastapi_app.sync.closer import SessionCloser, close_sessions

_HTTP: Scope = {"type": "http", "method": "GET", "path": "/items/1", "headers": []}


class _Recorded:
    """Sessions that record their close into a shared event log."""

    def __init__(self, events: list[str], name: str) -> None:
        self.events = events
        self.name = name

    async def close(self) -> None:
        """Log the close."""
        self.events.append(f"close {self.name}")


def _middleware(app: Any) -> SessionScopeMiddleware:
    async def close(_scope: Scope, sessions: list[Any]) -> None:
        for session in sessions:
            await session.close()

    return SessionScopeMiddleware(app, close=close)


def _serve(middleware: SessionScopeMiddleware, events: list[str], scope: Scope | None = None) -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        events.append(message["type"])

    asyncio.run(middleware(dict(scope or _HTTP), receive, send))


def test_every_registered_session_closes_once_before_the_response_starts() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        register(scope, _Recorded(events, "view"))
        register(scope, _Recorded(events, "auth"))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    _serve(_middleware(app), events)
    # Closed before the status line leaves (as Flask's teardown), and not again when the request ends.
    assert events == ["close view", "close auth", "http.response.start", "http.response.body"]


def test_a_request_that_fails_before_answering_still_closes_its_session() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        register(scope, _Recorded(events, "view"))
        raise RuntimeError("view failed")  # answered by ServerErrorMiddleware, outside this one

    with pytest.raises(RuntimeError, match="view failed"):
        _serve(_middleware(app), events)
    assert events == ["close view"]


def test_a_request_without_a_session_and_a_lifespan_scope_pass_straight_through() -> None:
    events: list[str] = []
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})

    _serve(_middleware(app), events)
    _serve(_middleware(app), events, {"type": "lifespan"})
    assert events == ["http.response.start"]
    assert seen[0][SESSIONS_KEY] == []
    assert SESSIONS_KEY not in seen[1]


def test_register_without_the_middleware_names_it() -> None:
    with pytest.raises(RuntimeError, match="SessionScopeMiddleware"):
        register({"type": "http"}, object())


class _FailingClose(AdmittedAsyncSession):
    """A session whose close fails as it does when the database went away mid-request."""

    async def close(self) -> None:
        """Fail inside the admitted close, after which the place must still come back."""
        try:
            raise ConnectionResetError("server closed the connection")
        finally:
            await super().close()


def test_a_failed_close_is_logged_gives_the_place_back_and_lets_the_response_out() -> None:
    async def scenario() -> list[str]:
        admission = DbAdmission(1, timeout_s=5)
        events: list[str] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            admitted = await admission.admit()
            register(scope, _FailingClose(info={ADMISSION_KEY: admitted}))
            await send({"type": "http.response.start", "status": 200, "headers": []})

        async def send(message: Message) -> None:
            events.append(message["type"])

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await SessionScopeMiddleware(app, close=close_async_sessions)(dict(_HTTP), receive, send)
        # The one place is free again (a TimeoutError here would mean the failed close kept it).
        (await asyncio.wait_for(admission.admit(), timeout=1)).release()
        return events

    with structlog.testing.capture_logs() as logs:
        events = asyncio.run(scenario())
    assert events == ["http.response.start"]
    assert [entry["event"] for entry in logs] == ["session close failed"]
    assert "server closed the connection" in logs[0]["error"]


def test_the_sync_variant_hands_its_sessions_to_the_apps_closer_without_waiting() -> None:
    closed: list[Session] = []

    class _Closer(SessionCloser):
        def close(self, session: Session) -> None:
            closed.append(session)

    session = Session()
    app = SimpleNamespace(state=SimpleNamespace(session_closer=_Closer(threads=1)))
    asyncio.run(close_sessions({"type": "http", "app": app}, [session]))
    assert closed == [session]
