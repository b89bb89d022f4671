"""Authentication and authorisation under attack, on both apps.

Forged, expired, malformed and algorithm-confused tokens on every authenticated endpoint; password storage;
responses never carrying secrets; no existence leak between users' orders; login timing that does not reveal
which e-mails exist; and refusal to run in production with the built-in JWT secret.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import Engine

from bench.drive.carrier_stub import CarrierStub
from bench.drive.servers import Framework, RunningServer, ServerStartError
from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email
from tests.support.api import (
    Account,
    bearer,
    http_client,
    login,
    make_token,
    new_account,
    scalar,
    seed_account,
    unique_email,
    unsigned_token,
)

from .helpers import INT32_MAX, describe, execute, rows, server_config

NOT_AUTHENTICATED = "Not authenticated"
BAD_CREDENTIALS = "Could not validate credentials"

# Every operation that needs a bearer token. Ids name nothing that exists, so an app that wrongly let a request
# through would answer 404 rather than change the shared seed data.
PROTECTED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/users/me", None),
    ("POST", "/items", {"name": "auth-probe", "price": 1, "stock": 1}),
    ("PATCH", f"/items/{INT32_MAX}", {"description": "auth-probe"}),
    ("DELETE", f"/items/{INT32_MAX}", None),
    ("POST", "/orders", {"lines": [{"item_id": INT32_MAX, "quantity": 1}]}),
    ("GET", "/orders", None),
    ("GET", f"/orders/{INT32_MAX}", None),
]
PROTECTED_IDS = [f"{method} {path}" for method, path, _ in PROTECTED]


def assert_401(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 401, describe(response)
    assert response.json() == {"detail": detail}, describe(response)
    assert response.headers.get("www-authenticate") == "Bearer", response.headers


def _call(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


# --- headers that are not `Bearer <token>` ---------------------------------------------------------------
NOT_BEARER = {
    "missing": None,
    "empty": "",
    "basic": "Basic dXNlcjpwYXNzd29yZA==",
    "basic-garbage": "Basic xxx",
    "digest": 'Digest username="u", realm="r"',
    "token-scheme": "Token abc.def.ghi",
    "garbage": "garbage",
    "bearer-without-space": "Bearerabc.def.ghi",
    "only-jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
}


@pytest.mark.parametrize("header", list(NOT_BEARER.values()), ids=list(NOT_BEARER))
@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=PROTECTED_IDS)
def test_request_without_a_bearer_token_is_401(
    client: httpx.Client, method: str, path: str, body: dict[str, Any] | None, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    assert_401(_call(client, method, path, body, headers), NOT_AUTHENTICATED)


@pytest.mark.parametrize("header", ["Bearer", "bearer"])
@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=PROTECTED_IDS)
def test_bearer_scheme_without_a_token_is_401(
    client: httpx.Client, method: str, path: str, body: dict[str, Any] | None, header: str
) -> None:
    response = _call(client, method, path, body, {"Authorization": header})
    # The scheme is right but there is no token: either detail is fine (the parity test pins both apps to the
    # same one); what matters is the 401 and its challenge.
    assert response.json().get("detail") in (NOT_AUTHENTICATED, BAD_CREDENTIALS), describe(response)
    assert_401(response, response.json()["detail"])


# --- bearer tokens that must not authenticate ------------------------------------------------------------
def _bad_tokens(user_id: int) -> dict[str, str]:
    now = datetime.now(UTC)
    later = now + timedelta(minutes=5)
    valid = make_token(sub=str(user_id))
    header, payload, signature = valid.split(".")
    return {
        "one-part": "abc",
        "two-parts": "a.b",
        "three-garbage-parts": "a.b.c",
        "garbage": "!!!not-a-token!!!",
        "expired": make_token(sub=str(user_id), expires_in=timedelta(seconds=-1)),
        "expired-long-ago": make_token(sub=str(user_id), expires_in=timedelta(days=-365)),
        "not-yet-valid": make_token(claims={"sub": str(user_id), "exp": later, "nbf": later}),
        "wrong-signature": make_token(sub=str(user_id), secret="another-secret-of-at-least-32-characters!!"),
        "signature-stripped": f"{header}.{payload}.",
        "signature-of-another-token": f"{header}.{payload}.{make_token(sub='2').split('.')[2]}",
        "payload-tampered": f"{header}.{make_token(sub='2').split('.')[1]}.{signature}",
        "alg-none": unsigned_token({"sub": str(user_id), "exp": int(later.timestamp())}),
        "HS512-same-secret": make_token(sub=str(user_id), algorithm="HS512"),
        "HS384-same-secret": make_token(sub=str(user_id), algorithm="HS384"),
        "no-exp": make_token(claims={"sub": str(user_id)}),
        "no-sub": make_token(claims={"exp": later}),
        "sub-int-not-string": make_token(claims={"sub": user_id, "exp": later}),
        "sub-non-integer": make_token(sub="abc"),
        "sub-float": make_token(sub="1.5"),
        "sub-empty": make_token(sub=""),
        "sub-negative": make_token(sub="-1"),
        "sub-zero": make_token(sub="0"),
        "sub-int32-overflow": make_token(sub=str(INT32_MAX + 1)),
        "sub-huge": make_token(sub="9" * 40),
        "sub-4301-digits": make_token(sub="9" * 4301),
        "sub-unknown-user": make_token(sub=str(INT32_MAX)),
        "sub-sql": make_token(sub="1 OR 1=1"),
        "sub-null": make_token(claims={"sub": None, "exp": later}),
        "sub-list": make_token(claims={"sub": [str(user_id)], "exp": later}),
        "exp-string": make_token(claims={"sub": str(user_id), "exp": "tomorrow"}),
        "truncated": valid[:-5],
        "extra-segment": f"{valid}.extra",
        "whitespace-inside": valid[:10] + " " + valid[10:],
    }


BAD_TOKEN_KINDS = list(_bad_tokens(1))


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=PROTECTED_IDS)
def test_invalid_token_is_401(
    client: httpx.Client, seed_user: Account, method: str, path: str, body: dict[str, Any] | None, kind: str
) -> None:
    token = _bad_tokens(seed_user.id)[kind]
    response = _call(client, method, path, body, {"Authorization": f"Bearer {token}"})
    assert_401(response, BAD_CREDENTIALS)


def test_odd_bearer_headers_get_the_same_answer_from_both_apps(live_servers: dict[str, RunningServer]) -> None:
    # Parity where the contract leaves room: no token after the scheme, odd spacing, the scheme's case.
    seeds = {framework: seed_account(server.url, 0) for framework, server in live_servers.items()}
    variants: dict[str, Callable[[str], str]] = {
        "bearer-only": lambda _t: "Bearer",
        "lowercase-scheme": lambda t: f"bearer {t}",
        "uppercase-scheme": lambda t: f"BEARER {t}",
        "two-spaces": lambda t: f"Bearer  {t}",
        "tab": lambda t: f"Bearer\t{t}",
        "token-then-junk": lambda t: f"Bearer {t} junk",
    }
    answers: dict[str, dict[str, tuple[int, Any]]] = {}
    for framework, server in live_servers.items():
        with http_client(server.url) as http:
            for name, build in variants.items():
                response = http.get("/users/me", headers={"Authorization": build(seeds[framework].token)})
                assert response.status_code in (200, 401), describe(response)
                if response.status_code == 401:
                    assert response.headers.get("www-authenticate") == "Bearer", describe(response)
                body = response.json()
                summary = body.get("detail") if response.status_code == 401 else body.get("email")
                answers.setdefault(name, {})[framework] = (response.status_code, summary)
    different = {name: per_app for name, per_app in answers.items() if per_app["fastapi"] != per_app["flask"]}
    assert not different, f"the apps disagree on: {different}"
    # Scheme names are case-insensitive (RFC 7235): a valid token works whatever the scheme's case.
    assert answers["lowercase-scheme"]["fastapi"][0] == 200
    assert answers["uppercase-scheme"]["fastapi"][0] == 200


def test_token_of_a_deleted_user_is_401(client: httpx.Client, db: Engine) -> None:
    account = new_account(client, "deleted")
    assert client.get("/users/me", headers=account.headers).status_code == 200
    execute(db, "DELETE FROM users WHERE id = :id", id=account.id)
    for method, path, body in PROTECTED:
        assert_401(_call(client, method, path, body, account.headers), BAD_CREDENTIALS)


# --- passwords: stored only as Argon2id, never echoed ----------------------------------------------------
def test_passwords_are_stored_only_as_argon2id(client: httpx.Client, db: Engine) -> None:
    email = unique_email("hash")
    password = "a-Very-Secret-password-42"
    response = client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, describe(response)
    (row,) = rows(db, "SELECT * FROM users WHERE email = :email", email=email)
    stored = row["hashed_password"]
    assert stored.startswith("$argon2id$v=19$"), stored
    assert stored != password
    assert password not in stored
    # Real registrations use the full cost (pwdlib's defaults; OWASP asks for at least m=19 MiB, t=2).
    params = dict(part.split("=") for part in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19_456, params
    assert int(params["t"]) >= 2, params
    # No other column holds the password either.
    assert all(value != password for value in row.values())
    # Every account in the database, seeded or registered, has an Argon2id hash.
    assert scalar(db, "SELECT count(*) FROM users WHERE hashed_password NOT LIKE '$argon2id$%'") == 0
    # Two accounts with the same password get different hashes (salted).
    other = unique_email("hash")
    assert client.post("/auth/register", json={"email": other, "password": password}).status_code == 201
    (other_row,) = rows(db, "SELECT hashed_password FROM users WHERE email = :email", email=other)
    assert other_row["hashed_password"] != stored


def _assert_no_secret(response: httpx.Response, *secrets: str) -> None:
    text = response.text
    for needle in ("hashed_password", "$argon2", *secrets):
        assert needle not in text, f"{needle!r} in {describe(response)}"
    for name in ("password", "hashed_password"):
        assert name not in response.headers, response.headers


def test_no_response_carries_a_password_or_hash(client: httpx.Client) -> None:
    email = unique_email("leak")
    password = "leak-check-password-77"
    registered = client.post("/auth/register", json={"email": email, "password": password, "full_name": "L"})
    assert registered.status_code == 201, describe(registered)
    assert set(registered.json()) == {"id", "email", "full_name", "created_at"}
    _assert_no_secret(registered, password)
    duplicate = client.post("/auth/register", json={"email": email, "password": password})
    assert duplicate.status_code == 409, describe(duplicate)
    _assert_no_secret(duplicate, password)
    token = client.post("/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, describe(token)
    assert set(token.json()) == {"access_token", "token_type"}
    _assert_no_secret(token, password)
    # The token itself carries only the subject and the times, nothing about the password.
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert set(claims) <= {"sub", "exp", "iat"}, claims
    wrong = client.post("/auth/token", data={"username": email, "password": password + "x"})
    assert wrong.status_code == 401, describe(wrong)
    _assert_no_secret(wrong, password)
    me = client.get("/users/me", headers=bearer(token.json()["access_token"]))
    assert me.status_code == 200, describe(me)
    assert set(me.json()) == {"id", "email", "full_name", "created_at"}
    _assert_no_secret(me, password)


# --- no existence leak between users ---------------------------------------------------------------------
def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    volatile = {"date", "x-process-time", "content-length", "server", "connection", "keep-alive"}
    headers = {name: value for name, value in response.headers.items() if name.lower() not in volatile}
    return response.status_code, response.content.strip(), headers


def test_another_users_order_is_indistinguishable_from_a_missing_one(client: httpx.Client, live: RunningServer) -> None:
    # Seed users 18 and 19: cheap logins, and no other suite looks at their orders.
    owner, stranger = seed_account(live.url, 18), seed_account(live.url, 19)
    placed = client.post("/orders", json={"lines": [{"item_id": 3, "quantity": 1}]}, headers=owner.headers)
    assert placed.status_code == 201, describe(placed)
    order_id = placed.json()["id"]
    assert client.get(f"/orders/{order_id}", headers=owner.headers).status_code == 200

    foreign = client.get(f"/orders/{order_id}", headers=stranger.headers)
    missing = client.get(f"/orders/{INT32_MAX}", headers=stranger.headers)
    assert foreign.status_code == 404, describe(foreign)
    assert foreign.json() == {"detail": "Order not found"}
    assert _comparable(foreign) == _comparable(missing)
    # The stranger's listing never shows it either.
    listing = client.get("/orders", params={"limit": 100}, headers=stranger.headers)
    assert listing.status_code == 200, describe(listing)
    assert order_id not in [order["id"] for order in listing.json()["data"]]
    assert all(order["user_id"] == stranger.id for order in listing.json()["data"])


# --- login timing does not tell which e-mails exist ------------------------------------------------------
def test_login_timing_does_not_reveal_unknown_users(client: httpx.Client) -> None:
    # A registered (full-cost hash) user with a wrong password vs. an e-mail that does not exist: the app
    # verifies against a dummy hash of the same cost, so both take one Argon2 verification.
    known = new_account(client, "timing")
    attempts = 7
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(attempts):
        # Interleaved, so machine-wide noise hits both series alike.
        for kind, email in (("known", known.email), ("unknown", unique_email("nobody"))):
            started = time.perf_counter()
            response = client.post("/auth/token", data={"username": email, "password": f"wrong-password-{i}"})
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401, describe(response)
            assert response.json() == {"detail": "Incorrect email or password"}
    known_median, unknown_median = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    ratio = unknown_median / known_median
    assert 0.5 <= ratio <= 2.0, f"unknown {unknown_median * 1000:.1f} ms vs known {known_median * 1000:.1f} ms"
    # And both are real Argon2 work, not an early return.
    assert min(known_median, unknown_median) > 0.01, timings


def test_login_answers_are_identical_for_unknown_and_known_users(client: httpx.Client) -> None:
    unknown = client.post("/auth/token", data={"username": unique_email("nobody"), "password": "x" * 12})
    known = client.post("/auth/token", data={"username": load_user_email(0), "password": "x" * 12})
    assert _comparable(unknown) == _comparable(known)
    assert unknown.status_code == 401
    # The right password still works (sanity check of the pair above).
    assert login(client, load_user_email(0), LOAD_USER_PASSWORD)


# --- production refuses the development secret -----------------------------------------------------------
def test_production_refuses_to_start_with_the_default_jwt_secret(
    framework: Framework,
    fresh_db: Callable[[], str],
    carrier: CarrierStub,
    own_servers: list[RunningServer],
    tmp_path: Path,
) -> None:
    # What `start_app(framework, env={"APP_ENV": "production"})` starts, with a 20 s health timeout instead of
    # 30 s: a server that crash-loops (see below) would otherwise cost half a minute, and uvicorn's supervisor
    # needs both workers to import the app before it gives up (over 10 s on a loaded 2-core CI machine).
    config = server_config(framework, database_url=fresh_db(), carrier_url=carrier.url, env={"APP_ENV": "production"})
    server = RunningServer(config, log_dir=tmp_path)
    own_servers.append(server)
    with pytest.raises(ServerStartError) as excinfo:
        server.start(timeout_s=20)
    message = str(excinfo.value)
    log = server.log_path.read_text(errors="replace")
    assert "JWT_SECRET" in log, log[-2000:]
    assert "JWT_SECRET" in message, f"the reason is in the log but not in the error's tail:\n{message[-2000:]}"
    # And it stops by itself: a server that cannot run must exit (so a supervisor sees the failure), not keep
    # respawning workers that die on the same settings error while never serving.
    assert "exited with code" in message, f"the server kept running without becoming healthy:\n{message[-1500:]}"


def test_production_rejects_tokens_signed_with_the_development_secret(
    framework: str, start_app: Callable[..., RunningServer]
) -> None:
    secret = "a-private-production-secret-of-48-characters-xx"
    server = start_app(framework, env={"APP_ENV": "production", "JWT_SECRET": secret})
    with http_client(server.url) as http:
        forged = make_token(sub="1")  # signed with DEFAULT_JWT_SECRET
        assert_401(http.get("/users/me", headers=bearer(forged)), BAD_CREDENTIALS)
        assert http.get("/users/me", headers=bearer(make_token(sub="1", secret=secret))).status_code == 200
        token = login(http, load_user_email(0), LOAD_USER_PASSWORD)
        assert http.get("/users/me", headers=bearer(token)).status_code == 200
        assert http.get("/openapi.json").status_code == 404
