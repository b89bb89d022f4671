"""GET /openapi.json: the OpenAPI 3.1 document FastAPI generates from its routes, written out by hand.

Schemas come from the shared pydantic models; the routes, parameters and responses are listed here.
The blueprint is only registered outside production.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

from flask import Blueprint, Response
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from flask_app.fastapi_compat import FASTAPI_VALIDATION_SCHEMAS
from shared_models import __version__
from shared_models.errors import JSON_MEDIA_TYPE, dumps
from shared_models.schemas import (
    BODY_PARSE_ERROR,
    EntityId,
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
    TokenForm,
    UserCreate,
    UserPublic,
)

bp = Blueprint("openapi", __name__)

_REF = "#/components/schemas/{model}"
_REQUEST_MODELS = (UserCreate, TokenForm, ItemCreate, ItemUpdate, OrderCreate)
_RESPONSE_MODELS = (
    HealthPublic,
    LivenessPublic,
    UserPublic,
    Token,
    ItemPublic,
    ItemsPublic,
    ShippingQuote,
    OrderPublic,
    OrdersPublic,
)
_SECURITY_SCHEME = "OAuth2PasswordBearer"
_401 = (401, "Missing, invalid or expired bearer token")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """Serve the OpenAPI document."""
    return Response(_document_json(), mimetype=JSON_MEDIA_TYPE)


@cache
def _document_json() -> bytes:
    return dumps(build_document())


def build_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the contract."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "FastAPI vs Flask benchmark API (Flask)", "version": __version__},
        "paths": {
            "/health/live": {"get": _op("Liveness check", ok=(200, LivenessPublic))},
            "/health": {"get": _op("Health", ok=(200, HealthPublic), errors=[(503, "Database unreachable")])},
            "/auth/register": {
                "post": _op(
                    "Register", ok=(201, UserPublic), body=UserCreate, errors=[(409, "Email already registered")]
                )
            },
            "/auth/token": {"post": _op("Login", ok=(200, Token), form=TokenForm, errors=[(401, "Bad credentials")])},
            "/users/me": {"get": _op("Current user", ok=(200, UserPublic), auth=True)},
            "/items": {
                "get": _op("List items", ok=(200, ItemsPublic), query=ItemsQuery),
                "post": _op("Create item", ok=(201, ItemPublic), auth=True, body=ItemCreate),
            },
            "/items/{item_id}": {
                "get": _op("Get item", ok=(200, ItemPublic), path="item_id", errors=[(404, "Item not found")]),
                "patch": _op(
                    "Update item",
                    ok=(200, ItemPublic),
                    auth=True,
                    path="item_id",
                    body=ItemUpdate,
                    errors=[(404, "Item not found")],
                ),
                "delete": _op(
                    "Delete item",
                    ok=(204, None),
                    auth=True,
                    path="item_id",
                    errors=[(404, "Item not found"), (409, "Item is referenced by orders")],
                ),
            },
            "/items/{item_id}/shipping-quote": {
                "get": _op(
                    "Shipping quote",
                    ok=(200, ShippingQuote),
                    path="item_id",
                    query=ShippingQuoteQuery,
                    errors=[(404, "Item not found"), (502, "Carrier unavailable")],
                )
            },
            "/orders": {
                "get": _op("List my orders", ok=(200, OrdersPublic), auth=True, query=PageQuery),
                "post": _op(
                    "Place order",
                    ok=(201, OrderPublic),
                    auth=True,
                    body=OrderCreate,
                    errors=[(404, "An item does not exist"), (409, "Insufficient stock")],
                ),
            },
            "/orders/{order_id}": {
                "get": _op(
                    "Get my order", ok=(200, OrderPublic), auth=True, path="order_id", errors=[(404, "Order not found")]
                )
            },
        },
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                _SECURITY_SCHEME: {"type": "oauth2", "flows": {"password": {"scopes": {}, "tokenUrl": "auth/token"}}}
            },
        },
    }


def _component_schemas() -> dict[str, Any]:
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in _REQUEST_MODELS),
        *((model, "serialization") for model in (*_RESPONSE_MODELS, Message)),
    ]
    _, top = models_json_schema(modes, ref_template=_REF)
    return {**top.get("$defs", {}), **FASTAPI_VALIDATION_SCHEMAS}


def _ref(model: type[BaseModel] | str) -> dict[str, str]:
    return {"$ref": _REF.format(model=model if isinstance(model, str) else model.__name__)}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON_MEDIA_TYPE: {"schema": schema}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _op(
    summary: str,
    *,
    ok: tuple[int, type[BaseModel] | None],
    auth: bool = False,
    path: Literal["item_id", "order_id"] | None = None,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    errors: Sequence[tuple[int, str]] = (),
) -> dict[str, Any]:
    status, model = ok
    responses: dict[str, Any] = {str(status): {"description": "Successful Response"}}
    if model is not None:
        responses[str(status)]["content"] = _json_content(_ref(model))
    operation: dict[str, Any] = {"summary": summary, "parameters": [], "responses": responses}

    if path is not None:
        id_schema = TypeAdapter(EntityId).json_schema()
        operation["parameters"].append({"name": path, "in": "path", "required": True, "schema": id_schema})
    if query is not None:
        operation["parameters"].extend(_query_parameters(query))
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json_content(_ref(body))}
    if form is not None:
        form_content = {"application/x-www-form-urlencoded": {"schema": _ref(form)}}
        operation["requestBody"] = {"required": True, "content": form_content}

    described = [*errors, _401] if auth else list(errors)
    if body or form:
        described.append((400, BODY_PARSE_ERROR))
    for code, description in described:
        # /health answers 503 with its own body; every other error is {"detail": "..."}.
        schema = _ref(HealthPublic) if code == 503 else _ref(Message)
        responses[str(code)] = {"description": description, "content": _json_content(schema)}
    if path or query or body or form:
        responses["422"] = {"description": "Validation Error", "content": _json_content(_ref("HTTPValidationError"))}
    if auth:
        operation["security"] = [{_SECURITY_SCHEME: []}]
    if not operation["parameters"]:
        del operation["parameters"]
    return operation
