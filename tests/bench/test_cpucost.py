"""CPU per request: kept for cells the load generator or the shared core limited, dropped for any other fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.analyse.cpucost import cpu_costs
from bench.analyse.rundata import load_run
from tests.support import fake_run

CELL = "fastapi-uvicorn__item__u4__r{}"


def test_rate_limited_cells_count_and_other_faults_do_not(tmp_path: Path) -> None:
    invalid = {
        CELL.format(1): "loadgen saturated (95% > 80% of a core); limited by the shared core (busiest of CPUs [1] at 99% > 90%)",
        CELL.format(2): "CPU steal 7.3% > 5% (the host took our cores)",
    }  # fmt: skip
    run = load_run(fake_run.make_run(tmp_path, scenarios=("item",), users=(4,), invalid=invalid))
    rows = run.summary.set_index("cell_id")
    cost = next(c for c in cpu_costs(run) if (c.server, c.scenario) == ("fastapi-uvicorn", "item"))
    kept = [CELL.format(1), CELL.format(3)]  # r2's CPU was taken by the host: its cost per request is not ours
    expected = sorted(float(rows.loc[c, "server_cpu_ms_per_req"]) * 1000 for c in kept)
    assert (cost.cells, cost.rate_limited) == (2, 1)
    assert cost.server_us == pytest.approx(sum(expected) / 2)
    assert cost.server_us_ci is None  # two cells: fewer than the three a CI needs
    full = next(c for c in cpu_costs(run) if (c.server, c.scenario) == ("flask-gunicorn-gthread", "item"))
    assert full.cells == 3
    assert full.server_us_ci is not None
    assert full.server_us_ci[0] <= full.server_us <= full.server_us_ci[1]
