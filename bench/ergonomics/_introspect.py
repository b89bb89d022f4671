"""Build one app in a fresh interpreter and print what its route table says, as JSON on stdout.

Run as `python -m bench.ergonomics._introspect fastapi|flask`. A separate process keeps the app's import side
effects (logging configuration, module state) out of the measuring process; nothing is served or connected.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bench.ergonomics import hints

# The request whose handler is shown side by side (CONTRACT.md: GET /items/{item_id}).
SNIPPET_METHOD = "GET"
SNIPPET_PATH = "/items/1"
_FLASK_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _where(func: Callable[..., Any]) -> dict[str, Any]:
    original = inspect.unwrap(func)
    return {
        "module": getattr(original, "__module__", ""),
        "name": getattr(original, "__name__", ""),
        "file": inspect.getsourcefile(original),
        "first_line": original.__code__.co_firstlineno,
    }


def _fastapi_routes(app: Any) -> list[tuple[Any, Any]]:
    """(route, effective view) pairs with include_router prefixes applied."""
    from fastapi import routing

    # FastAPI >= 0.16x keeps included routers nested and resolves them lazily; older ones flatten on include.
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:
        return [(route, route) for route in app.routes]
    return [(context.original_route, context) for context in iter_contexts(app.routes)]


def _fastapi() -> dict[str, Any]:
    from fastapi.routing import APIRoute
    from starlette.routing import compile_path

    from fastapi_app.main import create_app

    app = create_app()
    routes: list[tuple[str, str]] = []
    api_routes: list[Any] = []
    snippet: dict[str, Any] | None = None
    openapi: dict[str, Any] | None = None
    for route, view in _fastapi_routes(app):
        methods: set[str] = set(getattr(view, "methods", None) or ())
        if isinstance(route, APIRoute):
            if view.include_in_schema:
                routes += [(method, view.path) for method in methods if method != "HEAD"]
                api_routes.append(route)
            # The same path regex Starlette matches requests with.
            matches = compile_path(view.path)[0].fullmatch(SNIPPET_PATH) is not None
            if snippet is None and matches and SNIPPET_METHOD in methods:
                snippet = _where(view.endpoint)
        elif getattr(view, "path", None) == app.openapi_url:
            openapi = _where(view.endpoint)
    if openapi is not None:
        # An app that replaces FastAPI's generator (`app.openapi = custom`) writes its document by hand.
        openapi["generator_module"] = getattr(app.openapi, "__module__", "")
    return {
        "routes": sorted(routes),
        "asgi": inspect.iscoroutinefunction(type(app).__call__),
        "openapi": openapi,
        "snippet": snippet,
        "annotations": {**hints.annotation_facts(api_routes), "reads": hints.fastapi_reads_annotations()},
    }


def _flask() -> dict[str, Any]:
    from werkzeug.exceptions import HTTPException

    from flask_app import create_app

    app = create_app()
    routes = [
        (method, _FLASK_PARAM.sub(r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods or ())
        if method not in {"HEAD", "OPTIONS"}
    ]
    adapter = app.url_map.bind("localhost")

    def handler(path: str, method: str) -> dict[str, Any] | None:
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            return None
        return _where(app.view_functions[str(endpoint)])

    openapi = handler("/openapi.json", "GET")
    if openapi is not None:
        openapi["generator_module"] = openapi["module"]
    return {
        "routes": sorted(routes),
        "asgi": inspect.iscoroutinefunction(type(app).__call__),
        "openapi": openapi,
        "snippet": handler(SNIPPET_PATH, SNIPPET_METHOD),
        "annotations": {"reads": hints.flask_reads_annotations()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the introspection of the app named by argv[0] as JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    builders = {"fastapi": _fastapi, "flask": _flask}
    if len(args) != 1 or args[0] not in builders:
        print(f"usage: python -m bench.ergonomics._introspect {'|'.join(builders)}", file=sys.stderr)
        return 2
    print(json.dumps(builders[args[0]]()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
