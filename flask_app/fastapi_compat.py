"""Contract emulation: Flask code that exists only to reproduce FastAPI's and Starlette's exact quirks.

A Flask API of its own would not need any of this; the benchmark's contract (docs/CONTRACT.md) is FastAPI's
behaviour byte for byte, so the Flask app mirrors it here, in one place, and the lines-of-code table counts
this module as its own concern ("contract_emulation") rather than as validation, error handling or docs.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response, abort, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

FORM_BOUNDARY_MISSING = "Missing boundary in multipart."


def starlette_query_params(args: MultiDict[str, str], fields: Any) -> dict[str, Any]:
    """Query arguments as Starlette hands them to a query model: the last value of each model field, and
    every other key too (a list when repeated), which only matters when pydantic echoes the input in an error."""
    params: dict[str, Any] = {name: args.getlist(name)[-1] for name in fields if name in args}
    for key, values in args.lists():
        if key not in fields:
            params[key] = values[0] if len(values) == 1 else values
    return params


def fastapi_form_fields() -> dict[str, str]:
    """Form fields as FastAPI reads them: the last value of a repeated field, an empty field absent; a
    multipart body without a boundary is refused (Werkzeug would quietly parse nothing)."""
    if request.mimetype == "multipart/form-data" and "boundary" not in request.mimetype_params:
        abort(400, description=FORM_BOUNDARY_MISSING)
    return {key: values[-1] for key, values in request.form.lists() if values[-1] != ""}


def fastapi_form_errors(errors: list[dict[str, Any]]) -> None:
    """FastAPI validates each form field as its own parameter, so a missing one echoes input null."""
    for error in errors:
        if error["type"] == "missing":
            error["input"] = None


def starlette_error_detail(exc: HTTPException) -> str:
    """The detail Starlette answers for an HTTP error: the message given to abort(), else the status phrase
    (Werkzeug's stock descriptions are prose for HTML pages)."""
    if exc.description != type(exc).description:
        return str(exc.description)
    return HTTPStatus(exc.code or 500).phrase


def starlette_server_error() -> Response:
    """What Starlette's ServerErrorMiddleware answers to an unhandled exception."""
    return Response("Internal Server Error", status=500, mimetype="text/plain")


# FastAPI's own component schemas for its 422 body, which its OpenAPI references from every operation.
FASTAPI_VALIDATION_SCHEMAS: dict[str, Any] = {
    "ValidationError": {
        "type": "object",
        "title": "ValidationError",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {
                "type": "array",
                "title": "Location",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"type": "string", "title": "Message"},
            "type": {"type": "string", "title": "Error Type"},
            "input": {"title": "Input"},
            "ctx": {"type": "object", "title": "Context"},
        },
    },
    "HTTPValidationError": {
        "type": "object",
        "title": "HTTPValidationError",
        "properties": {
            "detail": {"type": "array", "title": "Detail", "items": {"$ref": "#/components/schemas/ValidationError"}}
        },
    },
}
