"""/items: catalogue CRUD and shipping quotes."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from flask_app import carrier
from flask_app.auth import login_required
from flask_app.config import get_settings
from flask_app.db import get_session
from flask_app.responses import model_response, no_content
from flask_app.validation import validate
from shared_models import crud
from shared_models.carrier import fetch_shipping_quote
from shared_models.models import Item
from shared_models.schemas import (
    ItemCreate,
    ItemPublic,
    ItemsPublic,
    ItemsQuery,
    ItemUpdate,
    ShippingQuote,
    ShippingQuoteQuery,
)

bp = Blueprint("items", __name__, url_prefix="/items")


def _get_item_or_404(item_id: int) -> Item:
    item = crud.get_item(session=get_session(), item_id=item_id)
    if item is None:
        abort(404, description="Item not found")
    return item


@bp.get("")
@validate(query=ItemsQuery)
def list_items(query: ItemsQuery) -> Response:
    """List items by id, optionally those whose name contains `q`."""
    items, count = crud.list_items(session=get_session(), skip=query.skip, limit=query.limit, q=query.q)
    return model_response(ItemsPublic, {"data": items, "count": count})


@bp.post("")
@login_required
@validate(body=ItemCreate)
def create_item(body: ItemCreate) -> Response:
    """Add an item to the catalogue."""
    item = crud.create_item(session=get_session(), item_in=body)
    return model_response(ItemPublic, item, status=201)


@bp.get("/<item_id>")
@validate(path=("item_id",))
def get_item(item_id: int) -> Response:
    """Return one item."""
    return model_response(ItemPublic, _get_item_or_404(item_id))


@bp.patch("/<item_id>")
@login_required
@validate(path=("item_id",), body=ItemUpdate)
def update_item(item_id: int, body: ItemUpdate) -> Response:
    """Change the fields present in the body."""
    item = crud.update_item(session=get_session(), item=_get_item_or_404(item_id), item_in=body)
    return model_response(ItemPublic, item)


@bp.delete("/<item_id>")
@login_required
@validate(path=("item_id",))
def delete_item(item_id: int) -> Response:
    """Delete an item that no order refers to."""
    crud.delete_item(session=get_session(), item=_get_item_or_404(item_id))
    return no_content()


@bp.get("/<item_id>/shipping-quote")
@validate(path=("item_id",), query=ShippingQuoteQuery)
def shipping_quote(item_id: int, query: ShippingQuoteQuery) -> Response:
    """Quote shipping of one item to a ZIP code, from the carrier."""
    item = _get_item_or_404(item_id)
    # Hand the pooled connection back before waiting on the carrier: the item is all this request needs.
    get_session().close()
    quote = fetch_shipping_quote(
        carrier.get_client(), carrier_url=str(get_settings().carrier_url), item=item, zip_code=query.zip
    )
    return model_response(ShippingQuote, quote)
