"""Database operations, synchronous (Flask and the sync FastAPI variant); fastapi_app/crud.py has them async."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import exists, func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from shared_models.exceptions import (
    EmailTakenError,
    InsufficientStockError,
    ItemInUseError,
    ItemNotFoundError,
)
from shared_models.models import Item, Notification, Order, OrderItem, OrderStatus, User
from shared_models.schemas import ItemCreate, ItemUpdate, OrderCreate, UserCreate
from shared_models.security import hash_password, verify_password


# --- users -----------------------------------------------------------------------------------------------
def get_user(*, session: Session, user_id: int) -> User | None:
    """Return the user with this id, if any."""
    return session.get(User, user_id)


def get_user_by_email(*, session: Session, email: str) -> User | None:
    """Return the user with this email, if any."""
    # PostgreSQL text cannot hold NUL, so no stored email has one; the driver would raise on it.
    if "\x00" in email:
        return None
    return session.scalar(select(User).where(User.email == email))


def create_user(*, session: Session, user_in: UserCreate) -> User:
    """Insert a user with a hashed password; EmailTakenError if the email is registered."""
    if get_user_by_email(session=session, email=user_in.email) is not None:
        raise EmailTakenError()
    user = User(
        email=user_in.email,
        hashed_password=hash_password(user_in.password),
        full_name=user_in.full_name,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        # Two concurrent registrations can both pass the check above; the unique constraint decides.
        session.rollback()
        raise EmailTakenError() from exc
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """Return the user if the password matches, else None (same work whether or not the user exists)."""
    user = get_user_by_email(session=session, email=email)
    if not verify_password(password, user.hashed_password if user else None):
        return None
    return user


# --- items -----------------------------------------------------------------------------------------------
def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_items(*, session: Session, skip: int, limit: int, q: str | None) -> tuple[list[Item], int]:
    """Return one page of items ordered by id and the count of all items matching `q`."""
    page = select(Item).order_by(Item.id).offset(skip).limit(limit)
    count = select(func.count()).select_from(Item)
    if q:
        matches = Item.name.ilike(f"%{_escape_like(q)}%", escape="\\")
        page, count = page.where(matches), count.where(matches)
    return list(session.scalars(page)), session.scalar(count) or 0


def get_item(*, session: Session, item_id: int) -> Item | None:
    """Return the item with this id, if any."""
    return session.get(Item, item_id)


def create_item(*, session: Session, item_in: ItemCreate) -> Item:
    """Insert an item."""
    item = Item(**item_in.model_dump())
    session.add(item)
    session.commit()
    return item


def update_item(*, session: Session, item: Item, item_in: ItemUpdate) -> Item:
    """Change only the fields that were sent."""
    for field, value in item_in.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    session.commit()
    # updated_at is set by the database (onupdate=now()), so read it back.
    session.refresh(item)
    return item


def delete_item(*, session: Session, item: Item) -> None:
    """Delete an item; ItemInUseError if order lines point to it."""
    if session.scalar(select(exists().where(OrderItem.item_id == item.id))):
        raise ItemInUseError()
    session.delete(item)
    try:
        session.commit()
    except IntegrityError as exc:
        # An order placed since the check above: the RESTRICT foreign key refuses the delete.
        session.rollback()
        raise ItemInUseError() from exc


# --- orders ----------------------------------------------------------------------------------------------
def create_order(*, session: Session, user: User, order_in: OrderCreate) -> Order:
    """Place an order in one transaction, locking its items; nothing changes if a line fails."""
    wanted = {line.item_id: line.quantity for line in order_in.lines}
    # Locking in id order means concurrent orders over the same items cannot deadlock.
    locked = select(Item).where(Item.id.in_(wanted)).order_by(Item.id).with_for_update()
    items = {item.id: item for item in session.scalars(locked)}
    if missing := wanted.keys() - items.keys():
        session.rollback()
        raise ItemNotFoundError(min(missing))
    if short := [item_id for item_id, item in items.items() if item.stock < wanted[item_id]]:
        session.rollback()
        raise InsufficientStockError(min(short))

    lines = [
        OrderItem(item_id=line.item_id, quantity=line.quantity, unit_price=items[line.item_id].price)
        for line in order_in.lines
    ]
    for line in lines:
        items[line.item_id].stock -= line.quantity
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    order = Order(user_id=user.id, status=OrderStatus.CONFIRMED, total=total, items=lines)
    session.add(order)
    session.commit()
    return order


def list_orders(*, session: Session, user_id: int, skip: int, limit: int) -> tuple[list[Order], int]:
    """Return one page of the user's orders, newest first, with their lines, and the user's order count."""
    page = (
        select(Order)
        .where(Order.user_id == user_id)
        .options(selectinload(Order.items))
        .order_by(Order.id.desc())
        .offset(skip)
        .limit(limit)
    )
    count = select(func.count()).select_from(Order).where(Order.user_id == user_id)
    return list(session.scalars(page)), session.scalar(count) or 0


def get_order(*, session: Session, user_id: int, order_id: int) -> Order | None:
    """Return the order with its lines if it exists and belongs to the user."""
    query = select(Order).where(Order.id == order_id, Order.user_id == user_id).options(selectinload(Order.items))
    return session.scalar(query)


def create_notification(*, session: Session, order_id: int, recipient: str, message: str) -> Notification:
    """Record the confirmation message of an order."""
    notification = Notification(order_id=order_id, recipient=recipient, message=message)
    session.add(notification)
    session.commit()
    return notification


# --- health ----------------------------------------------------------------------------------------------
def database_ok(*, session: Session) -> bool:
    """Return whether the database answers SELECT 1."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
