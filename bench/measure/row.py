"""A measured cell's summary row, from the merged load recorders and the resource samples of its window."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from bench.measure.recorder import LoadResult
from bench.measure.sampler import WindowUsage
from bench.runformat import CellRow

PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}


def measured_row(base: Mapping[str, Any], load: LoadResult, usage: WindowUsage, duration_s: float) -> dict[str, Any]:
    """Fill a row's measurements; validated as a CellRow, so a misnamed column fails here, not in the report."""
    requests, failures = load.requests, load.failure_count
    nan = math.nan
    row = {
        **base,
        "duration_s": round(duration_s, 3),
        "requests": requests,
        "failures": failures,
        "error_rate": (failures / requests) if requests else nan,
        "failures_by_status": json.dumps(dict(sorted(load.failures.items())), sort_keys=True),
        "rps": requests / duration_s if duration_s > 0 else nan,
        "mean_ms": (load.histogram.get_mean_value() / 1000) if requests else nan,
        "max_ms": (load.histogram.get_max_value() / 1000) if requests else nan,
        "server_cpu_s": usage.server_cpu_s,
        "server_cpu_pct": usage.server_cpu_s / duration_s * 100 if duration_s > 0 else nan,
        "server_rss_mb": usage.server_rss_mb,
        "rss_per_worker_mb": usage.worker_rss_mb,
        "loadgen_cpu_pct": usage.loadgen_cpu_pct,
    }
    for column, percentile in PERCENTILES.items():
        row[column] = load.percentile_ms(percentile)
    return CellRow.model_validate(row).model_dump()
