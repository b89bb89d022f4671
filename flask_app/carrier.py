"""The shipping carrier upstream: one shared httpx.Client per worker process."""

from __future__ import annotations

import atexit
import threading

import httpx
from flask import Flask, current_app

from flask_app.config import get_settings

_EXTENSION = "carrier"


class _SharedClient:
    # Created on first use, so each gunicorn worker opens its own pool after the fork (even with --preload).
    def __init__(self, *, timeout: float, max_connections: int) -> None:
        self._timeout = timeout
        self._limits = httpx.Limits(max_connections=max_connections)
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(timeout=self._timeout, limits=self._limits)
                    atexit.register(self._client.close)
        return self._client


def init_app(app: Flask) -> None:
    """Attach the (lazily opened) shared carrier client to `app`."""
    settings = get_settings(app)
    app.extensions[_EXTENSION] = _SharedClient(
        timeout=settings.carrier_timeout_s, max_connections=settings.carrier_max_connections
    )


def get_client() -> httpx.Client:
    """Return this process's carrier client."""
    shared: _SharedClient = current_app.extensions[_EXTENSION]
    return shared.get()
