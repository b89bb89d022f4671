"""The sync variant's session closer: off the request path, on its own threads, never losing an admission place."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import MutableMapping
from typing import Any

import pytest
import structlog
from sqlalchemy.orm import Session

from fastapi_app.admission import ADMISSION_KEY, AdmittedSession, DbAdmission
from fastapi_app.sync.closer import SessionCloser


class _SlowSession(Session):
    """A session whose close waits for the test's go-ahead and records the thread it ran on."""

    def __init__(self, go: threading.Event) -> None:
        super().__init__()
        self.go = go
        self.closed_on = ""

    def close(self) -> None:
        """Block until released, then close."""
        assert self.go.wait(timeout=5)
        self.closed_on = threading.current_thread().name
        super().close()


def test_close_returns_at_once_and_shutdown_waits_for_the_close_on_a_closer_thread() -> None:
    closer = SessionCloser(threads=2)
    go = threading.Event()
    session = _SlowSession(go)
    closer.close(session)  # would block the test (and the event loop) if it closed inline
    assert session.closed_on == ""
    go.set()
    closer.shutdown()
    assert session.closed_on.startswith("session-close")


def test_after_shutdown_a_close_happens_inline() -> None:
    closer = SessionCloser(threads=1)
    closer.shutdown()
    go = threading.Event()
    go.set()
    session = _SlowSession(go)
    closer.close(session)
    assert session.closed_on == threading.current_thread().name


def test_a_failing_close_is_logged_and_still_gives_the_admission_place_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def lost_connection(self: Session) -> None:
        raise ConnectionResetError("server closed the connection unexpectedly")

    async def scenario() -> list[MutableMapping[str, Any]]:
        admission = DbAdmission(1, timeout_s=5)
        admitted = await admission.admit()
        session = AdmittedSession(info={ADMISSION_KEY: admitted})
        closer = SessionCloser(threads=1)
        with structlog.testing.capture_logs() as logs:
            monkeypatch.setattr(Session, "close", lost_connection)
            closer.close(session)
            closer.shutdown()
        await asyncio.wait_for(admission.admit(), timeout=1)  # the place came back despite the failure
        return logs

    logs = asyncio.run(scenario())
    assert [(e["event"], e["log_level"]) for e in logs] == [("session close failed", "warning")]
    assert "server closed the connection unexpectedly" in str(logs[0]["error"])
