"""Application settings shared by both apps: one pydantic-settings class, read from the environment."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, PostgresDsn, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

DEFAULT_JWT_SECRET = "dev-only-insecure-secret-change-me-0123456789"


# The first line a server prints when its settings are bad (the harness finds the cause of a failed start by it).
SETTINGS_ERROR = "invalid app settings:"


class AppSettings(BaseSettings):
    """Everything both apps read from the environment; nothing else reads os.environ."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://postgres@127.0.0.1:5432/bench"),
        description="PostgreSQL URL; the driver part is replaced per app (psycopg2 / asyncpg).",
    )
    # The pool budget is per process; the harness divides one total budget over the workers of every setup.
    db_pool_size: int = Field(default=5, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # No pre-ping (it costs asyncpg three statements per checkout and psycopg2 one): connections are replaced
    # after this age instead, and a connection that died meanwhile fails its request with the tested 503.
    db_pool_recycle_s: int = Field(default=1800, ge=1, le=24 * 3600)
    # FastAPI apps only: admit requests to the pool in arrival order (fastapi_app/admission.py). Flask needs
    # nothing: its worker's threads bound the requests in flight. Off only for the admission experiment.
    db_fifo_admission: bool = True
    jwt_secret: str = Field(default=DEFAULT_JWT_SECRET, min_length=32)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_expire_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["http://localhost:3000"])
    app_env: Literal["development", "test", "production"] = "development"
    carrier_url: HttpUrl = HttpUrl("http://127.0.0.1:8099")
    carrier_timeout_s: float = Field(default=2.0, gt=0, le=60)
    carrier_max_connections: int = Field(default=100, ge=1, le=10_000)
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept a comma-separated string (the usual env-var form) as well as a list."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> AppSettings:
        if self.app_env == "production" and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError(
                "JWT_SECRET is the built-in development default; set JWT_SECRET to a private value "
                "of at least 32 characters before running with APP_ENV=production"
            )
        return self

    @property
    def is_production(self) -> bool:
        """True when docs and schema endpoints must be off."""
        return self.app_env == "production"

    @cached_property
    def _base_url(self) -> URL:
        return make_url(str(self.database_url))

    @classmethod
    def load_or_exit(cls, **overrides: Any) -> AppSettings:
        """Settings from the environment (and overrides); on bad settings, say which and exit with status 3.

        Status 3 is what gunicorn's arbiter and uvicorn's supervisor treat as "this worker can never boot":
        they stop instead of restarting it forever.
        """
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}" for e in exc.errors()
            )
            print(f"{SETTINGS_ERROR} {problems}", file=sys.stderr, flush=True)
            raise SystemExit(3) from None

    @property
    def sync_database_url(self) -> URL:
        """The database URL for SQLAlchemy with psycopg2 (Flask)."""
        return self._base_url.set(drivername="postgresql+psycopg2")

    @property
    def async_database_url(self) -> URL:
        """The database URL for SQLAlchemy with asyncpg (FastAPI)."""
        return self._base_url.set(drivername="postgresql+asyncpg")


def engine_options(settings: AppSettings) -> dict[str, Any]:
    """create_engine / create_async_engine pool options: the same pool on every app (no overflow by default)."""
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        # No pre-ping, on every app: see db_pool_recycle_s.
        "pool_recycle": settings.db_pool_recycle_s,
    }
