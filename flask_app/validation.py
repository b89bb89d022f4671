"""Request validation by hand: what FastAPI derives from a view's type hints, with its rules and error bodies.

A view declares what it takes with `@validate(...)`; the validated values arrive as keyword arguments.
All path, query and body errors of a request are reported together, in FastAPI's order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, request
from pydantic import BaseModel, TypeAdapter, ValidationError

from flask_app.fastapi_compat import fastapi_form_errors, fastapi_form_fields, starlette_query_params
from shared_models.errors import JSON_MEDIA_TYPE, json_invalid_error, validation_error_json
from shared_models.schemas import BODY_PARSE_ERROR, EntityId

M = TypeVar("M", bound=BaseModel)
View = Callable[..., Response]

_ENTITY_ID: TypeAdapter[int] = TypeAdapter(EntityId)
_NO_BODY = object()
# Set on views that take a JSON body, so their body can be decoded before authentication runs.
_READS_BODY = "reads_request_body"


class RequestValidationError(Exception):
    """Client input that failed validation; answered with FastAPI's 422 body."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("request validation failed")
        self.errors = errors


def init_app(app: Flask) -> None:
    """Decode bodies early and answer RequestValidationError with 422."""
    app.before_request(_decode_body_early)
    app.register_error_handler(RequestValidationError, _validation_error)


def validate(
    *,
    path: tuple[str, ...] = (),
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
) -> Callable[[View], View]:
    """Validate path ids, query string and body, passing them as keyword arguments (ids, query, body, form)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            errors: list[dict[str, Any]] = []
            for name in path:
                kwargs[name] = _collect(errors, parse_path_id, name, kwargs[name])
            if query is not None:
                kwargs["query"] = _collect(errors, parse_query, query)
            if body is not None:
                kwargs["body"] = _collect(errors, parse_body, body)
            if form is not None:
                kwargs["form"] = _collect(errors, parse_form, form)
            if errors:
                raise RequestValidationError(errors)
            return view(**kwargs)

        if body is not None:
            setattr(wrapper, _READS_BODY, True)
        return wrapper

    return decorator


def parse_path_id(name: str, raw: str) -> int:
    """Validate a path segment as an EntityId (1..2147483647)."""
    try:
        return _ENTITY_ID.validate_python(raw)
    except ValidationError as exc:
        raise RequestValidationError(_located(exc, ("path", name))) from None


def parse_query(model: type[M]) -> M:
    """Validate the query string with `model`."""
    return _validate(model, starlette_query_params(request.args, model.model_fields), ("query",))


def parse_body(model: type[M]) -> M:
    """Validate the request body with `model` (JSON when the content type says so, else the raw bytes)."""
    data = _decoded_body()
    if data is _NO_BODY:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    return _validate(model, data, ("body",))


def parse_form(model: type[M]) -> M:
    """Validate urlencoded or multipart form fields with `model`."""
    try:
        return _validate(model, fastapi_form_fields(), ("body",))
    except RequestValidationError as exc:
        fastapi_form_errors(exc.errors)
        raise


def _validate(model: type[M], data: Any, prefix: tuple[str, ...]) -> M:
    try:
        return model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError(_located(exc, prefix)) from None


def _located(exc: ValidationError, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{**error, "loc": (*prefix, *error["loc"])} for error in exc.errors(include_url=False)]


def _collect(errors: list[dict[str, Any]], parse: Callable[..., Any], *args: Any) -> Any:
    try:
        return parse(*args)
    except RequestValidationError as exc:
        errors.extend(exc.errors)
        return None


def _decoded_body() -> Any:
    if "request_body" not in g:
        g.request_body = _decode_body()
    return g.request_body


def _decode_body() -> Any:
    raw = request.get_data(cache=True)  # 413 when Content-Length is over MAX_CONTENT_LENGTH
    # A chunked body has no Content-Length and Werkzeug silently stops reading it at the limit.
    limit = request.max_content_length
    if (
        limit is not None
        and request.content_length is None
        and len(raw) >= limit
        and request.environ["wsgi.input"].read(1)
    ):
        abort(413)
    if not raw:
        return _NO_BODY
    if not request.is_json:
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([json_invalid_error(pos=exc.pos, msg=exc.msg)]) from None
    except (ValueError, RecursionError):
        # Undecodable bytes, over-long integers, nesting too deep: FastAPI's generic body error.
        abort(400, description=BODY_PARSE_ERROR)


def _decode_body_early() -> None:
    # FastAPI reads and decodes a route's body before it runs dependencies such as authentication,
    # so a malformed JSON body is a 422 there even without credentials.
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, _READS_BODY, False):
        _decoded_body()


def _validation_error(exc: RequestValidationError) -> Response:
    return Response(validation_error_json(exc.errors), status=422, mimetype=JSON_MEDIA_TYPE)
