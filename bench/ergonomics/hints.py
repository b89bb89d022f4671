"""What each framework does with type annotations: a probe of the framework, and what FastAPI derives from ours.

The seed table's "Type hints: Required vs Optional" is about the framework, not about whether our repository
annotates (both apps pass mypy --strict). So: (1) probe each framework with a one-route app whose view declares
`n: int` on an untyped path segment: does the view receive an int, and is "x" refused with a 4xx? (2) count the
contract's request inputs and response schemas that FastAPI builds from annotations, by walking each route's
dependant tree (path, query, header, cookie and body parameters, sub-dependencies included).
"""

from __future__ import annotations

from typing import Any

PROBE_PATH = "/7"
PROBE_BAD_PATH = "/x"
INPUT_KINDS = ("path_params", "query_params", "header_params", "cookie_params", "body_params")


def _answers(status_ok: int, body: Any, status_bad: int) -> bool:
    return status_ok == 200 and isinstance(body, dict) and body.get("type") == "int" and 400 <= status_bad < 500


def fastapi_reads_annotations() -> bool:
    """A FastAPI view annotated `n: int` gets an int and a non-number is refused with a 4xx."""
    import warnings

    from fastapi import FastAPI

    with warnings.catch_warnings():  # Starlette's note about httpx2 is not ours to act on here
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    app = FastAPI()

    @app.get("/{n}")
    def view(n: int) -> dict[str, str]:
        return {"type": type(n).__name__}

    client = TestClient(app)
    ok, bad = client.get(PROBE_PATH), client.get(PROBE_BAD_PATH)
    return _answers(ok.status_code, ok.json(), bad.status_code)


def flask_reads_annotations() -> bool:
    """A Flask view annotated `n: int` on rule '/<n>' gets an int and a non-number is refused with a 4xx."""
    from flask import Flask

    app = Flask("probe")

    @app.get("/<n>")
    def view(n: int) -> dict[str, str]:
        return {"type": type(n).__name__}

    client = app.test_client()
    ok, bad = client.get(PROBE_PATH), client.get(PROBE_BAD_PATH)
    return _answers(ok.status_code, ok.get_json(silent=True), bad.status_code)


def _inputs(dependant: Any, seen: set[tuple[str, str]]) -> None:
    for kind in INPUT_KINDS:
        for param in getattr(dependant, kind, ()):
            seen.add((kind, str(getattr(param, "alias", None) or param.name)))
    for sub in getattr(dependant, "dependencies", ()):
        _inputs(sub, seen)


def route_inputs(route: Any) -> int:
    """Distinct request inputs (kind, name) FastAPI validates for one route, from its dependant tree."""
    seen: set[tuple[str, str]] = set()
    _inputs(route.dependant, seen)
    return len(seen)


def response_from_annotation(route: Any) -> bool:
    """The route's response schema is its endpoint's return annotation (not a response_model= argument)."""
    from fastapi.dependencies.utils import get_typed_return_annotation

    model = getattr(route, "response_model", None)
    return model is not None and model == get_typed_return_annotation(route.endpoint)


def annotation_facts(routes: list[Any]) -> dict[str, int]:
    """Over the contract's FastAPI routes: inputs validated from annotations, responses with a typed schema."""
    return {
        "routes": len(routes),
        "inputs": sum(route_inputs(r) for r in routes),
        "responses_typed": sum(getattr(r, "response_model", None) is not None for r in routes),
        "responses_from_return_annotation": sum(response_from_annotation(r) for r in routes),
    }
