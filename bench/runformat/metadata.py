"""metadata.json: the run's settings, environment, placement and how each setup was served."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from bench.runformat.record import Record, atomic_write


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
    db_admission: str = ""
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
    retried: dict[str, list[str]] = Field(default_factory=dict)  # cell id → why each earlier attempt was invalid

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read and validate metadata.json (migrating an older version)."""
        return cls.from_stored(json.loads(path.read_text()), where=str(path))

    def dump(self, path: Path) -> None:
        """Write metadata.json atomically."""
        atomic_write(path, json.dumps(self.stored(), indent=2, default=str) + "\n")
