"""One short real open-loop cell per app: Locust paces its users to the target rate and the recorder measures it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.drive.loadgen import LoadSpec, LocustRun
from bench.drive.openloop import round_rate, users_for_rate
from bench.drive.servers import RunningServer
from bench.measure.recorder import merge_recorders
from bench.runformat import load_summary

pytestmark = pytest.mark.e2e

RATE, WARMUP_S, DURATION_S = 40.0, 1.5, 3.0


def test_an_open_loop_cell_sends_at_the_target_rate_and_never_faster(live: RunningServer, tmp_path: Path) -> None:
    spec = LoadSpec(
        scenario="item",
        host=live.url,
        users=users_for_rate(RATE, 0.5),
        warmup_s=WARMUP_S,
        duration_s=DURATION_S,
        seed_users=20,  # the session template's scale (tests/conftest.py)
        seed_items=200,
        rate=RATE,
    )
    locust = LocustRun(spec, tmp_path)
    assert locust.wait(timeout_s=spec.run_time_s + 30) == 0, locust.log_tail()
    load = merge_recorders(tmp_path)
    scheduled = RATE * DURATION_S
    assert not load.truncated
    assert dict(load.failures) == {}
    # Paced, not closed loop: 20 users in a closed loop would send many times the schedule. (A backlog from a
    # slow warm-up may drain inside the window, so a few more than scheduled can complete there.)
    assert scheduled / 2 <= load.requests <= scheduled * 1.5, f"{load.requests} completed, {scheduled:.0f} scheduled"
    assert 0 <= load.late <= load.requests
    assert load.percentile_ms(50) > 0


TINY_DEFAULTS = """
[defaults]
servers = ["fastapi-uvicorn"]
scenarios = ["item"]
users = [4]
repeats = 1
warmup_s = 0.3
duration_s = 1.0
workers = 1
threads = 4
pool_budget = 4
carrier_delay_ms = 10
max_error_rate = 0.001
loadgen_cpu_limit_pct = 100
# This test checks the plumbing, not the machine: a busy shared test machine must not invalidate its cells.
shared_core_limit_pct = 100
max_steal_pct = 100
aa_control = ""
loadgen_processes = 1
seed_users = 50
seed_items = 200
seed_orders = 0
"""


def _tiny_profiles(tmp_path: Path, open_loop: str) -> Path:
    """A one-cell profile file ("tiny") with the given open-loop table."""
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f"{TINY_DEFAULTS}\n{open_loop}\n[profiles.tiny]\n")
    return profiles


def test_the_runner_adds_fixed_rate_and_capacity_cells_after_the_closed_loop_ones(tmp_path: Path) -> None:
    profiles = _tiny_profiles(
        tmp_path,
        """
[defaults.open_loop]
rates = [20.0]
capacity_steps = 1
warmup_s = 0.5
duration_s = 1.0
probe_warmup_s = 0.5
probe_duration_s = 1.0

""",
    )
    out = tmp_path / "results"
    assert main(["run", "--profile", "tiny", "--profiles-file", str(profiles), "--out", str(out), "--no-report"]) == 0
    run = (out / "latest").resolve()
    rows = {p.parent.name: json.loads(p.read_text())["result"] for p in (run / "raw").glob("*/cell.json")}
    closed = rows["fastapi-uvicorn__item__u4__r1"]
    assert (closed["mode"], closed["purpose"], closed["target_rps"]) == ("closed", "saturation", None)
    fixed = rows["fastapi-uvicorn__item__fixed20rps__r1"]
    assert (fixed["mode"], fixed["purpose"], fixed["target_rps"], fixed["users"]) == ("open", "fixed-rate", 20.0, 20)
    assert fixed["achieved_rps"] == fixed["rps"] > 0
    probes = [row for name, row in rows.items() if "__cap" in name]
    assert len(probes) == 1
    # The search starts below the closed-loop peak (capacity_start, 0.75 by default): the peak is past the SLO.
    assert probes[0]["target_rps"] == round_rate(closed["rps"] * 0.75)
    summary = {row.cell_id: row for row in load_summary(run)}  # the typed run format carries the open-loop fields
    assert summary.keys() == rows.keys()
    assert (summary[fixed["cell_id"]].mode, summary[probes[0]["cell_id"]].purpose) == ("open", "capacity")
    metadata = json.loads((run / "metadata.json").read_text())
    assert metadata["open_loop"]["fixed_rates"] == {"item": [20.0]}
    assert metadata["open_loop"]["capacity_at_slo"].keys() == {"fastapi-uvicorn/item/r1"}


def test_a_cell_only_steal_invalidated_is_measured_again_on_a_fresh_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.drive.cellmeasure import CellMeasurement

    calls: list[str] = []
    original = CellMeasurement._environment_reasons

    def first_attempt_stolen(self: CellMeasurement, row: dict[str, object], other_cores: list[int]) -> list[str]:
        calls.append(str(row["cell_id"]))
        stolen = ["CPU steal 9.0% > 5% (the host took our cores)"] if len(calls) == 1 else []
        return stolen + original(self, row, other_cores)  # type: ignore[arg-type]

    monkeypatch.setattr(CellMeasurement, "_environment_reasons", first_attempt_stolen)
    profiles = _tiny_profiles(tmp_path, "open_loop = { scenarios = [] }")
    out = tmp_path / "results"
    assert main(["run", "--profile", "tiny", "--profiles-file", str(profiles), "--out", str(out), "--no-report"]) == 0
    run = (out / "latest").resolve()
    cell = "fastapi-uvicorn__item__u4__r1"
    assert calls == [cell, cell]  # measured twice
    (row,) = load_summary(run)
    assert row.valid, row.invalid_reason
    metadata = json.loads((run / "metadata.json").read_text())
    assert metadata["retried"] == {cell: ["CPU steal 9.0% > 5% (the host took our cores)"]}
    assert (run / "raw" / f"{cell}~try1" / "cell.json").exists()  # the first attempt is kept
    assert (run / "raw" / cell / "cell.json").exists()
