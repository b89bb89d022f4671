"""One summary row per cell: the columns, the validity rules, and atomic writes of summary.csv/json."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.measure.recorder import LoadResult
from bench.measure.sampler import WindowUsage

SUMMARY_COLUMNS = (
    "run_id",
    "cell_id",
    "framework",
    "server",
    "scenario",
    "users",
    "repeat",
    "workers",
    "threads",
    "duration_s",
    "requests",
    "failures",
    "error_rate",
    "failures_by_status",
    "rps",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "server_cpu_s",
    "server_cpu_pct",
    "server_rss_mb",
    "rss_per_worker_mb",
    "loadgen_cpu_pct",
    "valid",
    "invalid_reason",
)
PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}


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
) -> dict[str, Any]:
    """A row for a cell that produced no measurement (not run yet, interrupted, server failed)."""
    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, float("nan"))
    row.update(
        run_id=run_id,
        cell_id=cell_id(server, scenario, users, repeat),
        framework=framework,
        server=server,
        scenario=scenario,
        users=users,
        repeat=repeat,
        workers=workers,
        threads=threads,
        requests=0,
        failures=0,
        failures_by_status="{}",
        valid=False,
        invalid_reason=reason,
    )
    return row


def measured_row(base: Mapping[str, Any], load: LoadResult, usage: WindowUsage, duration_s: float) -> dict[str, Any]:
    """Fill a row's measurements from the merged recorders and the resource samples."""
    row = dict(base)
    requests = load.requests
    failures = load.failure_count
    row.update(
        duration_s=round(duration_s, 3),
        requests=requests,
        failures=failures,
        error_rate=(failures / requests) if requests else float("nan"),
        failures_by_status=json.dumps(dict(sorted(load.failures.items())), sort_keys=True),
        rps=requests / duration_s if duration_s > 0 else float("nan"),
        mean_ms=(load.histogram.get_mean_value() / 1000) if requests else float("nan"),
        max_ms=(load.histogram.get_max_value() / 1000) if requests else float("nan"),
        server_cpu_s=usage.server_cpu_s,
        server_cpu_pct=usage.server_cpu_s / duration_s * 100 if duration_s > 0 else float("nan"),
        server_rss_mb=usage.server_rss_mb,
        rss_per_worker_mb=usage.worker_rss_mb,
        loadgen_cpu_pct=usage.loadgen_cpu_pct,
    )
    for column, percentile in PERCENTILES.items():
        row[column] = load.percentile_ms(percentile)
    return row


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


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def atomic_write(path: Path, content: str) -> None:
    """Write a file so that readers see the old or the new content, never a half-written one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_summary(run_dir: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write summary.csv and summary.json atomically (NaN becomes an empty cell / null)."""
    cleaned = [{column: _clean(row.get(column)) for column in SUMMARY_COLUMNS} for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(cleaned)
    atomic_write(run_dir / "summary.csv", buffer.getvalue())
    atomic_write(run_dir / "summary.json", json.dumps(cleaned, indent=1) + "\n")
