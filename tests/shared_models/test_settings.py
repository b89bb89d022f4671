"""AppSettings from the environment, and the shared password/JWT helpers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from shared_models.security import (
    InvalidTokenError,
    create_access_token,
    decode_access_token,
    hash_password,
    verify_password,
)
from shared_models.settings import DEFAULT_JWT_SECRET, AppSettings

SECRET = "a-test-secret-that-is-long-enough-0123456789"
_ENV = ("DATABASE_URL", "CORS_ORIGINS", "APP_ENV", "JWT_SECRET", "DB_POOL_SIZE", "LOG_LEVEL", "CARRIER_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Start every test from the defaults, whatever the session's environment holds."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- settings ----------------------------------------------------------------------------------------------
def test_cors_origins_from_comma_separated_env(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CORS_ORIGINS", " https://a.example, https://b.example ,, ")
    assert AppSettings().cors_origins == ["https://a.example", "https://b.example"]
    assert AppSettings(cors_origins=["https://c.example"]).cors_origins == ["https://c.example"]


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:p%40ss@db.example:6543/bench", "postgresql+asyncpg://u:p%40ss@db.example:6543/bench"],
)
def test_sync_and_async_urls(clean_env: pytest.MonkeyPatch, url: str) -> None:
    clean_env.setenv("DATABASE_URL", url)
    settings = AppSettings()
    assert settings.sync_database_url.drivername == "postgresql+psycopg2"
    assert settings.async_database_url.drivername == "postgresql+asyncpg"
    for converted in (settings.sync_database_url, settings.async_database_url):
        assert (converted.username, converted.password, converted.host) == ("u", "p@ss", "db.example")
        assert (converted.port, converted.database) == (6543, "bench")


def test_production_refuses_default_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("APP_ENV", "production")
    with pytest.raises(ValidationError, match="JWT_SECRET is the built-in development default"):
        AppSettings()
    clean_env.setenv("JWT_SECRET", SECRET)
    assert AppSettings().is_production
    assert AppSettings(app_env="development").jwt_secret == SECRET
    assert AppSettings(app_env="development", jwt_secret=DEFAULT_JWT_SECRET).is_production is False


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("DB_POOL_SIZE", "many", "db_pool_size"),
        ("DB_POOL_SIZE", "0", "db_pool_size"),
        ("APP_ENV", "staging", "app_env"),
        ("JWT_SECRET", "short", "jwt_secret"),
        ("DATABASE_URL", "mysql://u@h/db", "database_url"),
        ("CARRIER_URL", "not a url", "carrier_url"),
    ],
)
def test_bad_env_values_name_the_field(clean_env: pytest.MonkeyPatch, name: str, value: str, field: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        AppSettings()
    assert [error["loc"] for error in info.value.errors()] == [(field,)]
    assert field in str(info.value)


def test_log_level_is_case_insensitive(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LOG_LEVEL", "WARNING")
    assert AppSettings().log_level == "warning"


# --- security ----------------------------------------------------------------------------------------------
def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password("correct horse battery", hashed)
    assert not verify_password("wrong horse battery", hashed)
    assert not verify_password("anything", None)  # unknown user: same work, always False


def _token(**claims: object) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"sub": "7", "iat": now, "exp": now + timedelta(minutes=5)} | claims, SECRET, "HS256")


def test_token_round_trip() -> None:
    token = create_access_token(user_id=42, secret=SECRET, algorithm="HS256", expires_minutes=5)
    assert decode_access_token(token, secret=SECRET, algorithm="HS256") == 42


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_token(exp=datetime.now(UTC) - timedelta(seconds=1)), id="expired"),
        pytest.param(jwt.encode({"sub": "7", "exp": time.time() + 300}, "x" * 40, "HS256"), id="forged"),
        pytest.param(jwt.encode({"sub": "7", "exp": time.time() + 300}, None, "none"), id="alg-none"),
        pytest.param(_token()[:-2] + "xx", id="tampered-signature"),
        pytest.param(jwt.encode({"sub": "7", "exp": time.time() + 300}, SECRET * 2, "HS512"), id="other-alg"),
        pytest.param(_token(sub="abc"), id="non-numeric-sub"),
        pytest.param(_token(sub="0"), id="sub-out-of-range"),
        pytest.param(jwt.encode({"sub": "7"}, SECRET, "HS256"), id="no-exp"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_raise_invalid_token(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, secret=SECRET, algorithm="HS256")


def test_expired_token_from_create() -> None:
    token = create_access_token(user_id=1, secret=SECRET, algorithm="HS256", expires_minutes=-1)
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_access_token(token, secret=SECRET, algorithm="HS256")
