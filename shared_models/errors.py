"""One encoder for 422 bodies, used by both apps so error shapes and bytes are identical.

FastAPI's default handler re-encodes error inputs with jsonable_encoder, which answers 500 to hostile input
(an infinite number, undecodable bytes). Both apps therefore encode validation errors here instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

JSON_MEDIA_TYPE = "application/json"


def _finite(value: Any) -> Any:
    # JSON has no Infinity/NaN; a client that sends 1e400 gets its input echoed back as a string.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def _safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    try:
        return _finite(to_jsonable_python(value, serialize_unknown=True, fallback=str))
    except (ValueError, RecursionError):
        # Input nested deeper than the serialiser allows: echo a bounded text form instead of failing.
        return repr(value)[:1000]


def validation_detail(errors: Iterable[Mapping[str, Any]], prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """Return FastAPI-shaped error entries {type, loc, msg, input, ctx?}, JSON-safe, with `prefix` on loc."""
    detail: list[dict[str, Any]] = []
    for error in errors:
        entry: dict[str, Any] = {
            "type": error["type"],
            "loc": [*prefix, *error["loc"]],
            "msg": error["msg"],
            "input": _safe(error.get("input")),
        }
        if error.get("ctx"):
            entry["ctx"] = {key: _safe(value) for key, value in error["ctx"].items()}
        detail.append(entry)
    return detail


def dumps(content: Any) -> bytes:
    """Serialise a JSON body the way Starlette's JSONResponse does (compact, UTF-8)."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # A lone surrogate echoed back from the input cannot be UTF-8 encoded; replace it rather than fail.
    return text.encode("utf-8", errors="replace")


def validation_error_json(errors: Iterable[Mapping[str, Any]], prefix: Sequence[str | int] = ()) -> bytes:
    """The complete 422 body: {"detail": [...]}."""
    return dumps({"detail": validation_detail(errors, prefix)})


def json_invalid_error(*, pos: int, msg: str) -> dict[str, Any]:
    """The entry FastAPI produces for a body that is not valid JSON."""
    return {
        "type": "json_invalid",
        "loc": ("body", pos),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": msg},
    }
