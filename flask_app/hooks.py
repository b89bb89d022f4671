"""Per-request hooks: the X-Process-Time header and the request body size limit."""

from __future__ import annotations

import time

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
