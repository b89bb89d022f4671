"""The shipping carrier upstream: one shared httpx.Client per worker process."""

from __future__ import annotations

import atexit
import threading

import httpx
import structlog
from flask import Flask, current_app
from pydantic import ValidationError

from flask_app.config import get_settings
from shared_models.exceptions import CarrierUnavailableError
from shared_models.models import Item
from shared_models.schemas import CarrierQuote, ShippingQuote

_EXTENSION = "carrier"
_log = structlog.get_logger(__name__)


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


def fetch_shipping_quote(client: httpx.Client, *, carrier_url: str, item: Item, zip_code: str) -> ShippingQuote:
    """Ask the carrier for a quote; CarrierUnavailableError on any failure, timeout or unexpected reply."""
    try:
        reply = client.get(
            f"{carrier_url.rstrip('/')}/quote",
            params={"zip": zip_code, "item_id": item.id, "price": str(item.price)},
        )
        if reply.status_code == 200:
            quote = CarrierQuote.model_validate_json(reply.content)
            return ShippingQuote(
                item_id=item.id, zip=zip_code, carrier=quote.carrier, cost=quote.cost, eta_days=quote.eta_days
            )
        error = f"HTTP {reply.status_code}"
    except (httpx.HTTPError, ValidationError) as exc:
        error = repr(exc)
    _log.warning("carrier_unavailable", error=error, item_id=item.id)
    raise CarrierUnavailableError()
