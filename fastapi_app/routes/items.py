"""The item catalogue and shipping quotes."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_app import crud
from fastapi_app.carrier import fetch_shipping_quote
from fastapi_app.deps import CarrierClientDep, CurrentUser, SessionDep, SettingsDep
from fastapi_app.docs import ITEM_NOT_FOUND, UNAUTHORIZED, UNPARSABLE_BODY
from shared_models.models import Item
from shared_models.schemas import (
    INT32_MAX,
    ItemCreate,
    ItemPublic,
    ItemsPublic,
    ItemsQuery,
    ItemUpdate,
    Message,
    ShippingQuote,
    ShippingQuoteQuery,
)

router = APIRouter(prefix="/items", tags=["items"])

ItemId = Annotated[int, Path(ge=1, le=INT32_MAX)]


async def _get_item_or_404(session: AsyncSession, item_id: int) -> Item:
    item = await crud.get_item(session=session, item_id=item_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
    return item


@router.get("", response_model=ItemsPublic, summary="List items")
async def read_items(session: SessionDep, query: Annotated[ItemsQuery, Query()]) -> Any:
    """List items ordered by id, optionally filtered by a case-insensitive name substring."""
    items, count = await crud.list_items(session=session, skip=query.skip, limit=query.limit, q=query.q)
    return ItemsPublic(data=items, count=count)


@router.post(
    "",
    response_model=ItemPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an item",
    responses={**UNAUTHORIZED, **UNPARSABLE_BODY},
)
async def create_item(session: SessionDep, _current_user: CurrentUser, item_in: ItemCreate) -> Any:
    """Add an item to the catalogue."""
    return await crud.create_item(session=session, item_in=item_in)


@router.get("/{item_id}", response_model=ItemPublic, summary="Read an item", responses=ITEM_NOT_FOUND)
async def read_item(session: SessionDep, item_id: ItemId) -> Any:
    """Return one item."""
    return await _get_item_or_404(session, item_id)


@router.patch(
    "/{item_id}",
    response_model=ItemPublic,
    summary="Update an item",
    responses={**UNAUTHORIZED, **ITEM_NOT_FOUND, **UNPARSABLE_BODY},
)
async def update_item(session: SessionDep, _current_user: CurrentUser, item_id: ItemId, item_in: ItemUpdate) -> Any:
    """Change the fields present in the body; omitted fields keep their values."""
    item = await _get_item_or_404(session, item_id)
    return await crud.update_item(session=session, item=item, item_in=item_in)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an item",
    responses={
        **UNAUTHORIZED,
        **ITEM_NOT_FOUND,
        status.HTTP_409_CONFLICT: {"model": Message, "description": "Item is referenced by orders"},
    },
)
async def delete_item(session: SessionDep, _current_user: CurrentUser, item_id: ItemId) -> None:
    """Delete an item that no order refers to."""
    item = await _get_item_or_404(session, item_id)
    await crud.delete_item(session=session, item=item)


@router.get(
    "/{item_id}/shipping-quote",
    response_model=ShippingQuote,
    summary="Quote shipping for an item",
    responses={
        **ITEM_NOT_FOUND,
        status.HTTP_502_BAD_GATEWAY: {"model": Message, "description": "Carrier unavailable"},
    },
)
async def read_shipping_quote(
    session: SessionDep,
    client: CarrierClientDep,
    settings: SettingsDep,
    item_id: ItemId,
    query: Annotated[ShippingQuoteQuery, Query()],
) -> Any:
    """Ask the carrier what shipping this item to a ZIP code costs."""
    item = await _get_item_or_404(session, item_id)
    # Hand the pooled connection back before waiting on the carrier: the item is all this request needs.
    await session.close()
    return await fetch_shipping_quote(client, carrier_url=str(settings.carrier_url), item=item, zip_code=query.zip)
