"""Per-request hooks: the X-Process-Time header, the request body size limit, and CORS only for cross-origin calls."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, Response, abort, g, request


def init_app(app: Flask) -> None:
    """Register the hooks; call this before anything else adds before_request hooks."""
    # One before_request hook rather than two: Flask re-checks every hook for a coroutine on each call.
    app.before_request(_start_request)
    app.after_request(_add_process_time)


def _start_request() -> None:
    g.request_started = time.perf_counter()
    # MAX_CONTENT_LENGTH only fires when a view reads the body; the contract's limit covers every route.
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)


def _add_process_time(response: Response) -> Response:
    # After-request hooks also run for error responses, so every response carries the header.
    started: float = g.get("request_started", time.perf_counter())
    response.headers["X-Process-Time"] = str(time.perf_counter() - started)
    return response


def cors_only_with_origin(app: Flask) -> None:
    """Run flask-cors's after-request hook only for requests that carry an Origin header.

    Without an Origin it adds nothing (always_send=False) but still evaluates its options and formats its log
    message for every response; a request without Origin is not a cross-origin browser call. Call right after
    CORS(app): its hook is the last one registered (error responses keep flask-cors's own wrapper).
    """
    hooks: list[Callable[[Response], Response]] = app.after_request_funcs.setdefault(None, [])  # type: ignore[assignment]
    cors_hook = hooks[-1]
    if cors_hook.__name__ != "cors_after_request":  # flask-cors changed how it registers: fail at start, not later
        raise RuntimeError(f"expected flask-cors's after-request hook last, found {cors_hook.__name__}")

    def cors_after_request_with_origin(response: Response) -> Response:
        return cors_hook(response) if request.environ.get("HTTP_ORIGIN") else response

    hooks[-1] = cors_after_request_with_origin
