"""Client for the shipping carrier upstream."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import httpx
from pydantic import BaseModel, Field, ValidationError

from shared_models.exceptions import DomainError
from shared_models.models import Item
from shared_models.schemas import ShippingQuote


class CarrierUnavailableError(DomainError):
    """The carrier failed, timed out or answered something other than a quote."""

    status_code = 502

    def __init__(self) -> None:
        super().__init__("Carrier unavailable")


class _CarrierQuote(BaseModel):
    # Whatever the upstream sends must still serialise as a JSON number: no Infinity/NaN, no negatives.
    carrier: str
    cost: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    eta_days: int


async def fetch_shipping_quote(
    client: httpx.AsyncClient, *, carrier_url: str, item: Item, zip_code: str
) -> ShippingQuote:
    """Ask the carrier for a quote; raise CarrierUnavailableError on any failure."""
    params = {"zip": zip_code, "item_id": str(item.id), "price": str(item.price)}
    try:
        response = await client.get(f"{carrier_url.rstrip('/')}/quote", params=params)
        if response.status_code != httpx.codes.OK:
            raise CarrierUnavailableError
        quote = _CarrierQuote.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise CarrierUnavailableError from exc
    return ShippingQuote(item_id=item.id, zip=zip_code, carrier=quote.carrier, cost=quote.cost, eta_days=quote.eta_days)
