"""Database operations of the FastAPI app (async); shared_models/crud.py has the same functions, sync."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import exists, func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from starlette.concurrency import run_in_threadpool

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
async def get_user(*, session: AsyncSession, user_id: int) -> User | None:
    """The user with this id, if any."""
    return await session.get(User, user_id)


async def get_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    """The user with this email, if any."""
    # PostgreSQL text cannot hold NUL, so no stored email has one; the driver would raise on it.
    if "\x00" in email:
        return None
    return await session.scalar(select(User).where(User.email == email))


async def create_user(*, session: AsyncSession, user_in: UserCreate) -> User:
    """Register a user; raise EmailTakenError if the email already has an account."""
    # Checking first spares an Argon2 hash for the common duplicate; the unique constraint settles races.
    if await get_user_by_email(session=session, email=user_in.email) is not None:
        raise EmailTakenError
    # Argon2 is CPU-bound (~100 ms): hashing on the event loop would stall every other request.
    hashed_password = await run_in_threadpool(hash_password, user_in.password)
    user = User(email=user_in.email, hashed_password=hashed_password, full_name=user_in.full_name)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise EmailTakenError from None
    return user


async def authenticate(*, session: AsyncSession, email: str, password: str) -> User | None:
    """The user if the email and password match, else None."""
    user = await get_user_by_email(session=session, email=email)
    # Verify even for unknown emails so the response time does not reveal which accounts exist.
    hashed_password = user.hashed_password if user is not None else None
    if not await run_in_threadpool(verify_password, password, hashed_password):
        return None
    return user


# --- items -----------------------------------------------------------------------------------------------
def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_items(*, session: AsyncSession, skip: int, limit: int, q: str | None) -> tuple[list[Item], int]:
    """One page of items ordered by id, and the count of all items matching `q` (name substring)."""
    filters = [Item.name.ilike(f"%{_escape_like(q)}%", escape="\\")] if q else []
    count = (await session.execute(select(func.count()).select_from(Item).where(*filters))).scalar_one()
    statement = select(Item).where(*filters).order_by(Item.id).offset(skip).limit(limit)
    items = (await session.scalars(statement)).all()
    return list(items), count


async def get_item(*, session: AsyncSession, item_id: int) -> Item | None:
    """The item with this id, if any."""
    return await session.get(Item, item_id)


async def create_item(*, session: AsyncSession, item_in: ItemCreate) -> Item:
    """Create an item."""
    item = Item(**item_in.model_dump())
    session.add(item)
    # The INSERT's RETURNING clause already fills id and the server-default timestamps: no refresh needed.
    await session.commit()
    return item


async def update_item(*, session: AsyncSession, item: Item, item_in: ItemUpdate) -> Item:
    """Change only the fields present in the request body."""
    for field, value in item_in.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.commit()
    # updated_at is set by the database (onupdate=now()), so reload it rather than lazy-load it later.
    await session.refresh(item)
    return item


async def delete_item(*, session: AsyncSession, item: Item) -> None:
    """Delete an item; raise ItemInUseError if order lines reference it."""
    if await session.scalar(select(exists().where(OrderItem.item_id == item.id))):
        raise ItemInUseError
    await session.delete(item)
    try:
        await session.commit()
    except IntegrityError:
        # An order placed since the check above: the RESTRICT foreign key refuses the delete.
        await session.rollback()
        raise ItemInUseError from None


# --- orders ----------------------------------------------------------------------------------------------
async def create_order(*, session: AsyncSession, user: User, order_in: OrderCreate) -> Order:
    """Place an order in one transaction; on ItemNotFoundError or InsufficientStockError nothing changes."""
    quantities = {line.item_id: line.quantity for line in order_in.lines}
    # Locking rows in id order means two concurrent orders can never wait on each other in a cycle.
    statement = select(Item).where(Item.id.in_(quantities)).order_by(Item.id).with_for_update()
    items = {item.id: item for item in await session.scalars(statement)}

    missing = quantities.keys() - items.keys()
    if missing:
        await session.rollback()
        raise ItemNotFoundError(min(missing))
    short = [item_id for item_id, item in items.items() if item.stock < quantities[item_id]]
    if short:
        await session.rollback()
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
    await session.commit()
    return order


async def list_orders(*, session: AsyncSession, user_id: int, skip: int, limit: int) -> tuple[list[Order], int]:
    """One page of a user's orders with their lines, newest first, and the user's order count."""
    count_statement = select(func.count()).select_from(Order).where(Order.user_id == user_id)
    count = (await session.execute(count_statement)).scalar_one()
    statement = (
        select(Order)
        .where(Order.user_id == user_id)
        .options(selectinload(Order.items))
        .order_by(Order.id.desc())
        .offset(skip)
        .limit(limit)
    )
    orders = (await session.scalars(statement)).all()
    return list(orders), count


async def get_order(*, session: AsyncSession, user_id: int, order_id: int) -> Order | None:
    """The order with its lines if it exists and belongs to the user."""
    statement = select(Order).where(Order.id == order_id, Order.user_id == user_id).options(selectinload(Order.items))
    return await session.scalar(statement)


async def create_notification(*, session: AsyncSession, order_id: int, recipient: str, message: str) -> Notification:
    """Record the confirmation message of an order."""
    notification = Notification(order_id=order_id, recipient=recipient, message=message)
    session.add(notification)
    await session.commit()
    return notification


# --- health ----------------------------------------------------------------------------------------------
async def database_ok(*, session: AsyncSession) -> bool:
    """True if the database answers SELECT 1."""
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return False
    return True
