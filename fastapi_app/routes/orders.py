"""Placing and reading the current user's orders."""

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, Query, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fastapi_app import crud
from fastapi_app.deps import CurrentUser, SessionDep, SessionMakerDep
from fastapi_app.docs import ORDER_NOT_FOUND, UNAUTHORIZED, UNPARSABLE_BODY
from shared_models.schemas import INT32_MAX, Message, OrderCreate, OrderPublic, OrdersPublic, PageQuery

logger = structlog.get_logger(__name__)

router = APIRouter(prefix="/orders", tags=["orders"], responses=UNAUTHORIZED)

OrderId = Annotated[int, Path(ge=1, le=INT32_MAX)]


async def _record_notification(
    sessionmaker: async_sessionmaker[AsyncSession], *, order_id: int, recipient: str, message: str
) -> None:
    # Runs after the response is sent, so the request's session is gone: open a new one. The order is
    # already committed; a failure here must not surface anywhere but the log.
    try:
        async with sessionmaker() as session:
            await crud.create_notification(session=session, order_id=order_id, recipient=recipient, message=message)
    except Exception:
        logger.exception("notification_failed", order_id=order_id)


@router.post(
    "",
    response_model=OrderPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Place an order",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": Message, "description": "An item does not exist"},
        status.HTTP_409_CONFLICT: {"model": Message, "description": "Insufficient stock"},
        **UNPARSABLE_BODY,
    },
)
async def create_order(
    session: SessionDep,
    sessionmaker: SessionMakerDep,
    current_user: CurrentUser,
    order_in: OrderCreate,
    background_tasks: BackgroundTasks,
) -> Any:
    """Buy the requested items; the confirmation is recorded after the response."""
    order = await crud.create_order(session=session, user=current_user, order_in=order_in)
    background_tasks.add_task(
        _record_notification,
        sessionmaker,
        order_id=order.id,
        recipient=current_user.email,
        message=f"Order {order.id} confirmed: {len(order.items)} line(s), total {order.total}",
    )
    return order


@router.get("", response_model=OrdersPublic, summary="List my orders")
async def read_orders(session: SessionDep, current_user: CurrentUser, query: Annotated[PageQuery, Query()]) -> Any:
    """List the current user's orders, newest first."""
    orders, count = await crud.list_orders(session=session, user_id=current_user.id, skip=query.skip, limit=query.limit)
    return OrdersPublic(data=orders, count=count)


@router.get(
    "/{order_id}",
    response_model=OrderPublic,
    summary="Read one of my orders",
    responses=ORDER_NOT_FOUND,
)
async def read_order(session: SessionDep, current_user: CurrentUser, order_id: OrderId) -> Any:
    """Return one of the current user's orders."""
    order = await crud.get_order(session=session, user_id=current_user.id, order_id=order_id)
    if order is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Order not found")
    return order
