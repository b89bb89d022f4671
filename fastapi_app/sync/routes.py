"""The contract's routes as plain `def` functions: FastAPI runs each in its threadpool.

Paths, status codes and documented responses are those of fastapi_app/routes/, so both serve one OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session, sessionmaker

import shared_models
from fastapi_app.deps import SettingsDep
from fastapi_app.docs import ITEM_NOT_FOUND, ORDER_NOT_FOUND, UNAUTHORIZED, UNPARSABLE_BODY
from fastapi_app.routes.health import LIVENESS_BODY
from fastapi_app.routes.items import ItemId
from fastapi_app.routes.orders import OrderId
from fastapi_app.sync.deps import CarrierClientDep, CurrentUser, SessionDep, SessionMakerDep
from shared_models import crud
from shared_models.carrier import fetch_shipping_quote
from shared_models.errors import JSON_MEDIA_TYPE
from shared_models.models import Item
from shared_models.schemas import (
    HealthPublic,
    ItemCreate,
    ItemPublic,
    ItemsPublic,
    ItemsQuery,
    ItemUpdate,
    LivenessPublic,
    Message,
    OrderCreate,
    OrderPublic,
    OrdersPublic,
    PageQuery,
    ShippingQuote,
    ShippingQuoteQuery,
    Token,
    UserCreate,
    UserPublic,
)
from shared_models.security import create_access_token

logger = structlog.get_logger(__name__)
router = APIRouter()


# --- health ----------------------------------------------------------------------------------------------
@router.get("/health/live", response_model=LivenessPublic, summary="Liveness check", tags=["health"])
async def liveness() -> Any:
    """Answer without touching the database: routing and middleware (the body is serialised once)."""
    # async def: nothing here blocks, and a plain def would cost a threadpool hop.
    return Response(LIVENESS_BODY, media_type=JSON_MEDIA_TYPE)


@router.get(
    "/health",
    response_model=HealthPublic,
    summary="Health check",
    tags=["health"],
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": HealthPublic, "description": "Database unreachable"}},
)
def health(session: SessionDep) -> Any:
    """Report the service version and whether the database answers."""
    if crud.database_ok(session=session):
        return HealthPublic(status="healthy", version=shared_models.__version__, database="ok")
    unhealthy = HealthPublic(status="unhealthy", version=shared_models.__version__, database="unreachable")
    return JSONResponse(unhealthy.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


# --- auth and users --------------------------------------------------------------------------------------
@router.post(
    "/auth/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a user",
    tags=["auth"],
    responses={
        status.HTTP_409_CONFLICT: {"model": Message, "description": "Email already registered"},
        **UNPARSABLE_BODY,
    },
)
def register(session: SessionDep, user_in: UserCreate) -> Any:
    """Create an account."""
    return crud.create_user(session=session, user_in=user_in)


@router.post(
    "/auth/token",
    summary="Log in",
    tags=["auth"],
    responses={
        status.HTTP_401_UNAUTHORIZED: {"model": Message, "description": "Incorrect email or password"},
        **UNPARSABLE_BODY,
    },
)
def login_access_token(
    session: SessionDep, settings: SettingsDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: exchange an email and password for a bearer token."""
    user = crud.authenticate(session=session, email=form_data.username, password=form_data.password)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = create_access_token(
        user_id=user.id,
        secret=settings.jwt_secret,
        algorithm=settings.jwt_algorithm,
        expires_minutes=settings.access_token_expire_minutes,
    )
    return Token(access_token=token)


@router.get("/users/me", response_model=UserPublic, summary="Current user", tags=["users"], responses=UNAUTHORIZED)
def read_user_me(current_user: CurrentUser) -> Any:
    """Return the user the bearer token belongs to."""
    return current_user


# --- items -----------------------------------------------------------------------------------------------
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


# --- orders ----------------------------------------------------------------------------------------------
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
