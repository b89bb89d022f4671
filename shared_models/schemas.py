"""Pydantic schemas shared by both apps, so validation cost, error shapes and JSON output are identical."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared_models.models import OrderStatus

# The 400 detail both apps answer to a JSON body that cannot be decoded at all (docs/CONTRACT.md).
BODY_PARSE_ERROR = "There was an error parsing the body"
# PostgreSQL INTEGER bounds: ids and counters beyond them are client errors (422), never driver errors (500).
INT32_MAX = 2_147_483_647

# Prices travel as JSON numbers rounded to cents; Decimal keeps them exact inside the apps.
_to_json_number = PlainSerializer(lambda value: float(value), return_type=float, when_used="json")
Money = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2), _to_json_number]
MoneyOut = Annotated[Decimal, _to_json_number]
# PostgreSQL text cannot hold NUL; reject it at the edge instead of failing in the driver.
_NO_NUL = r"^[^\x00]*$"
ItemName = Annotated[str, Field(min_length=1, max_length=100, pattern=_NO_NUL)]
ItemDescription = Annotated[str, Field(max_length=1000, pattern=_NO_NUL)]
FullName = Annotated[str, Field(max_length=255, pattern=_NO_NUL)]
Password = Annotated[str, Field(min_length=8, max_length=128, pattern=_NO_NUL)]
# Integers in JSON bodies are strict: `true` is not 1 and "5" is not 5 (the schema says integer).
Stock = Annotated[int, Field(ge=0, le=INT32_MAX, strict=True)]
# Path ids arrive as text, so EntityId stays lax; ids inside JSON bodies use BodyId.
EntityId = Annotated[int, Field(ge=1, le=INT32_MAX)]
BodyId = Annotated[int, Field(ge=1, le=INT32_MAX, strict=True)]
Quantity = Annotated[int, Field(ge=1, le=100, strict=True)]
# ASCII digits only: \d would also accept other scripts' digits, which no carrier understands.
Zip = Annotated[str, Field(pattern=r"^[0-9]{5}$")]

_ORM = ConfigDict(from_attributes=True)


def _drop_null_from(schema: dict[str, Any], fields: tuple[str, ...]) -> None:
    # These fields may be omitted but not sent as null (see _not_null); document them without the null branch.
    for name in fields:
        prop = schema.get("properties", {}).get(name, {})
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            prop.update(branches[0])
        elif branches:
            prop["anyOf"] = branches


# --- users -----------------------------------------------------------------------------------------------
class UserCreate(BaseModel):
    """Body of POST /auth/register."""

    email: EmailStr
    password: Password
    full_name: FullName | None = None


class UserPublic(BaseModel):
    """A user as the API shows it: never any password field."""

    model_config = _ORM

    id: int
    email: str
    full_name: str | None
    created_at: datetime


class Token(BaseModel):
    """Body of a successful POST /auth/token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"


class TokenForm(BaseModel):
    """The OAuth2 password form, as fields (FastAPI's OAuth2PasswordRequestForm has the same ones)."""

    grant_type: Annotated[str | None, Field(pattern=r"^password$")] = None
    username: str
    password: str
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


# --- items -----------------------------------------------------------------------------------------------
class ItemCreate(BaseModel):
    """Body of POST /items."""

    name: ItemName
    description: ItemDescription | None = None
    price: Money
    stock: Stock = 0


class ItemUpdate(BaseModel):
    """Body of PATCH /items/{id}: every field optional, only the sent ones change."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _drop_null_from(schema, ("name", "price", "stock")))

    name: ItemName | None = None
    description: ItemDescription | None = None
    price: Money | None = None
    stock: Stock | None = None

    @field_validator("name", "price", "stock")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Omitting a field leaves it unchanged; an explicit null on a required column is a client error.
        if value is None:
            raise PydanticCustomError("null_not_allowed", "Field may be omitted but not set to null")
        return value


class ItemPublic(BaseModel):
    """An item as the API shows it."""

    model_config = _ORM

    id: int
    name: str
    description: str | None
    price: MoneyOut
    stock: int
    created_at: datetime
    updated_at: datetime


class ItemsPublic(BaseModel):
    """One page of items and the total matching count."""

    data: list[ItemPublic]
    count: int


class ItemsQuery(BaseModel):
    """Query string of GET /items."""

    skip: Annotated[int, Field(ge=0, le=INT32_MAX)] = 0
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    q: Annotated[str | None, Field(max_length=100, pattern=_NO_NUL)] = None


class PageQuery(BaseModel):
    """Query string of paginated listings without search (GET /orders)."""

    skip: Annotated[int, Field(ge=0, le=INT32_MAX)] = 0
    limit: Annotated[int, Field(ge=1, le=100)] = 10


class ShippingQuoteQuery(BaseModel):
    """Query string of GET /items/{id}/shipping-quote."""

    zip: Zip


class CarrierQuote(BaseModel):
    """What the carrier upstream answers; anything else counts as the carrier being unavailable."""

    carrier: str
    # Whatever the upstream sends must still serialise as a JSON number: no Infinity/NaN, no negatives.
    cost: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    eta_days: int


class ShippingQuote(BaseModel):
    """A carrier's price for shipping one item to a ZIP code."""

    item_id: int
    zip: str
    carrier: str
    cost: MoneyOut
    eta_days: int


# --- orders ----------------------------------------------------------------------------------------------
class OrderLineCreate(BaseModel):
    """One requested line: which item and how many."""

    item_id: BodyId
    quantity: Quantity


class OrderCreate(BaseModel):
    """Body of POST /orders."""

    lines: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=50)]

    @field_validator("lines")
    @classmethod
    def _unique_items(cls, lines: list[OrderLineCreate]) -> list[OrderLineCreate]:
        seen: set[int] = set()
        for line in lines:
            if line.item_id in seen:
                raise PydanticCustomError(
                    "duplicate_item", "Item {item_id} appears in more than one line", {"item_id": line.item_id}
                )
            seen.add(line.item_id)
        return lines


class OrderLinePublic(BaseModel):
    """One line of an order as the API shows it."""

    model_config = _ORM

    id: int
    item_id: int
    quantity: int
    unit_price: MoneyOut


class OrderPublic(BaseModel):
    """An order with its lines."""

    model_config = _ORM

    id: int
    user_id: int
    status: OrderStatus
    total: MoneyOut
    created_at: datetime
    lines: list[OrderLinePublic] = Field(validation_alias=AliasChoices("lines", "items"))


class OrdersPublic(BaseModel):
    """One page of the current user's orders and their total count."""

    data: list[OrderPublic]
    count: int


# --- misc ------------------------------------------------------------------------------------------------
class HealthPublic(BaseModel):
    """Body of GET /health."""

    status: Literal["healthy", "unhealthy"]
    version: str
    database: Literal["ok", "unreachable"]


class LivenessPublic(BaseModel):
    """Body of GET /health/live: the process answers; nothing else is checked."""

    status: Literal["alive"]
    version: str


class Message(BaseModel):
    """An error or informational body: {"detail": "..."}."""

    detail: str
