"""Side-by-side parity: the same requests to both running apps must get the same answers.

Each scenario runs its steps in order against FastAPI and Flask alternately, so both databases stay in step.
Bodies are compared after normalising only what legitimately differs between two servers: timestamps, tokens
and the ids of rows a scenario created (earlier tests may have created different numbers of rows, so new ids
are replaced by symbols in order of first appearance; seed ids are compared as they are).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email
from shared_models.migrate import sync_url
from tests.support.api import make_token, unsigned_token

from .helpers import MISSING_ID

FRAMEWORK_ORDER = ("fastapi", "flask")
COMPARED_HEADERS = (
    "content-type",
    "www-authenticate",
    "access-control-allow-origin",
    "access-control-allow-credentials",
)
ID_KEYS = {"user_id": "user", "item_id": "item", "order_id": "order"}
TIMESTAMP_KEYS = {"created_at", "updated_at", "sent_at"}
ITEM_IN_TEXT = re.compile(r"\b([Ii]tem )(\d+)\b")
TABLES = {"user": "users", "item": "items", "order": "orders", "line": "order_items"}

Ctx = dict[str, Any]
Value = Any | Callable[[Ctx], Any]


@dataclass
class Step:
    """One request; any field may be a function of the per-server context (ids, tokens)."""

    name: str
    method: str
    path: Value
    kind: str | None = None  # what a top-level / data[] "id" is: item, order, user
    auth: str | None = None  # context key of the bearer token to send
    params: Value = None
    json: Value = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    save: Callable[[Ctx, Any], None] | None = None  # remember something from the JSON answer
    # CORS preflights are answered by the CORS layers (Starlette's CORSMiddleware, flask-cors): only the status
    # and the headers a browser acts on are contract; their bodies and extra headers are not.
    preflight: bool = False
    # The count of an unfiltered listing depends on what earlier tests created on that server (under xdist the
    # two servers of a worker see different tests); the per-app tests check it against the database.
    volatile_count: bool = False


def _resolve(value: Value, ctx: Ctx) -> Any:
    return value(ctx) if callable(value) else value


class Normaliser:
    """Replaces one server's new ids with symbols and drops timestamps and tokens."""

    def __init__(self, watermarks: dict[str, int]) -> None:
        self.watermarks = watermarks
        self.symbols: dict[tuple[str, int], str] = {}
        self.counters: dict[str, int] = {}

    def _id(self, kind: str, value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or value <= self.watermarks[kind]:
            return value
        key = (kind, value)
        if key not in self.symbols:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            self.symbols[key] = f"<new {kind} #{self.counters[kind]}>"
        return self.symbols[key]

    def __call__(self, body: Any, kind: str | None) -> Any:
        if isinstance(body, list):
            return [self(entry, kind) for entry in body]
        if isinstance(body, str):
            # Messages naming a new item ("Item 231 not found", "Item 231 appears in more than one line").
            return ITEM_IN_TEXT.sub(lambda m: f"{m[1]}{self._id('item', int(m[2]))}", body)
        if not isinstance(body, dict):
            return body
        # Timestamps of rows the scenario created differ by nature; those of seed rows must match.
        new_row = kind is not None and isinstance(self._id(kind, body.get("id")), str)
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key in TIMESTAMP_KEYS and new_row:
                out[key] = "<timestamp>" if isinstance(value, str) else value
            elif key == "access_token":
                out[key] = "<token>" if isinstance(value, str) else value
            elif key == "id" and kind:
                out[key] = self._id(kind, value)
            elif key in ID_KEYS:
                out[key] = self._id(ID_KEYS[key], value)
            elif key == "lines":
                out[key] = self(value, "line")
            else:
                # Everything else, validation errors included, is compared exactly, up to new ids.
                out[key] = self(value, kind if key == "data" else None)
        return out


def _watermarks(database_url: str) -> dict[str, int]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return {
                kind: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
                for kind, table in TABLES.items()
            }
    finally:
        engine.dispose()


def _answer(response: httpx.Response, normalise: Normaliser, step: Step) -> dict[str, Any]:
    headers = {name: response.headers.get(name) for name in COMPARED_HEADERS}
    headers["x-process-time present"] = "x-process-time" in response.headers
    if headers["access-control-allow-origin"] is None:
        # Without Allow-Origin a browser ignores Allow-Credentials (Starlette sends it regardless).
        headers.pop("access-control-allow-credentials")
    if step.preflight:
        headers.pop("content-type")
        allow = response.headers.get("access-control-allow-headers")
        headers["access-control-allow-headers"] = allow and allow.lower()
        return {"status": response.status_code, "headers": headers}
    if response.content and response.headers.get("content-type", "").startswith("application/json"):
        parsed = response.json()
        body: Any = normalise(parsed, step.kind)
        if step.volatile_count and isinstance(body, dict) and "count" in body:
            body["count"] = "<count of every item>"
        elif body == parsed:
            # Nothing needed masking: the contract promises the same bytes (up to Flask's trailing newline).
            return {"status": response.status_code, "headers": headers, "bytes": response.content.rstrip(b"\n")}
        # Serialised again so that key order counts, as it does in the bytes.
        body = json.dumps(body, ensure_ascii=False)
    else:
        body = response.content
    return {"status": response.status_code, "headers": headers, "body": body}


def run_scenario(live_servers: dict[str, Any], steps: list[Step], ctx_init: Callable[[str], Ctx]) -> None:
    clients = {fw: httpx.Client(base_url=live_servers[fw].url, timeout=10) for fw in FRAMEWORK_ORDER}
    normalisers = {fw: Normaliser(_watermarks(live_servers[fw].database_url)) for fw in FRAMEWORK_ORDER}
    contexts = {fw: ctx_init(fw) for fw in FRAMEWORK_ORDER}
    mismatches: list[str] = []
    try:
        for step in steps:
            answers = {}
            for fw in FRAMEWORK_ORDER:
                ctx = contexts[fw]
                headers = dict(step.headers)
                if step.auth:
                    headers["Authorization"] = f"Bearer {ctx[step.auth]}"
                kwargs: dict[str, Any] = {"headers": headers, "params": _resolve(step.params, ctx)}
                body = _resolve(step.json, ctx)
                if body is not None:
                    kwargs["json"] = body
                elif step.content is not None:
                    kwargs["content"] = step.content
                elif step.data is not None:
                    kwargs["data"] = step.data
                response = clients[fw].request(step.method, _resolve(step.path, ctx), **kwargs)
                if step.save is not None and response.status_code < 300:
                    step.save(ctx, response.json())
                answers[fw] = _answer(response, normalisers[fw], step)
            if answers["fastapi"] != answers["flask"]:
                fa, fl = _short(answers["fastapi"]), _short(answers["flask"])
                mismatches.append(f"{step.name}:\n  fastapi: {fa}\n  flask:   {fl}")
    finally:
        for c in clients.values():
            c.close()
    assert not mismatches, f"{len(mismatches)} of {len(steps)} steps differ:\n" + "\n".join(mismatches)


def _short(answer: dict[str, Any]) -> str:
    text_ = json.dumps(answer, default=repr, ensure_ascii=False)
    return text_ if len(text_) < 1500 else text_[:1500] + "…"


# --- scenarios -------------------------------------------------------------------------------------------
def _public_steps() -> list[Step]:
    quote = "/items/{}/shipping-quote"
    return [
        Step("health", "GET", "/health"),
        Step("liveness", "GET", "/health/live"),
        Step("items first page", "GET", "/items", kind="item", params={"limit": 3}, volatile_count=True),
        Step("items page 2", "GET", "/items", kind="item", params={"skip": 3, "limit": 2}, volatile_count=True),
        Step("items search", "GET", "/items", kind="item", params={"q": "WIDGET", "limit": 2}),
        Step("items search literal %", "GET", "/items", kind="item", params={"q": "%Kettle"}),
        Step("items search literal _", "GET", "/items", kind="item", params={"q": "_Kettle"}),
        Step("items search backslash", "GET", "/items", kind="item", params={"q": "Kettle\\"}),
        Step("item 1", "GET", "/items/1", kind="item"),
        Step("item missing", "GET", f"/items/{MISSING_ID}"),
        Step("item abc", "GET", "/items/abc"),
        Step("item 0", "GET", "/items/0"),
        Step("item huge", "GET", "/items/99999999999"),
        Step("items limit=0", "GET", "/items", params={"limit": 0}),
        Step("items limit=101", "GET", "/items", params={"limit": 101}),
        Step("items skip=-1", "GET", "/items", params={"skip": -1}),
        Step("items limit=abc", "GET", "/items", params={"limit": "abc"}),
        Step("items q too long", "GET", "/items", params={"q": "q" * 101}),
        Step("items several bad params", "GET", "/items", params={"skip": "x", "limit": "y"}),
        Step(
            "items repeated param",
            "GET",
            "/items",
            kind="item",
            params=[("limit", "2"), ("limit", "3")],
            volatile_count=True,
        ),
        Step("items empty q", "GET", "/items", kind="item", params={"q": "", "limit": 1}, volatile_count=True),
        Step(
            "items unknown param", "GET", "/items", kind="item", params={"limit": 1, "foo": "bar"}, volatile_count=True
        ),
        Step("item percent-encoded id", "GET", "/items/%31", kind="item"),
        Step("item full-width digit id", "GET", "/items/%EF%BC%91"),
        Step("item id with spaces", "GET", "/items/%201%20"),
        Step("quote", "GET", quote.format(1), params={"zip": "10115"}),
        Step("quote zip 123", "GET", quote.format(1), params={"zip": "123"}),
        Step("quote zip missing", "GET", quote.format(1)),
        Step("quote unknown item", "GET", quote.format(MISSING_ID), params={"zip": "10115"}),
        Step("quote item abc", "GET", quote.format("abc"), params={"zip": "10115"}),
        Step("unknown route", "GET", "/nope"),
        Step("unknown nested route", "GET", "/items/1/nope"),
        Step("wrong method PUT", "PUT", "/items/1"),
        Step("wrong method POST /health", "POST", "/health"),
        Step("wrong method GET /auth/token", "GET", "/auth/token"),
        Step(
            "CORS preflight allowed",
            "OPTIONS",
            "/items",
            headers={
                "Origin": "https://allowed.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
            preflight=True,
        ),
        Step("CORS simple allowed", "GET", "/health", headers={"Origin": "https://allowed.example"}),
        Step("CORS simple evil", "GET", "/health", headers={"Origin": "https://evil.example"}),
        Step("orders without auth", "GET", "/orders"),
        Step("me without auth", "GET", "/users/me"),
        Step("me garbage token", "GET", "/users/me", headers={"Authorization": "Bearer garbage"}),
        Step("me basic auth", "GET", "/users/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        Step(
            "me alg none",
            "GET",
            "/users/me",
            headers={"Authorization": f"Bearer {unsigned_token({'sub': '1'})}"},
        ),
        Step(
            "me expired",
            "GET",
            "/users/me",
            headers={"Authorization": f"Bearer {make_token(sub=1, expires_in=timedelta(minutes=-1))}"},
        ),
        Step(
            "me unknown user",
            "GET",
            "/users/me",
            headers={"Authorization": f"Bearer {make_token(sub=MISSING_ID)}"},
        ),
    ]


def _account_steps(email: str) -> list[Step]:
    json_ct = {"Content-Type": "application/json"}
    password = "parity-password-1"

    def save_token(ctx: Ctx, body: Any) -> None:
        ctx["token"] = body["access_token"]

    return [
        Step("register", "POST", "/auth/register", kind="user", json={"email": email, "password": password}),
        Step("register duplicate", "POST", "/auth/register", json={"email": email, "password": password}),
        Step("register bad email", "POST", "/auth/register", json={"email": "nope", "password": password}),
        Step("register short password", "POST", "/auth/register", json={"email": "a@b.co", "password": "short"}),
        Step(
            "register long password",
            "POST",
            "/auth/register",
            json={"email": "a@b.co", "password": "p" * 129},
        ),
        Step(
            "register NUL full_name",
            "POST",
            "/auth/register",
            json={"email": "a@b.co", "password": password, "full_name": "a\x00"},
        ),
        Step("register empty object", "POST", "/auth/register", json={}),
        Step("register JSON array", "POST", "/auth/register", json=[1, 2]),
        Step("register empty body", "POST", "/auth/register", content=b"", headers=json_ct),
        Step("register malformed JSON", "POST", "/auth/register", content=b"{bad", headers=json_ct),
        Step(
            "register truncated JSON",
            "POST",
            "/auth/register",
            content=b'{"email": "a@b.co", ',
            headers=json_ct,
        ),
        Step("register JSON NaN", "POST", "/auth/register", content=b'{"email": NaN}', headers=json_ct),
        Step("register deeply nested JSON", "POST", "/auth/register", content=b"[" * 100_000, headers=json_ct),
        Step(
            "register extra fields ignored",
            "POST",
            "/auth/register",
            kind="user",
            json={"email": "x-" + email, "password": password, "is_admin": True},
        ),
        Step("register invalid UTF-8", "POST", "/auth/register", content=b'{"email": "\xff"}', headers=json_ct),
        Step(
            "register text/plain",
            "POST",
            "/auth/register",
            content=json.dumps({"email": "a@b.co", "password": password}).encode(),
            headers={"Content-Type": "text/plain"},
        ),
        Step(
            "register body too large",
            "POST",
            "/auth/register",
            content=b"x" * (1_048_576 + 1),
            headers=json_ct,
        ),
        Step("token", "POST", "/auth/token", data={"username": email, "password": password}, save=save_token),
        Step("token wrong password", "POST", "/auth/token", data={"username": email, "password": "wrong-pw-1"}),
        Step(
            "token unknown user",
            "POST",
            "/auth/token",
            data={"username": "ghost@example.com", "password": "x"},
        ),
        Step("token missing username", "POST", "/auth/token", data={"password": password}),
        Step("token missing both", "POST", "/auth/token", data={}),
        Step("token JSON body", "POST", "/auth/token", json={"username": email, "password": password}),
        Step(
            "token bad grant_type",
            "POST",
            "/auth/token",
            data={"username": email, "password": "x", "grant_type": "y"},
        ),
        Step("me", "GET", "/users/me", kind="user", auth="token"),
        Step(
            "me wrong signature",
            "GET",
            "/users/me",
            headers={"Authorization": f"Bearer {make_token(sub=1, secret='x' * 40)}"},
        ),
        Step("my orders (none)", "GET", "/orders", kind="order", auth="token"),
        # Which check wins when several fail: body decoding, authentication, path/query/body validation.
        Step("malformed JSON without auth", "POST", "/items", content=b"{bad", headers=json_ct),
        Step("invalid item without auth", "POST", "/items", json={"name": "", "price": 0}),
        Step("empty body without auth", "POST", "/orders", content=b"", headers=json_ct),
        Step("bad path id without auth", "PATCH", "/items/abc", json={"stock": 1}),
        Step("bad query without auth", "GET", "/orders", params={"limit": 0}),
        Step("bad path and body", "PATCH", "/items/abc", auth="token", json={"price": 0, "name": None}),
        Step("bad path and query", "GET", "/items/0/shipping-quote", params={"zip": "1"}),
        Step("too large without auth", "POST", "/orders", content=b"[" + b" " * 1_048_576 + b"]", headers=json_ct),
        Step("too large to an unknown route", "POST", "/nope", content=b"x" * 1_048_577),
        Step("wrong method without auth", "DELETE", "/orders"),
        # Form details: the last of a repeated field wins, an empty field is absent, multipart needs a boundary.
        Step(
            "token repeated username",
            "POST",
            "/auth/token",
            content=f"username=ghost%40example.com&username={email.replace('@', '%40')}&password={password}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        Step("token empty username", "POST", "/auth/token", data={"username": "", "password": password}),
        Step(
            "token multipart without boundary",
            "POST",
            "/auth/token",
            content=b"username=a&password=b",
            headers={"Content-Type": "multipart/form-data"},
        ),
    ]


def _item_and_order_steps(email: str, other_email: str) -> list[Step]:
    password = "parity-password-2"

    def keep(key: str) -> Callable[[Ctx, Any], None]:
        def save(ctx: Ctx, body: Any) -> None:
            ctx[key] = body["access_token"] if "access_token" in body else body["id"]

        return save

    def lines(*pairs: tuple[str | int, int]) -> Callable[[Ctx], dict[str, Any]]:
        def build(ctx: Ctx) -> dict[str, Any]:
            return {
                "lines": [{"item_id": ctx[ref] if isinstance(ref, str) else ref, "quantity": q} for ref, q in pairs]
            }

        return build

    item_path = lambda key: lambda ctx: f"/items/{ctx[key]}"  # noqa: E731
    name_a, name_b = f"parity-a-{uuid.uuid4().hex[:8]}", f"parity-b-{uuid.uuid4().hex[:8]}"
    return [
        Step(
            "register buyer",
            "POST",
            "/auth/register",
            kind="user",
            json={"email": email, "password": password},
        ),
        Step(
            "register other",
            "POST",
            "/auth/register",
            kind="user",
            json={"email": other_email, "password": password},
        ),
        Step(
            "login buyer",
            "POST",
            "/auth/token",
            data={"username": email, "password": password},
            save=keep("t"),
        ),
        Step(
            "login other",
            "POST",
            "/auth/token",
            data={"username": other_email, "password": password},
            save=keep("o"),
        ),
        Step("create item without auth", "POST", "/items", json={"name": name_a, "price": 1}),
        Step(
            "create item A",
            "POST",
            "/items",
            kind="item",
            auth="t",
            json={"name": name_a, "description": "A", "price": 19.99, "stock": 5},
            save=keep("a"),
        ),
        Step(
            "create item B",
            "POST",
            "/items",
            kind="item",
            auth="t",
            json={"name": name_b, "price": "0.10", "stock": 100},
            save=keep("b"),
        ),
        Step("create item price 0", "POST", "/items", auth="t", json={"name": "x", "price": 0}),
        Step("create item price 1.234", "POST", "/items", auth="t", json={"name": "x", "price": 1.234}),
        Step(
            "create item price 1e400",
            "POST",
            "/items",
            auth="t",
            content=b'{"name": "x", "price": 1e400}',
            headers={"Content-Type": "application/json"},
        ),
        Step("create item name empty", "POST", "/items", auth="t", json={"name": "", "price": 1}),
        Step("create item name 101", "POST", "/items", auth="t", json={"name": "n" * 101, "price": 1}),
        Step("create item name NUL", "POST", "/items", auth="t", json={"name": "\x00", "price": 1}),
        Step(
            "create item everything wrong",
            "POST",
            "/items",
            auth="t",
            json={"name": 5, "price": -1, "stock": "x"},
        ),
        Step(
            "create item price NaN",
            "POST",
            "/items",
            auth="t",
            content=b'{"name": "x", "price": NaN}',
            headers={"Content-Type": "application/json"},
        ),
        Step("get item A", "GET", item_path("a"), kind="item"),
        Step("search item A", "GET", "/items", kind="item", params={"q": name_a.upper()}),
        Step("quote item A", "GET", lambda ctx: f"/items/{ctx['a']}/shipping-quote", params={"zip": "02134"}),
        Step("patch A price", "PATCH", item_path("a"), kind="item", auth="t", json={"price": 20.5}),
        Step("patch A nothing", "PATCH", item_path("a"), kind="item", auth="t", json={}),
        Step(
            "patch A description null",
            "PATCH",
            item_path("a"),
            kind="item",
            auth="t",
            json={"description": None},
        ),
        Step("patch A name null", "PATCH", item_path("a"), auth="t", json={"name": None}),
        Step("patch A without auth", "PATCH", item_path("a"), json={"stock": 1}),
        Step("patch missing item", "PATCH", f"/items/{MISSING_ID}", auth="t", json={"stock": 1}),
        Step(
            "order",
            "POST",
            "/orders",
            kind="order",
            auth="t",
            json=lines(("b", 3), ("a", 2)),
            save=keep("o1"),
        ),
        Step("order without auth", "POST", "/orders", json=lines(("a", 1))),
        Step("order unknown item", "POST", "/orders", auth="t", json=lines(("a", 1), (MISSING_ID, 1))),
        Step("order insufficient stock", "POST", "/orders", auth="t", json=lines(("b", 1), ("a", 4))),
        Step("order duplicate items", "POST", "/orders", auth="t", json=lines(("a", 1), ("a", 1))),
        Step("order no lines", "POST", "/orders", auth="t", json={"lines": []}),
        Step("order quantity 0", "POST", "/orders", auth="t", json=lines(("a", 0))),
        Step("order quantity 101", "POST", "/orders", auth="t", json=lines(("a", 101))),
        Step("order huge item id", "POST", "/orders", auth="t", json=lines((10**30, 1))),
        Step("order quantity as string", "POST", "/orders", auth="t", json=lines(("a", "x"))),
        Step("order 51 lines", "POST", "/orders", auth="t", json=lines(*[(i, 1) for i in range(1, 52)])),
        Step("order second", "POST", "/orders", kind="order", auth="t", json=lines(("a", 3)), save=keep("o2")),
        Step("stock after orders", "GET", item_path("a"), kind="item"),
        Step("my orders", "GET", "/orders", kind="order", auth="t"),
        Step("my orders page 2", "GET", "/orders", kind="order", auth="t", params={"skip": 1, "limit": 1}),
        Step("my orders limit=0", "GET", "/orders", auth="t", params={"limit": 0}),
        Step("get my order", "GET", lambda ctx: f"/orders/{ctx['o1']}", kind="order", auth="t"),
        Step("get order of another user", "GET", lambda ctx: f"/orders/{ctx['o1']}", auth="o"),
        Step("other's orders", "GET", "/orders", kind="order", auth="o"),
        Step("get missing order", "GET", f"/orders/{MISSING_ID}", auth="t"),
        Step("get order abc", "GET", "/orders/abc", auth="t"),
        Step("delete referenced item", "DELETE", item_path("a"), auth="t"),
        Step(
            "create item C",
            "POST",
            "/items",
            kind="item",
            auth="t",
            json={"name": "c", "price": 1},
            save=keep("c"),
        ),
        Step("delete C without auth", "DELETE", item_path("c")),
        Step("delete C", "DELETE", item_path("c"), auth="t"),
        Step("get deleted C", "GET", item_path("c")),
        Step("delete C again", "DELETE", item_path("c"), auth="t"),
    ]


def _empty_context(framework: str) -> Ctx:
    return {}


@pytest.fixture(scope="module")
def live_servers(launch_app: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    """Both apps on their own identical copies of the seed data, so no other test's writes leak into parity."""
    servers = {framework: launch_app(framework) for framework in FRAMEWORK_ORDER}
    yield servers
    for server in servers.values():
        server.stop()


def test_parity_public_and_errors(live_servers: dict[str, Any]) -> None:
    run_scenario(live_servers, _public_steps(), _empty_context)


def test_parity_accounts(live_servers: dict[str, Any]) -> None:
    run_scenario(live_servers, _account_steps(f"parity-{uuid.uuid4().hex[:12]}@example.com"), _empty_context)


def test_parity_items_and_orders(live_servers: dict[str, Any]) -> None:
    tag = uuid.uuid4().hex[:12]
    steps = _item_and_order_steps(f"buyer-{tag}@example.com", f"other-{tag}@example.com")
    run_scenario(live_servers, steps, _empty_context)


def test_parity_seed_user(live_servers: dict[str, Any]) -> None:
    """A seed user's own view (same rows on both servers, timestamps included)."""
    steps = [
        Step(
            "seed login",
            "POST",
            "/auth/token",
            data={"username": load_user_email(1), "password": LOAD_USER_PASSWORD},
            save=lambda ctx, body: ctx.update(t=body["access_token"]),
        ),
        Step("seed me", "GET", "/users/me", kind="user", auth="t"),
        Step("seed orders", "GET", "/orders", kind="order", auth="t", params={"limit": 100}),
    ]
    run_scenario(live_servers, steps, _empty_context)


def test_normaliser_hides_only_what_may_differ() -> None:
    """The comparison itself: new ids, timestamps and tokens are masked; anything else still differs."""
    marks = {"user": 20, "item": 200, "order": 20, "line": 40}
    a, b = Normaliser(marks), Normaliser(marks)
    order_a = {"id": 31, "user_id": 25, "total": 1.5, "created_at": "t1", "lines": [{"id": 50, "item_id": 210}]}
    order_b = {"id": 35, "user_id": 27, "total": 1.5, "created_at": "t2", "lines": [{"id": 58, "item_id": 215}]}
    assert a(order_a, "order") == b(order_b, "order")
    assert a({"detail": "Item 210 not found"}, None) == b({"detail": "Item 215 not found"}, None)
    assert a({"access_token": "x"}, None) == b({"access_token": "y"}, None)
    # Seed ids, seed timestamps, amounts and messages are compared as they are.
    assert a({"id": 3, "created_at": "t1"}, "item") != b({"id": 3, "created_at": "t2"}, "item")
    assert a({"id": 4}, "item") != b({"id": 5}, "item")
    assert a({"detail": "Item 5 not found"}, None) != b({"detail": "Item 6 not found"}, None)
    assert a({"id": 32, "total": 1.5}, "order") != b({"id": 36, "total": 1.25}, "order")
    # A new id must keep meaning the same row: 211 (fastapi) was paired with 215 (flask), not with 216.
    c, d = Normaliser(marks), Normaliser(marks)
    assert c({"item_id": 211}, None) == d({"item_id": 215}, None)
    assert c({"item_id": 211}, None) != d({"item_id": 216}, None)
