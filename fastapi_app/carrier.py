"""Client for the shipping carrier upstream."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from shared_models.exceptions import CarrierUnavailableError
from shared_models.models import Item
from shared_models.schemas import CarrierQuote, ShippingQuote


async def fetch_shipping_quote(
    client: httpx.AsyncClient, *, carrier_url: str, item: Item, zip_code: str
) -> ShippingQuote:
    """Ask the carrier for a quote; raise CarrierUnavailableError on any failure."""
    params = {"zip": zip_code, "item_id": str(item.id), "price": str(item.price)}
    try:
        response = await client.get(f"{carrier_url.rstrip('/')}/quote", params=params)
        if response.status_code != httpx.codes.OK:
            raise CarrierUnavailableError
        quote = CarrierQuote.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise CarrierUnavailableError from exc
    return ShippingQuote(item_id=item.id, zip=zip_code, carrier=quote.carrier, cost=quote.cost, eta_days=quote.eta_days)
