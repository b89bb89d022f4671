"""Cross-cutting HTTP behaviour: body parsing, size limit, unknown routes, headers, CORS, docs, production."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, make_url, text

import shared_models
from shared_models.errors import json_invalid_error
from shared_models.schemas import BODY_PARSE_ERROR, ItemCreate, UserCreate
from tests.support.api import PASSWORD, Account, bearer, make_token, unique_email

from .helpers import MISSING_ID, assert_422, assert_detail, assert_json, assert_process_time, expected_errors, locs

ALLOWED_ORIGIN = "https://allowed.example"
EVIL_ORIGIN = "https://evil.example"
MAX_BODY = 1_048_576

# Every path of the contract and the methods it serves there.
CONTRACT_PATHS = {
    "/health": {"get"},
    "/health/live": {"get"},
    "/auth/register": {"post"},
    "/auth/token": {"post"},
    "/users/me": {"get"},
    "/items": {"get", "post"},
    "/items/{item_id}": {"get", "patch", "delete"},
    "/items/{item_id}/shipping-quote": {"get"},
    "/orders": {"get", "post"},
    "/orders/{order_id}": {"get"},
}


def _json_error(raw: str) -> dict[str, Any]:
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return json.loads(json.dumps(json_invalid_error(pos=exc.pos, msg=exc.msg)))
    raise AssertionError(f"{raw!r} is valid JSON")


# --- body parsing ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    ["{bad", '{"email": "a@b.co", "password": ', '{"email": "a@b.co",}', " ", "nul\x00", '{"a": 1} x'],
    ids=["bad", "truncated", "trailing-comma", "whitespace", "garbage", "extra-data"],
)
def test_malformed_json_is_422_json_invalid(client: httpx.Client, raw: str) -> None:
    response = client.post("/auth/register", content=raw.encode(), headers={"Content-Type": "application/json"})
    assert_422(response, [_json_error(raw)])
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_empty_body_is_422_missing(client: httpx.Client) -> None:
    for headers in ({"Content-Type": "application/json"}, {}):
        response = client.post("/auth/register", content=b"", headers=headers)
        assert_422(response, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])


def test_json_null_body_is_422(client: httpx.Client) -> None:
    response = client.post("/auth/register", content=b"null", headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert locs(response) == [["body"]]


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_non_json_content_type_validates_raw_bytes(client: httpx.Client, content_type: str | None) -> None:
    raw = json.dumps({"email": unique_email(), "password": PASSWORD}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/auth/register", content=raw, headers=headers)
    assert_422(response, expected_errors(UserCreate, raw))
    assert response.json()["detail"][0]["type"] == "model_attributes_type"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_content_type_variants_are_parsed(client: httpx.Client, content_type: str) -> None:
    body = {"email": unique_email("ct"), "password": PASSWORD}
    response = client.post("/auth/register", content=json.dumps(body), headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text
    assert response.json()["email"] == body["email"]


def test_json_array_body_is_422(client: httpx.Client, writer: Account) -> None:
    response = client.post("/items", json=[{"name": "x", "price": 1}], headers=writer.headers)
    assert_422(response, expected_errors(ItemCreate, [{"name": "x", "price": 1}]))


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    raw = json.dumps({"email": unique_email(), "password": PASSWORD, "full_name": "x" * MAX_BODY}).encode()
    assert len(raw) > MAX_BODY
    response = client.post("/auth/register", content=raw, headers={"Content-Type": "application/json"})
    assert_detail(response, 413, "Request body too large")


def test_chunked_body_over_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "chunked@example.com", "password": "contract-pw", "full_name": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/auth/register", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_detail(response, 413, "Request body too large")


def test_body_just_under_limit_is_not_413(client: httpx.Client) -> None:
    prefix = {"email": unique_email(), "password": PASSWORD, "full_name": ""}
    overhead = len(json.dumps(prefix).encode())
    raw = json.dumps({**prefix, "full_name": "x" * (MAX_BODY - overhead)}).encode()
    assert len(raw) == MAX_BODY
    response = client.post("/auth/register", content=raw, headers={"Content-Type": "application/json"})
    # Within the limit the body is parsed and validated (full_name is longer than 255).
    assert response.status_code == 422, response.text[:200]
    assert locs(response) == [["body", "full_name"]]
    # The same bytes, chunked (no Content-Length).
    chunked = client.post(
        "/auth/register",
        content=(raw[i : i + 65536] for i in range(0, len(raw), 65536)),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert chunked.status_code == 422, chunked.text[:200]
    assert locs(chunked) == [["body", "full_name"]]


# --- routing ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/nope", "/items/1/nope", "/health/", "/auth", "/", "/items//1", "//health"])
def test_unknown_route_is_404(client: httpx.Client, path: str) -> None:
    assert_detail(client.get(path), 404, "Not Found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/health"),
        ("PUT", "/items/1"),
        ("DELETE", "/items"),
        ("GET", "/auth/token"),
        ("PATCH", "/orders/1"),
    ],
)
def test_wrong_method_is_405(client: httpx.Client, method: str, path: str) -> None:
    assert_detail(client.request(method, path), 405, "Method Not Allowed")


@pytest.mark.parametrize(("method", "path"), [("HEAD", "/health"), ("OPTIONS", "/health"), ("HEAD", "/items/1")])
def test_head_and_options_follow_each_frameworks_documented_default(
    framework: str, client: httpx.Client, method: str, path: str
) -> None:
    # docs/CONTRACT.md: Flask answers HEAD on GET routes and a plain OPTIONS itself (HTTP requires HEAD
    # wherever GET is served); FastAPI does neither. Both are framework defaults an expert keeps.
    response = client.request(method, path)
    assert_process_time(response)
    if framework == "fastapi":
        assert response.status_code == 405
        if method != "HEAD":
            assert response.json() == {"detail": "Method Not Allowed"}
    else:
        assert response.status_code == 200
        assert response.content == b""
        if method == "OPTIONS":
            assert "GET" in response.headers["allow"]


def test_long_query_string_is_refused_or_validated_never_a_5xx(framework: str, client: httpx.Client) -> None:
    # docs/CONTRACT.md: gunicorn refuses request lines over 4094 bytes (414) before the app runs; uvicorn
    # passes them on and the app's validation answers. Either way the client gets a 4xx naming the problem.
    response = client.get("/items", params={"q": "x" * 5000})
    if framework == "fastapi":
        assert locs(response) == [["query", "q"]]
        assert response.json()["detail"][0]["type"] == "string_too_long"
    else:
        assert response.status_code == 414


def test_large_header_is_refused_or_rejected_never_a_5xx(framework: str, client: httpx.Client) -> None:
    # A 9 kB bearer token: gunicorn's header-field limit (8190 bytes) answers 431; uvicorn lets the app say 401.
    response = client.get("/users/me", headers=bearer("x" * 9000))
    if framework == "fastapi":
        assert_detail(response, 401, "Could not validate credentials")
    else:
        assert response.status_code == 431


# --- headers ---------------------------------------------------------------------------------------------
def test_process_time_on_every_kind_of_response(client: httpx.Client, seed_user: Account) -> None:
    responses = [
        client.get("/health"),
        client.get("/items"),
        client.get("/items/1"),
        client.get(f"/items/{MISSING_ID}"),
        client.get("/items/abc"),
        client.get("/users/me"),
        client.get("/users/me", headers=bearer("garbage")),
        client.get("/users/me", headers=seed_user.headers),
        client.get("/nope"),
        client.put("/items/1"),
        client.post("/auth/register", content=b"{bad", headers={"Content-Type": "application/json"}),
        client.post("/auth/register", content=b"x" * (MAX_BODY + 1), headers={"Content-Type": "application/json"}),
        client.delete(f"/items/{MISSING_ID}", headers=seed_user.headers),
        _preflight(client, ALLOWED_ORIGIN),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 200, 200, 404, 422, 401, 401, 200, 404, 405, 422, 413, 404, 200]
    for response in responses:
        assert_process_time(response)


def test_json_content_type(client: httpx.Client) -> None:
    for path in ("/health", "/items", "/nope", "/items/abc"):
        assert client.get(path).headers["content-type"] == "application/json"


# --- CORS ------------------------------------------------------------------------------------------------
def _preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options(
        "/items",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_cors_preflight_from_allowed_origin(client: httpx.Client) -> None:
    response = _preflight(client, ALLOWED_ORIGIN)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


def test_cors_preflight_from_other_origin_is_not_allowed(client: httpx.Client) -> None:
    response = _preflight(client, EVIL_ORIGIN)
    assert "access-control-allow-origin" not in response.headers


def test_cors_simple_request(client: httpx.Client) -> None:
    allowed = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    evil = client.get("/health", headers={"Origin": EVIL_ORIGIN})
    assert evil.status_code == 200
    assert "access-control-allow-origin" not in evil.headers


def test_a_request_without_origin_gets_no_cors_headers(client: httpx.Client) -> None:
    """Not a cross-origin browser call: both apps add nothing (FastAPI's CORS layer is not even entered)."""
    response = client.get("/health/live")
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-") or name == "vary"]


# --- docs and production ---------------------------------------------------------------------------------
def test_openapi_lists_every_contract_path(client: httpx.Client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in paths, f"{path} missing from /openapi.json"
        assert methods <= set(paths[path]), f"{path}: {sorted(methods - set(paths[path]))} missing"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/auth/register"), ("POST", "/items"), ("PATCH", "/items/1"), ("POST", "/orders")],
)
def test_undecodable_json_body_is_a_documented_400(
    client: httpx.Client, seed_user: Account, method: str, path: str
) -> None:
    # A body that is not UTF-8 cannot be decoded at all: 400, and the OpenAPI says so (schemathesis conformance).
    response = client.request(
        method, path, content=b'{"name": "\xff\xfe"}', headers={**seed_user.headers, "Content-Type": "application/json"}
    )
    assert_detail(response, 400, BODY_PARSE_ERROR)
    template = path.replace("/1", "/{item_id}")
    documented = client.get("/openapi.json").json()["paths"][template][method.lower()]["responses"]
    assert documented["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Message"}
    assert documented["400"]["description"] == BODY_PARSE_ERROR


def test_fastapi_serves_docs_in_development(framework: str, client: httpx.Client) -> None:
    if framework != "fastapi":
        pytest.skip("the contract only requires /docs and /redoc from FastAPI")
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")


def test_production_server_with_dead_upstream(framework: str, start_app: Any, db: Engine) -> None:
    """One extra server per app (starting servers is the slow part) for every check needing other settings."""
    server = start_app(
        framework, env={"APP_ENV": "production", "JWT_SECRET": "p" * 40, "CARRIER_URL": "http://127.0.0.1:9"}
    )
    healthy = {"status": "healthy", "version": shared_models.__version__, "database": "ok"}
    with httpx.Client(base_url=server.url, timeout=10) as c:
        # Production: no docs, no schema.
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert_detail(c.get(path), 404, "Not Found")
        assert_json(c.get("/health"), 200, healthy)
        # A token signed with the development secret is worthless against the production secret.
        me = c.get("/users/me", headers=bearer(make_token(sub=1)))
        assert_detail(me, 401, "Could not validate credentials")
        assert me.headers["www-authenticate"] == "Bearer"

        # Nothing listens on the carrier port: 502, quickly, and the rest of the API is unaffected.
        started = time.monotonic()
        assert_detail(c.get("/items/1/shipping-quote", params={"zip": "10115"}), 502, "Carrier unavailable")
        assert time.monotonic() - started < 2.5
        assert_detail(c.get(f"/items/{MISSING_ID}/shipping-quote", params={"zip": "10115"}), 404, "Item not found")

        # Database unreachable: /health answers 503 until it is back. `db` is another database of the same
        # PostgreSQL; from there the server's database is locked and its connections are dropped.
        target = make_url(server.database_url).database
        with db.begin() as conn:
            conn.execute(text(f'ALTER DATABASE "{target}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": target}
            )
        try:
            unhealthy = {"status": "unhealthy", "version": shared_models.__version__, "database": "unreachable"}
            for _ in range(3):  # whichever worker answers
                assert_json(c.get("/health"), 503, unhealthy)
            # Any other route: the outage is a 503, not an unhandled 500.
            assert_detail(c.get("/items/1"), 503, "Database unavailable")
            # Liveness never touches the database, so it keeps answering.
            assert_json(c.get("/health/live"), 200, {"status": "alive", "version": shared_models.__version__})
        finally:
            with db.begin() as conn:
                conn.execute(text(f'ALTER DATABASE "{target}" ALLOW_CONNECTIONS true'))
        assert_json(c.get("/health"), 200, healthy)
