"""Work after the response, Flask's counterpart of Starlette's BackgroundTasks.

The callable runs once the WSGI server has sent the body and closes the response, in the same worker,
inside a fresh app context (so `get_session()` gives it its own Session, closed at teardown).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ParamSpec

import structlog
from flask import Flask, Response, after_this_request, current_app

P = ParamSpec("P")

_log = structlog.get_logger(__name__)


def run_after_response(func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
    """Run `func(*args, **kwargs)` after this request's response has been sent; errors are logged."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    @after_this_request
    def _attach(response: Response) -> Response:
        response.call_on_close(partial(_run, app, partial(func, *args, **kwargs)))
        return response


def _run(app: Flask, task: partial[Any]) -> None:
    with app.app_context():
        try:
            task()
        except Exception:
            # Like BackgroundTasks the response is already sent; the failure can only be logged.
            _log.exception("background_task_failed", task=getattr(task.func, "__qualname__", repr(task.func)))
