"""The item catalogue and shipping quotes. Plain `def` views (fastapi_app/routes/items.py is the async twin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.orm import Session

from fastapi_app.deps import SettingsDep
from fastapi_app.docs import ITEM_NOT_FOUND, UNAUTHORIZED, UNPARSABLE_BODY
from fastapi_app.routes.items import ItemId
from fastapi_app.sync.deps import CarrierClientDep, CurrentUser, SessionDep
from shared_models import crud
from shared_models.carrier import fetch_shipping_quote
from shared_models.models import Item
from shared_models.schemas import (
    ItemCreate,
    ItemPublic,
    ItemsPublic,
    ItemsQuery,
    ItemUpdate,
    Message,
    ShippingQuote,
    ShippingQuoteQuery,
)

router = APIRouter()


def _get_item_or_404(session: Session, item_id: int) -> Item:
    item = crud.get_item(session=session, item_id=item_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
    return item


@router.get("/items", response_model=ItemsPublic, summary="List items", tags=["items"])
def read_items(session: SessionDep, query: Annotated[ItemsQuery, Query()]) -> Any:
    """List items ordered by id, optionally filtered by a case-insensitive name substring."""
    items, count = crud.list_items(session=session, skip=query.skip, limit=query.limit, q=query.q)
    return ItemsPublic(data=items, count=count)


@router.post(
    "/items",
    response_model=ItemPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an item",
    tags=["items"],
    responses={**UNAUTHORIZED, **UNPARSABLE_BODY},
)
def create_item(session: SessionDep, _current_user: CurrentUser, item_in: ItemCreate) -> Any:
    """Add an item to the catalogue."""
    return crud.create_item(session=session, item_in=item_in)


@router.get(
    "/items/{item_id}", response_model=ItemPublic, summary="Read an item", tags=["items"], responses=ITEM_NOT_FOUND
)
def read_item(session: SessionDep, item_id: ItemId) -> Any:
    """Return one item."""
    return _get_item_or_404(session, item_id)


@router.patch(
    "/items/{item_id}",
    response_model=ItemPublic,
    summary="Update an item",
    tags=["items"],
    responses={**UNAUTHORIZED, **ITEM_NOT_FOUND, **UNPARSABLE_BODY},
)
def update_item(session: SessionDep, _current_user: CurrentUser, item_id: ItemId, item_in: ItemUpdate) -> Any:
    """Change the fields present in the body; omitted fields keep their values."""
    return crud.update_item(session=session, item=_get_item_or_404(session, item_id), item_in=item_in)


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an item",
    tags=["items"],
    responses={
        **UNAUTHORIZED,
        **ITEM_NOT_FOUND,
        status.HTTP_409_CONFLICT: {"model": Message, "description": "Item is referenced by orders"},
    },
)
def delete_item(session: SessionDep, _current_user: CurrentUser, item_id: ItemId) -> None:
    """Delete an item that no order refers to."""
    crud.delete_item(session=session, item=_get_item_or_404(session, item_id))


@router.get(
    "/items/{item_id}/shipping-quote",
    response_model=ShippingQuote,
    summary="Quote shipping for an item",
    tags=["items"],
    responses={
        **ITEM_NOT_FOUND,
        status.HTTP_502_BAD_GATEWAY: {"model": Message, "description": "Carrier unavailable"},
    },
)
def read_shipping_quote(
    session: SessionDep,
    client: CarrierClientDep,
    settings: SettingsDep,
    item_id: ItemId,
    query: Annotated[ShippingQuoteQuery, Query()],
) -> Any:
    """Ask the carrier what shipping this item to a ZIP code costs."""
    item = _get_item_or_404(session, item_id)
    # Hand the pooled connection back before waiting on the carrier: the item is all this request needs.
    session.close()
    return fetch_shipping_quote(client, carrier_url=str(settings.carrier_url), item=item, zip_code=query.zip)
