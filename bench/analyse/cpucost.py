"""CPU per request of the server and of PostgreSQL, from every cell whose only fault is the rate it reached.

A cell is invalid as a throughput figure when the load generator or the shared core limited it, but the server's
CPU seconds divided by the requests it served still measure what a request costs. That is how the framework floor
(`/health/live`) is reported on 2 cores, where Locust saturates its core before FastAPI saturates its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.analyse import stats
from bench.analyse.rundata import Run

# Invalid reasons that concern the rate a cell reached, not what each request cost the server.
RATE_ONLY_REASONS = ("loadgen saturated", "limited by the shared core", "achieved ")


@dataclass(frozen=True)
class CpuCost:
    """Median CPU microseconds per request of one setup and scenario, with its CI across cells."""

    server: str
    framework: str
    scenario: str
    cells: int
    rate_limited: int  # of those, cells whose throughput is invalid (load generator or shared core limited it)
    server_us: float
    server_us_ci: tuple[float, float] | None
    db_us: float


def _rate_only(reason: str) -> bool:
    parts = [p.strip() for p in reason.split(";") if p.strip()]
    return bool(parts) and all(p.startswith(RATE_ONLY_REASONS) for p in parts)


def cpu_costs(run: Run) -> list[CpuCost]:
    """Per (setup, scenario): server and PostgreSQL CPU-µs per request over its usable closed-loop cells."""
    rows = run.summary
    usable = rows[
        (rows["mode"] == "closed")
        & (rows["requests"] > 0)
        & (rows["valid"] | rows["invalid_reason"].astype(str).map(_rate_only))
    ]
    out = []
    for (server, scenario), cells in usable.groupby(["server", "scenario"], sort=False):
        server_us = cells["server_cpu_ms_per_req"].to_numpy(dtype=np.float64) * 1000
        db_us = cells["db_cpu_ms_per_req"].to_numpy(dtype=np.float64) * 1000
        server_us = server_us[~np.isnan(server_us)]
        if not server_us.size:
            continue
        out.append(
            CpuCost(
                server=str(server),
                framework=run.framework_of(str(server)),
                scenario=str(scenario),
                cells=int(server_us.size),
                rate_limited=int((~cells["valid"]).sum()),
                server_us=float(np.median(server_us)),
                server_us_ci=stats.mean_ci(server_us),
                db_us=float(np.nanmedian(db_us)) if np.any(~np.isnan(db_us)) else math.nan,
            )
        )
    order = {s: i for i, s in enumerate(run.scenarios)}
    return sorted(out, key=lambda c: (order.get(c.scenario, 99), c.server))
