"""GET /health, POST /auth/register, POST /auth/token and GET /users/me (docs/CONTRACT.md, Auth)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import Engine, text

import shared_models
from shared_models.schemas import TokenForm, UserCreate
from tests.support.api import PASSWORD, Account, bearer, login, make_token, register, unique_email, unsigned_token

from .helpers import (
    BAD_CREDENTIALS,
    NOT_AUTHENTICATED,
    USER_PUBLIC_KEYS,
    assert_401,
    assert_422,
    assert_detail,
    assert_json,
    expected_errors,
    locs,
)

INCORRECT_LOGIN = "Incorrect email or password"


# --- health ----------------------------------------------------------------------------------------------
def test_health_is_exactly_the_contract_body(client: httpx.Client) -> None:
    response = client.get("/health")
    assert_json(response, 200, {"status": "healthy", "version": shared_models.__version__, "database": "ok"})


def test_liveness_answers_without_the_database(client: httpx.Client) -> None:
    response = client.get("/health/live")
    assert_json(response, 200, {"status": "alive", "version": shared_models.__version__})


# --- register --------------------------------------------------------------------------------------------
def test_register_returns_user_public_without_password(client: httpx.Client, db: Engine) -> None:
    email = unique_email("reg")
    response = client.post("/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada L."})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == USER_PUBLIC_KEYS
    assert "password" not in response.text
    assert "hashed" not in response.text
    assert isinstance(body["id"], int)
    assert body["id"] >= 1
    assert body["email"] == email
    assert body["full_name"] == "Ada L."
    created = datetime.fromisoformat(body["created_at"])
    assert created.tzinfo is not None
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    with db.connect() as conn:
        row = conn.execute(text("SELECT email, hashed_password FROM users WHERE id = :id"), {"id": body["id"]}).one()
    assert row.email == email
    assert row.hashed_password.startswith("$argon2")
    assert PASSWORD not in row.hashed_password


def test_register_full_name_is_optional(client: httpx.Client) -> None:
    body = register(client)
    assert body["full_name"] is None


def test_register_duplicate_email_is_409(client: httpx.Client, db: Engine) -> None:
    email = unique_email("dup")
    register(client, email)
    response = client.post("/auth/register", json={"email": email, "password": "another-password"})
    assert_detail(response, 409, "Email already registered")
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users WHERE email = :e"), {"e": email}).scalar_one() == 1


@pytest.mark.parametrize(
    ("case", "body", "field"),
    [
        ("bad email", {"email": "not-an-email", "password": PASSWORD}, "email"),
        ("short password", {"email": "short@example.com", "password": "x" * 7}, "password"),
        ("long password", {"email": "long@example.com", "password": "x" * 129}, "password"),
        (
            "NUL in full_name",
            {"email": "nul@example.com", "password": PASSWORD, "full_name": "a\x00b"},
            "full_name",
        ),
        ("missing password", {"email": "nopw@example.com"}, "password"),
    ],
)
def test_register_invalid_body_is_422(client: httpx.Client, case: str, body: dict, field: str) -> None:
    response = client.post("/auth/register", json=body)
    assert locs(response) == [["body", field]], case
    assert_422(response, expected_errors(UserCreate, body))


def test_register_password_at_the_limits_is_accepted(client: httpx.Client) -> None:
    for password in ("x" * 8, "y" * 128):
        response = client.post("/auth/register", json={"email": unique_email("lim"), "password": password})
        assert response.status_code == 201, response.text


# --- token -----------------------------------------------------------------------------------------------
def test_token_form_login(client: httpx.Client) -> None:
    user = register(client)
    response = client.post("/auth/token", data={"username": user["email"], "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    assert claims["sub"] == str(user["id"])
    assert claims["exp"] - claims["iat"] == 60 * 60
    me = client.get("/users/me", headers=bearer(body["access_token"]))
    assert_json(me, 200, user)


def test_token_multipart_login(client: httpx.Client) -> None:
    user = register(client)
    response = client.post("/auth/token", files={"username": (None, user["email"]), "password": (None, PASSWORD)})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


def test_token_wrong_password_is_401(client: httpx.Client) -> None:
    user = register(client)
    response = client.post("/auth/token", data={"username": user["email"], "password": PASSWORD + "-wrong"})
    assert_401(response, INCORRECT_LOGIN)


def test_token_unknown_user_is_401(client: httpx.Client) -> None:
    response = client.post("/auth/token", data={"username": unique_email("ghost"), "password": PASSWORD})
    assert_401(response, INCORRECT_LOGIN)


def test_token_missing_username_is_422(client: httpx.Client) -> None:
    response = client.post("/auth/token", data={"password": PASSWORD})
    assert locs(response) == [["body", "username"]]
    entry = response.json()["detail"][0]
    assert (entry["type"], entry["msg"]) == ("missing", "Field required")


def test_token_missing_both_fields_is_422(client: httpx.Client) -> None:
    response = client.post("/auth/token", data={})
    assert locs(response) == [["body", "username"], ["body", "password"]]
    assert {e["type"] for e in response.json()["detail"]} == {"missing"}


def test_token_bad_grant_type_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/auth/token", data={"grant_type": "client_credentials", "username": "a@b.co", "password": "x"}
    )
    assert locs(response) == [["body", "grant_type"]]
    expected = expected_errors(TokenForm, {"grant_type": "client_credentials", "username": "a", "password": "x"})
    assert response.json()["detail"] == expected


def test_token_json_body_instead_of_form_is_422(client: httpx.Client) -> None:
    user = register(client)
    response = client.post("/auth/token", json={"username": user["email"], "password": PASSWORD})
    assert response.status_code == 422, response.text
    assert ["body", "username"] in locs(response)
    assert ["body", "password"] in locs(response)


# --- /users/me -------------------------------------------------------------------------------------------
def test_me_returns_the_current_user(client: httpx.Client, seed_user: Account) -> None:
    response = client.get("/users/me", headers=seed_user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == USER_PUBLIC_KEYS
    assert (body["id"], body["email"]) == (seed_user.id, seed_user.email)


def test_me_accepts_a_token_signed_with_the_dev_secret(client: httpx.Client, seed_user: Account) -> None:
    # Precondition of the forged-token tests below: the live servers sign with DEFAULT_JWT_SECRET.
    response = client.get("/users/me", headers=bearer(make_token(sub=seed_user.id)))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == seed_user.id


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
        pytest.param({"Authorization": "Token abc.def.ghi"}, id="other-scheme"),
        pytest.param({"Authorization": ""}, id="empty-header"),
    ],
)
def test_me_without_bearer_is_not_authenticated(client: httpx.Client, headers: dict[str, str]) -> None:
    assert_401(client.get("/users/me", headers=headers), NOT_AUTHENTICATED)


def _bad_tokens(user_id: int) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "garbage": "garbage",
        "expired": make_token(sub=user_id, expires_in=timedelta(minutes=-1)),
        "wrong-signature": make_token(sub=user_id, secret="s" * 48),
        "alg-none": unsigned_token({"sub": str(user_id), "exp": int((now + timedelta(minutes=5)).timestamp())}),
        "HS512-with-dev-secret": make_token(sub=user_id, algorithm="HS512"),
        "no-exp": make_token({"sub": str(user_id)}),
        "no-sub": make_token({"exp": now + timedelta(minutes=5)}),
        "non-numeric-sub": make_token(sub="abc"),
        "sub-out-of-range": make_token(sub=99_999_999_999),
        "sub-zero": make_token(sub=0),
        "unknown-user": make_token(sub=2_147_483_647),
        "truncated": make_token(sub=user_id)[:-5],
    }


@pytest.mark.parametrize("kind", list(_bad_tokens(1)))
def test_me_with_invalid_token_is_401(client: httpx.Client, seed_user: Account, kind: str) -> None:
    token = _bad_tokens(seed_user.id)[kind]
    assert_401(client.get("/users/me", headers=bearer(token)), BAD_CREDENTIALS)


def test_me_for_a_deleted_user_is_401(client: httpx.Client, db: Engine) -> None:
    user = register(client)
    token = login(client, user["email"], PASSWORD)
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    with db.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user["id"]})
    assert_401(client.get("/users/me", headers=bearer(token)), BAD_CREDENTIALS)
