"""Hand-written hostile input against both apps: always a 4xx (never a 5xx), 422 bodies naming the field.

Most cases are one table (`CASES`): a request and the answer it must get. The rest check what hostile but valid
input does once stored (unicode, SQL-looking strings, LIKE wildcards) by reading it back through the API and
the database. Writes are additive (new users and items only), so the shared live servers stay usable.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.api import PASSWORD, Account, scalar

from .helpers import INT32_MAX, INT64_MAX, MIB, describe, rows

Loc = tuple[str | int, ...]


def strict_json(response: httpx.Response) -> Any:
    """The body as JSON, refusing NaN/Infinity (which Python's json accepts but JSON does not have)."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"non-JSON constant {constant} in {describe(response)}")

    return json.loads(response.content, parse_constant=refuse)


def assert_4xx(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, describe(response)
    assert response.headers["content-type"].startswith("application/json"), describe(response)
    body = strict_json(response)
    assert isinstance(body, dict), describe(response)
    assert "detail" in body, describe(response)


def assert_422_at(response: httpx.Response, loc: Loc) -> list[dict[str, Any]]:
    """A 422 whose detail has an entry naming `loc` (the entry's loc starts with it); returns the entries."""
    assert response.status_code == 422, describe(response)
    assert_4xx(response)
    detail = strict_json(response)["detail"]
    assert isinstance(detail, list), describe(response)
    for entry in detail:
        assert {"type", "loc", "msg"} <= entry.keys(), entry
        assert entry["loc"][0] in ("body", "query", "path"), entry
    named = [entry for entry in detail if entry["loc"][: len(loc)] == list(loc)]
    assert named, f"no error at {list(loc)}: {describe(response)}"
    return detail  # type: ignore[no-any-return]


# --- the table -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get: `status`, and for 422 an error at `loc`."""

    method: str
    path: str
    status: int
    loc: Loc | None = None
    auth: bool = False
    json: Any = None
    raw: bytes | None = None
    content_type: str | None = "application/json"
    params: Any = None
    files: dict[str, Any] | None = None
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ITEM = {"name": "hostile", "price": 10, "stock": 1}
# PATCHes go to an item this suite creates, so an app that wrongly accepts one changes none of the seed data.
OWN_ITEM = "/items/{own}"
ITEM_JSON = json.dumps(ITEM).encode()


def _raw_item(price: str = "10", stock: str = "1") -> bytes:
    # JSON text Python's json.dumps cannot produce (1e400, NaN, 10**30 as a float literal...).
    return f'{{"name": "hostile", "price": {price}, "stock": {stock}}}'.encode()


def _order(item_id: Any = 1, quantity: Any = 1) -> dict[str, Any]:
    return {"lines": [{"item_id": item_id, "quantity": quantity}]}


BODY_ENDPOINTS = [("POST", "/items", True), ("POST", "/auth/register", False), ("POST", "/orders", True)]

CASES: dict[str, Case] = {}
# Malformed bodies, wrong content types and JSON of the wrong shape, on every JSON endpoint.
for method, path, auth in BODY_ENDPOINTS:
    name = path.strip("/").replace("/", "-")
    CASES |= {
        f"{name}-malformed-json": Case(method, path, 422, ("body", 9), auth, raw=b'{"name": }'),
        f"{name}-truncated-json": Case(method, path, 422, ("body", 14), auth, raw=b'{"name": "x", "p'),
        f"{name}-trailing-garbage": Case(method, path, 422, ("body", 3), auth, raw=b"{} x"),
        f"{name}-only-whitespace": Case(method, path, 422, ("body", 3), auth, raw=b"   "),
        f"{name}-empty-body": Case(method, path, 422, ("body",), auth, raw=b""),
        f"{name}-text-plain": Case(method, path, 422, ("body",), auth, raw=ITEM_JSON, content_type="text/plain"),
        f"{name}-xml": Case(
            method, path, 422, ("body",), auth, raw=b"<item><name>x</name></item>", content_type="application/xml"
        ),
        f"{name}-no-content-type": Case(method, path, 422, ("body",), auth, raw=ITEM_JSON, content_type=None),
        f"{name}-multipart": Case(
            method, path, 422, ("body",), auth, content_type=None, files={"f": ("a.json", ITEM_JSON, "text/json")}
        ),
        f"{name}-json-list": Case(method, path, 422, ("body",), auth, json=[ITEM]),
        f"{name}-json-null": Case(method, path, 422, ("body",), auth, raw=b"null"),
        f"{name}-json-string": Case(method, path, 422, ("body",), auth, json="hostile"),
        f"{name}-json-number": Case(method, path, 422, ("body",), auth, json=42),
        f"{name}-json-true": Case(method, path, 422, ("body",), auth, json=True),
        # FastAPI's framework-level answer to bodies json.loads cannot decode at all; Flask mirrors it.
        f"{name}-invalid-utf8": Case(
            method, path, 400, auth=auth, raw=b'{"name": "\xff\xfe"}', detail="There was an error parsing the body"
        ),
        f"{name}-nested-100k": Case(
            method,
            path,
            400,
            auth=auth,
            raw=b"[" * 100_000 + b"]" * 100_000,
            detail="There was an error parsing the body",
        ),
        f"{name}-over-1mib": Case(
            method, path, 413, auth=auth, raw=b'{"name": "' + b"x" * MIB + b'"}', detail="Request body too large"
        ),
        f"{name}-over-1mib-text": Case(
            method,
            path,
            413,
            auth=auth,
            raw=b"x" * (MIB + 1),
            content_type="text/plain",
            detail="Request body too large",
        ),
    }

CASES |= {
    # Numbers no column can hold, and numbers JSON does not have.
    "price-1e30-int": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": 10**30}),
    "price-1e30-float": Case("POST", "/items", 422, ("body", "price"), True, raw=_raw_item(price="1e30")),
    "price-1e400": Case("POST", "/items", 422, ("body", "price"), True, raw=_raw_item(price="1e400")),
    "price-minus-1e400": Case("POST", "/items", 422, ("body", "price"), True, raw=_raw_item(price="-1e400")),
    "price-1e-400": Case("POST", "/items", 422, ("body", "price"), True, raw=_raw_item(price="1e-400")),
    "price-NaN-literal": Case("POST", "/items", 422, ("body", "price"), True, raw=_raw_item(price="NaN")),
    "price-Infinity-literal": Case("POST", "/items", 422, ("body", "price"), True, raw=_raw_item(price="Infinity")),
    "price-NaN-string": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": "NaN"}),
    "price-Infinity-string": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": "Infinity"}),
    "price-sNaN-string": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": "sNaN"}),
    "price-zero": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": 0}),
    "price-negative": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": -5}),
    "price-three-decimals": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": 1.005}),
    "price-11-digits": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": 123456789.01}),
    "price-not-a-number": Case("POST", "/items", 422, ("body", "price"), True, json={**ITEM, "price": "ten"}),
    "stock-1e30": Case("POST", "/items", 422, ("body", "stock"), True, json={**ITEM, "stock": 10**30}),
    "stock-int32-overflow": Case("POST", "/items", 422, ("body", "stock"), True, json={**ITEM, "stock": INT32_MAX + 1}),
    "stock-negative": Case("POST", "/items", 422, ("body", "stock"), True, json={**ITEM, "stock": -1}),
    "stock-NaN-literal": Case("POST", "/items", 422, ("body", "stock"), True, raw=_raw_item(stock="NaN")),
    "stock-float": Case("POST", "/items", 422, ("body", "stock"), True, json={**ITEM, "stock": 1.5}),
    "stock-4301-digit-literal": Case(
        "POST", "/items", 400, auth=True, raw=_raw_item(stock="9" * 4301), detail="There was an error parsing the body"
    ),
    # JSON booleans are not integers (the published schema says `integer`); pydantic's lax mode would read
    # true as 1, so `"quantity": true` would buy one unit.
    "stock-true": Case("POST", "/items", 422, ("body", "stock"), True, json={**ITEM, "stock": True}),
    "patch-stock-true": Case("PATCH", OWN_ITEM, 422, ("body", "stock"), True, json={"stock": True}),
    "order-quantity-true": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "quantity"), True, json=_order(quantity=True)
    ),
    "order-item-true": Case("POST", "/orders", 422, ("body", "lines", 0, "item_id"), True, json=_order(item_id=True)),
    "patch-price-1e400": Case("PATCH", OWN_ITEM, 422, ("body", "price"), True, raw=b'{"price": 1e400}'),
    "patch-stock-null": Case("PATCH", OWN_ITEM, 422, ("body", "stock"), True, json={"stock": None}),
    "patch-name-empty": Case("PATCH", OWN_ITEM, 422, ("body", "name"), True, json={"name": ""}),
    # Order lines: quantities and ids out of range, absurd shapes.
    "order-quantity-zero": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "quantity"), True, json=_order(quantity=0)
    ),
    "order-quantity-negative": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "quantity"), True, json=_order(quantity=-3)
    ),
    "order-quantity-101": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "quantity"), True, json=_order(quantity=101)
    ),
    "order-quantity-1e30": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "quantity"), True, json=_order(quantity=10**30)
    ),
    "order-quantity-1e400": Case(
        "POST",
        "/orders",
        422,
        ("body", "lines", 0, "quantity"),
        True,
        raw=b'{"lines": [{"item_id": 1, "quantity": 1e400}]}',
    ),
    "order-quantity-string": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "quantity"), True, json=_order(quantity="many")
    ),
    "order-item-zero": Case("POST", "/orders", 422, ("body", "lines", 0, "item_id"), True, json=_order(item_id=0)),
    "order-item-negative": Case("POST", "/orders", 422, ("body", "lines", 0, "item_id"), True, json=_order(item_id=-1)),
    "order-item-int32-overflow": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "item_id"), True, json=_order(item_id=INT32_MAX + 1)
    ),
    "order-item-int64-overflow": Case(
        "POST", "/orders", 422, ("body", "lines", 0, "item_id"), True, json=_order(item_id=INT64_MAX + 1)
    ),
    "order-no-lines": Case("POST", "/orders", 422, ("body", "lines"), True, json={"lines": []}),
    "order-51-lines": Case(
        "POST",
        "/orders",
        422,
        ("body", "lines"),
        True,
        json={"lines": [{"item_id": i, "quantity": 1} for i in range(1, 52)]},
    ),
    "order-duplicate-item": Case(
        "POST", "/orders", 422, ("body", "lines"), True, json={"lines": [{"item_id": 1, "quantity": 1}] * 2}
    ),
    "order-lines-object": Case("POST", "/orders", 422, ("body", "lines"), True, json={"lines": {"item_id": 1}}),
    # NUL bytes: PostgreSQL text cannot hold them, so they must be refused at the edge (422), never reach the driver.
    "nul-in-item-name": Case("POST", "/items", 422, ("body", "name"), True, json={**ITEM, "name": "nul\x00byte"}),
    "nul-in-item-description": Case(
        "POST", "/items", 422, ("body", "description"), True, json={**ITEM, "description": "\x00"}
    ),
    "nul-in-patch-name": Case("PATCH", OWN_ITEM, 422, ("body", "name"), True, json={"name": "a\x00"}),
    "nul-in-full-name": Case(
        "POST",
        "/auth/register",
        422,
        ("body", "full_name"),
        json={"email": "nul@example.com", "password": PASSWORD, "full_name": "a\x00b"},
    ),
    "nul-in-password": Case(
        "POST", "/auth/register", 422, ("body", "password"), json={"email": "nul@example.com", "password": "\x00" * 9}
    ),
    "nul-in-email": Case(
        "POST", "/auth/register", 422, ("body", "email"), json={"email": "a\x00@example.com", "password": PASSWORD}
    ),
    "nul-in-q": Case("GET", "/items", 422, ("query", "q"), params={"q": "a\x00b"}),
    "password-100k": Case(
        "POST",
        "/auth/register",
        422,
        ("body", "password"),
        json={"email": "long@example.com", "password": "p" * 100_000},
    ),
    "name-101-chars": Case("POST", "/items", 422, ("body", "name"), True, json={**ITEM, "name": "n" * 101}),
    "description-1001-chars": Case(
        "POST", "/items", 422, ("body", "description"), True, json={**ITEM, "description": "d" * 1001}
    ),
    # Login form: hostile values are just wrong credentials.
    "login-nul-username": Case(
        "POST",
        "/auth/token",
        401,
        content_type="application/x-www-form-urlencoded",
        raw=b"username=a%00b&password=x",
        detail="Incorrect email or password",
    ),
    "login-sql-username": Case(
        "POST",
        "/auth/token",
        401,
        content_type="application/x-www-form-urlencoded",
        raw=b"username=%27+OR+1%3D1+--&password=%27+OR+1%3D1+--",
        detail="Incorrect email or password",
    ),
    "login-json-body": Case("POST", "/auth/token", 422, ("body", "username"), json={"username": "a", "password": "b"}),
    "login-no-password": Case(
        "POST",
        "/auth/token",
        422,
        ("body", "password"),
        content_type="application/x-www-form-urlencoded",
        raw=b"username=a",
    ),
    # Query strings: out of range, not numbers, empty.
    "zip-4-digits": Case("GET", "/items/1/shipping-quote", 422, ("query", "zip"), params={"zip": "1234"}),
    "zip-letters": Case("GET", "/items/1/shipping-quote", 422, ("query", "zip"), params={"zip": "abcde"}),
    "zip-newline": Case("GET", "/items/1/shipping-quote", 422, ("query", "zip"), params={"zip": "12345\n"}),
    "zip-unicode-digits": Case("GET", "/items/1/shipping-quote", 422, ("query", "zip"), params={"zip": "١٢٣٤٥"}),
    "zip-missing": Case("GET", "/items/1/shipping-quote", 422, ("query", "zip")),
}
for param, values in {
    "limit": ["0", "-1", "101", "abc", "1e3", "1.5", "", str(INT32_MAX + 1), str(10**30), "NaN"],
    "skip": ["-1", "abc", "", str(INT32_MAX + 1), str(INT64_MAX + 1), "Infinity"],
}.items():
    for value in values:
        for path, auth in (("/items", False), ("/orders", True)):
            CASES[f"{path.strip('/')}-{param}={value[:12] or 'empty'}"] = Case(
                "GET", path, 422, ("query", param), auth, params={param: value}
            )
# Path ids: not integers, negative, zero, beyond int32 and int64.
for raw_id in ["abc", "-1", "0", "1.5", "1e3", str(INT32_MAX + 1), str(INT64_MAX + 1), str(10**30), "NaN", "%20"]:
    for method, template, param, auth in (
        ("GET", "/items/{}", "item_id", False),
        ("PATCH", "/items/{}", "item_id", True),
        ("DELETE", "/items/{}", "item_id", True),
        ("GET", "/items/{}/shipping-quote?zip=12345", "item_id", False),
        ("GET", "/orders/{}", "order_id", True),
    ):
        key = f"{method}-{template.split('?')[0]}-id={raw_id[:12]}".replace("/", "_")
        body = {"name": "x"} if method == "PATCH" else None
        CASES[key] = Case(method, template.format(raw_id), 422, ("path", param), auth, json=body)


_own_items: dict[str, int] = {}


@pytest.fixture
def own_item(client: httpx.Client, seed_user: Account) -> int:
    """An item of this suite on the current live server (made once per server)."""
    key = str(client.base_url)
    if key not in _own_items:
        _own_items[key] = _create_item(client, seed_user)["id"]
    return _own_items[key]


def _send(client: httpx.Client, case: Case, token: str, own_item: int) -> httpx.Response:
    headers: dict[str, str] = {}
    if case.auth:
        headers["Authorization"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {"params": case.params}
    if case.files is not None:
        kwargs["files"] = case.files
    elif case.raw is not None:
        kwargs["content"] = case.raw
    elif case.json is not None:
        kwargs["content"] = json.dumps(case.json).encode()
    if case.content_type and (case.raw is not None or case.json is not None):
        headers["Content-Type"] = case.content_type
    return client.request(case.method, case.path.replace("{own}", str(own_item)), headers=headers, **kwargs)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hostile_request_is_a_clean_4xx(client: httpx.Client, seed_user: Account, own_item: int, case: Case) -> None:
    response = _send(client, case, seed_user.token, own_item)
    assert response.status_code == case.status, describe(response)
    assert_4xx(response)
    if case.loc is not None:
        detail = assert_422_at(response, case.loc)
        # Whatever was sent is echoed back JSON-safe (1e400 as a string, never a bare Infinity).
        assert all("input" in entry for entry in detail)
    if case.detail is not None:
        assert strict_json(response) == {"detail": case.detail}


@pytest.mark.parametrize(
    ("body", "field", "error_type"),
    [
        ({"name": ""}, "name", "string_too_short"),
        ({"name": "a\x00"}, "name", "string_pattern_mismatch"),
        ({"price": -1}, "price", "greater_than"),
        ({"stock": -1}, "stock", "greater_than_equal"),
        ({"stock": None}, "stock", "null_not_allowed"),
    ],
)
def test_patch_error_is_one_entry_at_the_field(
    client: httpx.Client, seed_user: Account, own_item: int, body: dict[str, Any], field: str, error_type: str
) -> None:
    # One mistake, one error, located at the field like every other 422 of the contract (FastAPI's shape): no
    # union-member suffix in loc, no second entry claiming the input "should be None".
    response = client.patch(f"/items/{own_item}", json=body, headers=seed_user.headers)
    detail = assert_422_at(response, ("body", field))
    assert [(entry["loc"], entry["type"]) for entry in detail] == [(["body", field], error_type)], describe(response)


def test_chunked_body_over_limit_is_413(client: httpx.Client, seed_user: Account) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(MIB // 65536 + 2):
            yield b"x" * 65536
        yield b'", "price": 1}'

    response = client.post(
        "/items", content=chunks(), headers={"Content-Type": "application/json", **seed_user.headers}
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413, describe(response)
    assert strict_json(response) == {"detail": "Request body too large"}


def test_body_on_a_get_over_limit_is_413(client: httpx.Client) -> None:
    # The limit covers every route, not only those that read a body.
    response = client.request("GET", "/health", content=b"x" * (MIB + 1), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413, describe(response)


# --- unicode, SQL-looking strings and LIKE wildcards, stored and read back ------------------------------
UNICODE_NAMES = [
    "🛒🚀 emoji 👩‍👩‍👧‍👦",  # astral plane + ZWJ sequence
    "שָׁלוֹם مرحبا",  # RTL with niqqud / Arabic
    "e\u0301 a\u0308 Z\u0335\u0336",  # combining characters (not normalised away)
    "\u202eRTL override\u202c zero\u200bwidth",  # bidi control, zero-width space
    "漢字かなカナ한국어",  # CJK
    "\U0010fffd max code point",  # last private-use code point
]
SQL_STRINGS = [
    "' OR 1=1 --",
    "'; DROP TABLE items; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5); --",
    "Robert'); DROP TABLE users;--",
    "\\'; TRUNCATE orders; --",
    "$$; DELETE FROM items; $$",
]


def _create_item(client: httpx.Client, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": f"h-{uuid.uuid4().hex[:8]}", "price": 3.5, "stock": 2, **fields}
    response = client.post("/items", json=body, headers=account.headers)
    assert response.status_code == 201, describe(response)
    return dict(response.json())


@pytest.mark.parametrize("text", UNICODE_NAMES + SQL_STRINGS)
def test_hostile_strings_are_stored_verbatim(client: httpx.Client, seed_user: Account, db: Engine, text: str) -> None:
    tables_before = scalar(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    users_before = scalar(db, "SELECT count(*) FROM users")
    name = text[:100]
    created = _create_item(client, seed_user, name=name, description=f"desc {text}")
    assert created["name"] == name
    assert created["description"] == f"desc {text}"
    fetched = client.get(f"/items/{created['id']}")
    assert fetched.status_code == 200, describe(fetched)
    assert fetched.json()["name"] == name
    # Byte for byte in the database too: no escaping, no normalisation, no truncation.
    stored = rows(db, "SELECT name, description FROM items WHERE id = :id", id=created["id"])
    assert stored == [{"name": name, "description": f"desc {text}"}]
    # Searching for it finds it (and the search treats it as data, not SQL).
    search = client.get("/items", params={"q": name, "limit": 100})
    assert search.status_code == 200, describe(search)
    assert created["id"] in [item["id"] for item in search.json()["data"]]
    assert all(name.lower() in item["name"].lower() for item in search.json()["data"])
    # PATCH with the same string round-trips as well.
    patched = client.patch(f"/items/{created['id']}", json={"description": text}, headers=seed_user.headers)
    assert patched.status_code == 200, describe(patched)
    assert patched.json()["description"] == text
    # Nothing was dropped or truncated.
    assert scalar(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == tables_before
    assert scalar(db, "SELECT count(*) FROM users") == users_before
    assert scalar(db, "SELECT count(*) FROM items") >= 200


def test_unicode_and_sql_looking_account_round_trips(client: httpx.Client) -> None:
    # One account (Argon2 is slow): unicode e-mail, password and full name; an SQL-looking full name too.
    full_name = f"{UNICODE_NAMES[0]} {UNICODE_NAMES[1]} {SQL_STRINGS[1]}"
    email = f"ünï-{uuid.uuid4().hex[:8]}@exämple.com"
    password = "pässwörd-🔑-שלום-' OR 1=1 --"
    created = client.post("/auth/register", json={"email": email, "password": password, "full_name": full_name})
    assert created.status_code == 201, describe(created)
    assert created.json()["full_name"] == full_name
    token = client.post("/auth/token", data={"username": created.json()["email"], "password": password})
    assert token.status_code == 200, describe(token)
    me = client.get("/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200, describe(me)
    assert me.json()["full_name"] == full_name
    assert me.json()["email"] == created.json()["email"]


@pytest.mark.parametrize("q", ["%", "_", "\\", "%%", "_%_", "\\%", "'%'", "a%b", "[a-z]", "*", ".*", "%' OR '1'='1"])
def test_search_treats_wildcards_literally(client: httpx.Client, seed_user: Account, db: Engine, q: str) -> None:
    # An item whose name contains q literally, so the search has something to find.
    created = _create_item(client, seed_user, name=f"wild-{uuid.uuid4().hex[:6]} {q} end")
    response = client.get("/items", params={"q": q, "limit": 100})
    assert response.status_code == 200, describe(response)
    body = response.json()
    # The count is exactly the number of names containing q as a literal, case-insensitive substring.
    expected = scalar(db, "SELECT count(*) FROM items WHERE strpos(lower(name), lower(:q)) > 0", q=q)
    assert body["count"] == expected, f"q={q!r}: {body['count']} matches, {expected} names contain it literally"
    assert all(q.lower() in item["name"].lower() for item in body["data"])
    assert expected < 200, "the wildcard matched (nearly) the whole catalogue"
    if expected <= 100:
        assert created["id"] in [item["id"] for item in body["data"]]


def test_search_q_of_10k_chars_is_a_clean_4xx(framework: str, client: httpx.Client) -> None:
    # q is limited to 100 characters. docs/CONTRACT.md: gunicorn refuses a request line over 4094 bytes (414)
    # before the app runs; uvicorn passes it on and the app answers 422. Never a 5xx, never a hang.
    response = client.get("/items", params={"q": "x" * 10_000})
    if framework == "fastapi":
        assert_422_at(response, ("query", "q"))
    else:
        assert response.status_code == 414, describe(response)
    assert client.get("/items", params={"q": "x" * 100}).status_code == 200


def _raw_request(base_url: str, request_line: bytes) -> bytes:
    """Send one request line over a plain socket (httpx refuses URLs this long); return the status line."""
    url = httpx.URL(base_url)
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("size", [10_000, 100_000])
def test_huge_request_line_is_a_4xx(client: httpx.Client, size: int) -> None:
    # A URL no server should take: refused with a 4xx (status only: it may be refused before the app runs).
    status_line = _raw_request(str(client.base_url), b"GET /items/" + b"9" * size + b" HTTP/1.1")
    assert status_line.startswith(b"HTTP/1.1 4"), status_line
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("query", "expected_len"),
    [("limit=5&limit=7", 7), ("limit=abc&limit=3", 3), ("skip=1&skip=0&limit=2", 2), ("q=zzz&q=&limit=4", 4)],
)
def test_duplicate_query_params_use_the_last_value(client: httpx.Client, query: str, expected_len: int) -> None:
    response = client.get(f"/items?{query}")
    assert response.status_code == 200, describe(response)
    assert len(response.json()["data"]) == expected_len


def test_duplicate_query_param_with_a_bad_last_value_is_422(client: httpx.Client) -> None:
    assert_422_at(client.get("/items?limit=5&limit=abc"), ("query", "limit"))
    assert_422_at(client.get("/items?skip=0&skip=-1"), ("query", "skip"))


def test_unknown_and_repeated_params_are_ignored(client: httpx.Client) -> None:
    response = client.get("/items?limit=2&evil=%00&evil=1&__proto__=x&limit[]=9")
    assert response.status_code == 200, describe(response)
    assert len(response.json()["data"]) == 2


def test_nothing_hostile_broke_the_server(client: httpx.Client, db: Engine) -> None:
    # Runs after the table: the server is healthy, and the seeded rows are all still there.
    health = client.get("/health")
    assert health.status_code == 200, describe(health)
    assert health.json()["database"] == "ok"
    assert scalar(db, "SELECT count(*) FROM items WHERE id <= 200") == 200
    assert scalar(db, "SELECT count(*) FROM users WHERE id <= 20") == 20
