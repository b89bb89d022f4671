"""Benchmark configuration: profiles from profiles.toml, overridden by command-line flags, validated up front."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bench.drive.openloop import OpenLoopSettings
from bench.drive.servers import SETUPS
from bench.registry import SCENARIOS

PROFILES_PATH = Path(__file__).with_name("profiles.toml")
# Settings of nested tables that have a flag of their own (error messages name the flag).
NESTED_FLAGS = {
    "open_loop.slo_p99_ms": "--slo-p99-ms",
    "open_loop.rates": "--open-rates",
    "open_loop.scenarios": "--open-scenarios",
}


class ConfigError(ValueError):
    """A profile or flag is wrong; the message names it."""


class RunSettings(BaseModel):
    """Every setting of one run; stored verbatim in metadata.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str
    description: str = ""
    servers: list[str] = Field(min_length=1)
    scenarios: list[str] = Field(min_length=1)
    users: list[Annotated[int, Field(ge=1, le=10_000)]] = Field(min_length=1)
    repeats: int = Field(ge=1, le=100)
    warmup_s: float = Field(ge=0, le=600)
    duration_s: float = Field(gt=0, le=3600)
    workers: int = Field(ge=0, le=256)
    threads: int = Field(ge=1, le=1024)
    pool_budget: int = Field(ge=1, le=1000)
    carrier_delay_ms: int = Field(ge=0, le=60_000)
    max_error_rate: float = Field(ge=0, le=1)
    loadgen_cpu_limit_pct: float = Field(gt=0, le=100)
    loadgen_processes: int = Field(ge=1, le=64)
    seed_users: int = Field(ge=1, le=1_000_000)
    seed_items: int = Field(ge=20, le=10_000_000)
    seed_orders: int = Field(ge=0, le=10_000_000)
    ergonomics_cold_starts: int = Field(default=5, ge=1, le=100)
    ergonomics_import_runs: int = Field(default=3, ge=1, le=100)
    open_loop: OpenLoopSettings = Field(default_factory=OpenLoopSettings)
    # The A/A control: this setup is started a second time as the independent setup "<name>~aa" ("" = none).
    aa_control: str = ""
    # Seed of the interleaved cell order; None draws one per run (either way metadata records it).
    order_seed: int | None = Field(default=None, ge=0)
    max_steal_pct: float = Field(default=5.0, ge=0, le=100)
    # Cells invalid only for CPU steal are measured again on a fresh start, at most this many times each.
    steal_retries: int = Field(default=1, ge=0, le=5)
    shared_core_limit_pct: float = Field(default=90.0, gt=0, le=100)

    @field_validator("servers")
    @classmethod
    def _known_servers(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in SETUPS]
        if unknown:
            raise ValueError(f"unknown server setup(s) {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
        return list(dict.fromkeys(value))

    @field_validator("aa_control")
    @classmethod
    def _known_control(cls, value: str) -> str:
        if value and value not in SETUPS:
            raise ValueError(f"unknown server setup {value!r}; choose from {', '.join(SETUPS)} (or '' for none)")
        return value

    @field_validator("scenarios")
    @classmethod
    def _known_scenarios(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _known_open_scenarios(self) -> RunSettings:
        unknown = [name for name in self.open_loop.scenarios or [] if name not in SCENARIOS]
        if unknown:
            raise ValueError(
                f"open_loop.scenarios (flag {NESTED_FLAGS['open_loop.scenarios']}): unknown {', '.join(unknown)}; "
                f"choose from {', '.join(SCENARIOS)}"
            )
        # A known setup the run does not include is simply not measured (a profile's list survives --servers).
        unknown = [name for name in self.open_loop.servers or [] if name.removesuffix("~aa") not in SETUPS]
        if unknown:
            raise ValueError(
                f"open_loop.servers: unknown setup(s) {', '.join(unknown)}; choose from {', '.join(SETUPS)}"
            )
        return self

    def server_workers(self, server_cpus: int) -> int:
        """Workers per setup: the configured number, or one per core given to the server."""
        return self.workers or max(1, server_cpus)


def load_profiles(path: Path = PROFILES_PATH) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Read the defaults and the named profiles from a TOML file."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read profile file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile file {path} is not valid TOML: {exc}") from exc
    defaults = data.get("defaults", {})
    profiles = data.get("profiles", {})
    if not isinstance(defaults, dict) or not isinstance(profiles, dict) or not profiles:
        raise ConfigError(f"profile file {path} needs a [defaults] table and at least one [profiles.NAME] table")
    return defaults, profiles


def resolve_settings(
    profile: str, overrides: dict[str, Any] | None = None, *, path: Path = PROFILES_PATH
) -> RunSettings:
    """Defaults ← profile ← overrides (flags), validated; errors name the setting and the source."""
    defaults, profiles = load_profiles(path)
    if profile not in profiles:
        raise ConfigError(f"unknown profile {profile!r} in {path}; choose from {', '.join(profiles)}")
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged = {**defaults, **profiles[profile], **flags}
    # Nested tables (open_loop) merge key by key, so a flag changes one value and keeps the profile's others.
    for key in ("open_loop",):
        layers = [layer.get(key) for layer in (defaults, profiles[profile], flags)]
        if any(isinstance(layer, dict) for layer in layers):
            merged[key] = {
                k: v for layer in layers if isinstance(layer, dict) for k, v in layer.items() if v is not None
            }
    try:
        return RunSettings(profile=profile, **merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across settings; its message names them
            raise ConfigError(
                f"invalid settings (profile {profile!r} in {path.name} or flags): {first['msg']}"
            ) from exc
        field = ".".join(str(part) for part in first["loc"]) or "profile"
        flag = "--" + str(first["loc"][0]).replace("_", "-")
        flag = next((f for name, f in NESTED_FLAGS.items() if field.startswith(name)), flag)
        raise ConfigError(
            f"invalid setting {field} (profile {profile!r} in {path.name} or flag {flag}): {first['msg']}"
        ) from exc
