"""JSON responses with the same bytes FastAPI sends: pydantic for success bodies, compact JSON for errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response
from pydantic import BaseModel

from shared_models.errors import JSON_MEDIA_TYPE, dumps


def model_response(schema: type[BaseModel], obj: Any, status: int = 200) -> Response:
    """Validate `obj` (an ORM object or a dict of them) through `schema` and send it as JSON."""
    # from_attributes=True is what FastAPI's response_model validation passes.
    body = schema.model_validate(obj, from_attributes=True).model_dump_json()
    return Response(body, status=status, mimetype=JSON_MEDIA_TYPE)


def detail_response(detail: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """Send {"detail": detail}, FastAPI's shape for errors with a message."""
    return Response(dumps({"detail": detail}), status=status, headers=headers, mimetype=JSON_MEDIA_TYPE)


def no_content() -> Response:
    """Send 204 with an empty body, labelled JSON as FastAPI's default response class labels it."""
    return Response(status=204, mimetype=JSON_MEDIA_TYPE)
