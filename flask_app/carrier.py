"""The shipping carrier upstream: one urllib3 pool per worker process (shared_models.carrier says why urllib3)."""

from __future__ import annotations

import urllib3
from flask import Flask, current_app

from flask_app.config import get_settings
from shared_models.carrier import carrier_pool

_EXTENSION = "carrier"


def init_app(app: Flask) -> None:
    """Attach the carrier pool to `app`; it opens no connection until first use, so it is safe before a fork."""
    settings = get_settings(app)
    app.extensions[_EXTENSION] = carrier_pool(
        timeout_s=settings.carrier_timeout_s, max_connections=settings.carrier_max_connections
    )


def get_client() -> urllib3.PoolManager:
    """Return this process's carrier pool."""
    pool: urllib3.PoolManager = current_app.extensions[_EXTENSION]
    return pool
