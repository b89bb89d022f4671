"""The carrier upstream call for the sync stacks (Flask, FastAPI's sync variant); fastapi_app/carrier.py is async.

httpx.Client: see docs/UPSTREAM_CLIENTS.md for the measurement that chose it.
"""

from __future__ import annotations

import httpx
import structlog
from pydantic import ValidationError

from shared_models.exceptions import CarrierUnavailableError
from shared_models.models import Item
from shared_models.schemas import CarrierQuote, ShippingQuote

_log = structlog.get_logger(__name__)


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
