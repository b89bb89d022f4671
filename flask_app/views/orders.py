"""/orders: place orders and read one's own."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from flask_app.auth import current_user, login_required
from flask_app.background import run_after_response
from flask_app.db import get_session
from flask_app.responses import model_response
from flask_app.validation import validate
from shared_models import crud
from shared_models.schemas import OrderCreate, OrderPublic, OrdersPublic, PageQuery

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _send_confirmation(order_id: int, recipient: str, message: str) -> None:
    crud.create_notification(session=get_session(), order_id=order_id, recipient=recipient, message=message)


@bp.post("")
@login_required
@validate(body=OrderCreate)
def create_order(body: OrderCreate) -> Response:
    """Place an order; its confirmation is written after the response."""
    user = current_user()
    order = crud.create_order(session=get_session(), user=user, order_in=body)
    message = f"Order {order.id} confirmed: {len(order.items)} line(s), total {order.total}"
    run_after_response(_send_confirmation, order.id, user.email, message)
    return model_response(OrderPublic, order, status=201)


@bp.get("")
@login_required
@validate(query=PageQuery)
def list_orders(query: PageQuery) -> Response:
    """List the user's orders, newest first."""
    orders, count = crud.list_orders(
        session=get_session(), user_id=current_user().id, skip=query.skip, limit=query.limit
    )
    return model_response(OrdersPublic, {"data": orders, "count": count})


@bp.get("/<order_id>")
@login_required
@validate(path=("order_id",))
def get_order(order_id: int) -> Response:
    """Return one of the user's orders."""
    order = crud.get_order(session=get_session(), user_id=current_user().id, order_id=order_id)
    if order is None:
        abort(404, description="Order not found")
    return model_response(OrderPublic, order)
