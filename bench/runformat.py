"""The run format: typed, versioned models of what a run writes, their load/dump, and the one atomic writer.

summary.csv/json hold one CellRow per configured cell, metadata.json one RunMetadata, ergonomics.json one
Ergonomics. Every record carries `format_version`; a file of an older known version is
migrated on load, any other version is refused with both versions named. docs/RUN_FORMAT.md is tested against
these models (tests/bench/test_runformat.py).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

FORMAT_VERSION: Final = 2
# Version 1: runs written before records carried format_version (the summary columns up to invalid_reason).
LEGACY_VERSION = 1


class FormatVersionError(ValueError):
    """A file of a run format version this code cannot read."""


def atomic_write(path: Path, content: str | bytes) -> None:
    """Write a file so that readers see the old or the new content, never a half-written one."""
    tmp = path.with_name(f".{path.name}.tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _nan_if_missing(value: Any) -> Any:
    return math.nan if value is None or value == "" else value


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _none_if_blank(value: Any) -> Any:
    return None if value == "" or (isinstance(value, float) and math.isnan(value)) else value


# A measured float: NaN in memory when not measured, null (JSON) / empty (CSV) on disk, rounded to 4 places.
Measured = Annotated[float, BeforeValidator(_nan_if_missing), PlainSerializer(_none_if_nan)]
OptionalFloat = Annotated[float | None, BeforeValidator(_none_if_blank)]
NAN = math.nan


def _migrate(kind: str, data: dict[str, Any], migrations: Mapping[int, Callable[[dict[str, Any]], None]]) -> None:
    """Bring one record (in place) from its version to FORMAT_VERSION, or refuse naming both versions."""
    version = data.get("format_version", LEGACY_VERSION)
    if version in ("", None):
        version = LEGACY_VERSION
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise FormatVersionError(f"{kind}: format_version {version!r} is not a number") from None
    while version != FORMAT_VERSION:
        if version not in migrations:
            raise FormatVersionError(
                f"{kind} is run format version {version}; this code reads version {FORMAT_VERSION}"
                + (f" (and migrates {', '.join(map(str, sorted(migrations)))})" if migrations else "")
            )
        migrations[version](data)
        version += 1
    data["format_version"] = FORMAT_VERSION


class Record(BaseModel):
    """A versioned record of the run format."""

    format_version: Literal[2] = FORMAT_VERSION
    kind: ClassVar[str] = "record"
    migrations: ClassVar[dict[int, Callable[[dict[str, Any]], None]]] = {}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, where: str = "") -> Self:
        """Validate a record read from disk, migrating an older known version first."""
        record = dict(data)
        _migrate(f"{cls.kind} {where}".strip(), record, cls.migrations)
        try:
            return cls.model_validate(record)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{cls.kind} {where}: field {field}: {first['msg']}".replace("  ", " ")) from exc

    def stored(self) -> dict[str, Any]:
        """The record as written to disk (NaN → null)."""
        return self.model_dump(mode="json", by_alias=True)


def _v1_to_v2(data: dict[str, Any]) -> None:
    # Version 2 only added fields; each has a default meaning "not recorded".
    data["format_version"] = 2


class CellRow(Record):
    """One configured cell of the matrix and what it measured (a row of summary.csv / summary.json)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    kind: ClassVar[str] = "summary row"
    migrations: ClassVar[dict[int, Callable[[dict[str, Any]], None]]] = {1: _v1_to_v2}

    run_id: str
    cell_id: str
    framework: str
    server: str
    scenario: str
    users: int
    repeat: int
    workers: int
    threads: int
    duration_s: Measured = NAN
    requests: int = 0
    failures: int = 0
    error_rate: Measured = NAN
    failures_by_status: str = "{}"
    rps: Measured = NAN
    mean_ms: Measured = NAN
    p50_ms: Measured = NAN
    p90_ms: Measured = NAN
    p95_ms: Measured = NAN
    p99_ms: Measured = NAN
    p999_ms: Measured = NAN
    max_ms: Measured = NAN
    server_cpu_s: Measured = NAN
    server_cpu_pct: Measured = NAN
    server_rss_mb: Measured = NAN
    rss_per_worker_mb: Measured = NAN
    loadgen_cpu_pct: Measured = NAN
    valid: bool = False
    invalid_reason: str = ""
    control_of: str = ""
    mode: Literal["closed", "open"] = "closed"
    purpose: Literal["saturation", "fixed-rate", "capacity"] = "saturation"
    target_rps: OptionalFloat = None
    achieved_rps: Measured = NAN
    order: int = 0
    server_cpu_ms_per_req: Measured = NAN
    db_cpu_s: Measured = NAN
    db_cpu_ms_per_req: Measured = NAN
    other_core_cpu_pct: Measured = NAN
    steal_pct: Measured = NAN
    loadavg_before: Measured = NAN
    loadavg_after: Measured = NAN


SUMMARY_COLUMNS: tuple[str, ...] = tuple(CellRow.model_fields)


def cell_id(server: str, scenario: str, users: int, repeat: int) -> str:
    """The stable name of one measured cell."""
    return f"{server}__{scenario}__u{users}__r{repeat}"


def empty_row(
    *,
    run_id: str,
    framework: str,
    server: str,
    scenario: str,
    users: int,
    repeat: int,
    workers: int,
    threads: int,
    reason: str,
    **extra: Any,
) -> CellRow:
    """A row for a cell that produced no measurement (not run yet, interrupted, server failed)."""
    return CellRow(
        run_id=run_id,
        cell_id=cell_id(server, scenario, users, repeat),
        framework=framework,
        server=server,
        scenario=scenario,
        users=users,
        repeat=repeat,
        workers=workers,
        threads=threads,
        valid=False,
        invalid_reason=reason,
        **extra,
    )


def invalid_reasons(row: Mapping[str, Any], *, max_error_rate: float, loadgen_cpu_limit_pct: float) -> list[str]:
    """Why a measured cell cannot be trusted (empty list = valid)."""
    reasons = []
    if not row["requests"]:
        reasons.append("no requests completed in the window")
    elif row["error_rate"] > max_error_rate:
        reasons.append(f"error rate {row['error_rate']:.2%} > {max_error_rate:.2%} ({row['failures_by_status']})")
    load = row["loadgen_cpu_pct"]
    if isinstance(load, float) and not math.isnan(load) and load > loadgen_cpu_limit_pct:
        reasons.append(f"loadgen saturated ({load:.0f}% > {loadgen_cpu_limit_pct:.0f}% of a core)")
    return reasons


def write_summary(run_dir: Path, rows: Iterable[CellRow]) -> None:
    """Write summary.csv and summary.json atomically (NaN becomes an empty cell / null)."""
    stored = [row.stored() for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(stored)
    atomic_write(run_dir / "summary.csv", buffer.getvalue())
    atomic_write(run_dir / "summary.json", json.dumps(stored, indent=1) + "\n")


def load_summary(run_dir: Path) -> list[CellRow]:
    """The rows of summary.csv (or summary.json when the CSV is missing or empty), migrated to this version."""
    csv_path, json_path = run_dir / "summary.csv", run_dir / "summary.json"
    if csv_path.exists() and csv_path.stat().st_size > 0:
        raw: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(csv_path.read_text())))
        where = str(csv_path)
    elif json_path.exists():
        raw = json.loads(json_path.read_text())
        where = str(json_path)
    else:
        raise FileNotFoundError(f"{run_dir} has neither summary.csv nor summary.json")
    return [CellRow.from_stored(r, where=f"{where} line {i + 2}") for i, r in enumerate(raw)]


class ServerInfo(BaseModel):
    """How one setup was served in this run (metadata.json servers.<setup>); labels come from the setup's code."""

    model_config = ConfigDict(extra="allow")

    command: str = ""
    framework: str
    server: str = ""
    stack: str = ""
    baseline: str | None = None
    worker_class: str = ""
    workers: int | None = None
    threads: int = 1
    keep_alive: str = ""
    db_driver: str = ""
    http_client: str = ""
    pool_size_per_worker: int | None = None
    pool_budget: int | None = None


def _metadata_v1_to_v2(data: dict[str, Any]) -> None:
    if isinstance(data.get("python"), str):  # the oldest runs stored only the version string
        data["python"] = {"version": data["python"]}
    data["format_version"] = 2


class RunMetadata(Record):
    """metadata.json: the run's settings and environment. Keys added by later stages of the harness are kept."""

    model_config = ConfigDict(extra="allow")
    kind: ClassVar[str] = "metadata.json"
    migrations: ClassVar[dict[int, Callable[[dict[str, Any]], None]]] = {1: _metadata_v1_to_v2}

    run_id: str
    profile: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    git: dict[str, Any] = Field(default_factory=dict)
    packages: dict[str, str] = Field(default_factory=dict)
    python: dict[str, Any] = Field(default_factory=dict)
    platform: dict[str, Any] = Field(default_factory=dict)
    placement: dict[str, Any] = Field(default_factory=dict)
    postgres: dict[str, Any] | None = None
    workers: int | None = None
    servers: dict[str, ServerInfo] = Field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    interrupted: bool = False
    cells_total: int = 0
    cells_done: int = 0
    ergonomics_error: str | None = None

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read and validate metadata.json (migrating an older version)."""
        return cls.from_stored(json.loads(path.read_text()), where=str(path))

    def dump(self, path: Path) -> None:
        """Write metadata.json atomically."""
        atomic_write(path, json.dumps(self.stored(), indent=2, default=str) + "\n")


T = TypeVar("T")


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TypeHintCoverage(_Facts):
    """Share of parameters and of functions' returns that carry an annotation."""

    params_pct: float
    returns_pct: float
    params: int = 0
    params_annotated: int = 0
    functions: int = 0
    returns_annotated: int = 0


class OpenAPIFacts(_Facts):
    """Whether the app serves an OpenAPI document, who writes it, and how much of the contract it covers."""

    served: bool
    automatic: bool
    paths_documented: int
    paths_total: int
    hand_written_loc: int


class ValidationSample(_Facts):
    """One bad request and the app's answer."""

    request: str
    status: int
    body: Any


class ValidationFacts(_Facts):
    """How an app answers the bad requests: share of 4xx, share naming the offending field."""

    pct_4xx: float = Field(alias="4xx_pct")
    names_field_pct: float
    sample: ValidationSample | None = None


class BackgroundTasks(_Facts):
    """Whether background tasks are built into the framework, and the lines written for them."""

    built_in: bool
    hand_written_loc: int


class AsyncSupport(_Facts):
    """Route handlers that are async vs plain def, and whether the app object is ASGI (native async)."""

    async_routes: int = 0
    sync_routes: int = 0
    native: bool
    notes: str = ""


class ColdStart(_Facts):
    """Start to first 200 (median of samples), import time and idle RSS per worker."""

    median_s: float
    samples: list[float]
    import_s: float
    idle_rss_per_worker_mb: float


class InstallFootprint(_Facts):
    """The distributions an app's requirements install."""

    distributions: int
    names: list[str]


class LocFile(_Facts):
    """One source file's concern and line count."""

    concern: str
    loc: int


class PerFramework(_Facts, Generic[T]):
    """One value per framework."""

    fastapi: T
    flask: T

    def of(self, framework: str) -> T:
        """The value of 'fastapi' or 'flask'."""
        return self.fastapi if framework == "fastapi" else self.flask


class CaseAnswer(_Facts):
    """One app's answer to one bad request."""

    status: int
    names_field: bool


class ValidationCase(PerFramework[CaseAnswer]):
    """One bad request and both apps' answers."""

    name: str


class ValidationQuality(PerFramework[ValidationFacts]):
    """The validation probe: how many bad requests were sent, and each app's answers."""

    cases: int
    per_case: list[ValidationCase] = Field(default_factory=list)


class Concepts(PerFramework[int]):
    """Framework concepts each app uses (a proxy for the learning curve), counted and named."""

    fastapi_names: list[str] = Field(default_factory=list)
    flask_names: list[str] = Field(default_factory=list)


class Ergonomics(Record):
    """ergonomics.json: the apps' code and running behaviour, measured by bench.ergonomics."""

    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str] = "ergonomics.json"
    migrations: ClassVar[dict[int, Callable[[dict[str, Any]], None]]] = {1: _v1_to_v2}

    loc: PerFramework[dict[str, int]]
    loc_files: PerFramework[dict[str, LocFile]] | None = None
    type_hint_coverage: PerFramework[TypeHintCoverage]
    openapi: PerFramework[OpenAPIFacts]
    validation_quality: ValidationQuality
    background_tasks: PerFramework[BackgroundTasks]
    async_support: PerFramework[AsyncSupport]
    cold_start: PerFramework[ColdStart]
    install_footprint: PerFramework[InstallFootprint]
    concepts: Concepts
    snippets: PerFramework[str]

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read and validate ergonomics.json (migrating an older version)."""
        return cls.from_stored(json.loads(path.read_text()), where=str(path))

    def dump(self, path: Path) -> None:
        """Write ergonomics.json atomically."""
        atomic_write(path, json.dumps(self.stored(), indent=2) + "\n")
