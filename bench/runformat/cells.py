"""summary.csv / summary.json: one CellRow per configured cell, the validity rules, and their load/dump."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict

from bench.runformat.record import NAN, Measured, OptionalFloat, Record, _v1_to_v2, atomic_write


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
