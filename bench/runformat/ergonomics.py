"""ergonomics.json: the apps' code and running behaviour, measured by bench.ergonomics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bench.runformat.record import Record, _v1_to_v2, atomic_write

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


class AnnotationFacts(_Facts):
    """What a framework does with type annotations, over the contract's routes (bench/ergonomics/hints.py)."""

    reads: bool  # the probe app: an `n: int` view receives an int and "x" is refused with a 4xx
    routes: int
    inputs: int  # distinct request inputs (path, query, header, cookie, body) the contract's routes validate
    inputs_from_annotations: int
    responses_typed: int  # routes whose response schema the framework derives from a type
    validation_hand_written_loc: int
    docs_hand_written_loc: int


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
    annotations: PerFramework[AnnotationFacts] | None = None  # runs before the annotation probe lack it

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read and validate ergonomics.json (migrating an older version)."""
        return cls.from_stored(json.loads(path.read_text()), where=str(path))

    def dump(self, path: Path) -> None:
        """Write ergonomics.json atomically."""
        atomic_write(path, json.dumps(self.stored(), indent=2) + "\n")
