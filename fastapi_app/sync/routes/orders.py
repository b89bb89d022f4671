"""Orders of the current user; the confirmation is recorded after the response. Plain `def` views (fastapi_app/routes/orders.py is the async twin)."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, status
from sqlalchemy.orm import Session, sessionmaker

from fastapi_app.docs import ORDER_NOT_FOUND, UNAUTHORIZED, UNPARSABLE_BODY
from fastapi_app.routes.orders import OrderId
from fastapi_app.sync.deps import CurrentUser, SessionDep, SessionMakerDep
from shared_models import crud
from shared_models.schemas import (
    Message,
    OrderCreate,
    OrderPublic,
    OrdersPublic,
    PageQuery,
)

logger = structlog.get_logger(__name__)
router = APIRouter()


def _record_notification(factory: sessionmaker[Session], *, order_id: int, recipient: str, message: str) -> None:
    # Runs after the response (in the threadpool) with its own session; a failure is only logged.
    try:
        with factory() as session:
            crud.create_notification(session=session, order_id=order_id, recipient=recipient, message=message)
    except Exception:
        logger.exception("notification_failed", order_id=order_id)


@router.post(
    "/orders",
    response_model=OrderPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Place an order",
    tags=["orders"],
    responses={
        **UNAUTHORIZED,
        status.HTTP_404_NOT_FOUND: {"model": Message, "description": "An item does not exist"},
        status.HTTP_409_CONFLICT: {"model": Message, "description": "Insufficient stock"},
        **UNPARSABLE_BODY,
    },
)
def create_order(
    session: SessionDep,
    factory: SessionMakerDep,
    current_user: CurrentUser,
    order_in: OrderCreate,
    background_tasks: BackgroundTasks,
) -> Any:
    """Buy the requested items; the confirmation is recorded after the response."""
    order = crud.create_order(session=session, user=current_user, order_in=order_in)
    background_tasks.add_task(
        _record_notification,
        factory,
        order_id=order.id,
        recipient=current_user.email,
        message=f"Order {order.id} confirmed: {len(order.items)} line(s), total {order.total}",
    )
    return order


@router.get("/orders", response_model=OrdersPublic, summary="List my orders", tags=["orders"], responses=UNAUTHORIZED)
def read_orders(session: SessionDep, current_user: CurrentUser, query: Annotated[PageQuery, Query()]) -> Any:
    """List the current user's orders, newest first."""
    orders, count = crud.list_orders(session=session, user_id=current_user.id, skip=query.skip, limit=query.limit)
    return OrdersPublic(data=orders, count=count)


@router.get(
    "/orders/{order_id}",
    response_model=OrderPublic,
    summary="Read one of my orders",
    tags=["orders"],
    responses={**UNAUTHORIZED, **ORDER_NOT_FOUND},
)
def read_order(session: SessionDep, current_user: CurrentUser, order_id: OrderId) -> Any:
    """Return one of the current user's orders."""
    order = crud.get_order(session=session, user_id=current_user.id, order_id=order_id)
    if order is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Order not found")
    return order
