"""One cell of a run: start the load, sample every process, read the placement back, judge and record the row.

A mixin of the Runner (bench/drive/runner.py), which owns the run's state; kept apart so the block loop and the
per-cell measurement each read on their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench.config import RunSettings
from bench.drive.carrier_stub import CarrierStub
from bench.drive.loadgen import LoadSpec, LocustRun
from bench.drive.openloop import OpenCell
from bench.drive.placement import GROUPS, Placement, mismatches, observe
from bench.drive.postgres import Server
from bench.drive.processes import process_tree
from bench.drive.schedule import Cell
from bench.drive.servers import RunningServer
from bench.measure.environment import loadavg
from bench.measure.recorder import merge_recorders
from bench.measure.row import measured_row
from bench.measure.sampler import ResourceSampler
from bench.runformat import invalid_reasons


class CellMeasurement:
    """Measures one cell against a live server; the Runner provides the state declared here."""

    settings: RunSettings
    run_dir: Path
    placement: Placement
    metadata: dict[str, Any]
    _pg: Server | None
    _stub: CarrierStub | None
    loadgen: Callable[[LoadSpec, Path], LocustRun]

    def _base_row(self, cell: Cell | OpenCell, reason: str) -> dict[str, Any]:
        raise NotImplementedError  # the Runner's: the row's identity columns

    def _groups(self, live: RunningServer, locust: LocustRun) -> dict[str, list[psutil.Process] | None]:
        """The live processes of every group, for reading their affinity back."""
        stub_pid = self._stub.pid if self._stub else None
        groups: dict[str, list[psutil.Process] | None] = {
            "server": live.tree(),
            "postgres": self._pg.tree() if self._pg else None,
            "stub": process_tree(stub_pid) if stub_pid else [],
            "loadgen": locust.tree(),
            "harness": [psutil.Process()],
        }
        return {name: groups[name] for name in GROUPS}

    def _check_placement(self, cell: Cell | OpenCell, observed: dict[str, dict[str, object]]) -> list[str]:
        """Record the real placement (first cell of each setup) and any deviation from the plan."""
        record = self.metadata["placement"]
        record["observed"].setdefault(cell.server, observed)
        problems = mismatches(self.placement, observed)
        if problems:
            record["as_planned"] = False
            record["mismatches"] += [f"{cell.id}: {problem}" for problem in problems]
        return problems

    # --- one cell ----------------------------------------------------------------------------------------------
    def _measure(self, cell: Cell | OpenCell, live: RunningServer) -> dict[str, Any]:
        s = self.settings
        out = self.run_dir / "raw" / cell.id
        warmup_s, duration = (
            (cell.warmup_s, cell.duration_s) if isinstance(cell, OpenCell) else (s.warmup_s, s.duration_s)
        )
        spec = LoadSpec(
            scenario=cell.scenario,
            host=live.url,
            users=cell.users,
            warmup_s=warmup_s,
            duration_s=duration,
            seed_users=s.seed_users,
            seed_items=s.seed_items,
            processes=s.loadgen_processes,
            rng_seed=20261125 + cell.repeat,
            rate=cell.target_rps if isinstance(cell, OpenCell) else None,
        )
        load_before = loadavg()
        other_cores = [c for c in self.placement.other_cpus if c not in self.placement.server_cpus]
        pg = self._pg
        db_tree = (lambda: pg.tree() or []) if pg is not None and pg.tree() is not None else None
        locust = self.loadgen(spec, out)
        try:
            with ResourceSampler(live.tree, locust.tree, db_tree=db_tree, other_cores=other_cores) as sampler:
                observed = observe(self._groups(live, locust))
                code = locust.wait(timeout_s=spec.run_time_s + 60)
        except BaseException:
            locust.kill()
            raise
        load = merge_recorders(out)
        start, end = load.window
        usage = sampler.window(start, end) if load.processes else sampler.window(0, 0)
        row = measured_row(self._base_row(cell, ""), load, usage, duration)
        # The saturation rule per worker: Locust workers elsewhere report their own CPU (bench/drive/distributed.py).
        row["loadgen_cpu_pct"] = load.busiest_cpu_pct(row["loadgen_cpu_pct"])
        row.update(usage.cpu_columns(row["requests"]), loadavg_before=load_before, loadavg_after=loadavg())
        reasons = invalid_reasons(row, max_error_rate=s.max_error_rate, loadgen_cpu_limit_pct=s.loadgen_cpu_limit_pct)
        reasons += self._environment_reasons(row, other_cores)
        reasons += [f"placement differs from plan: {p}" for p in self._check_placement(cell, observed)]
        if isinstance(cell, OpenCell):
            row.update(cell.row_fields(row["rps"]))
            reasons += cell.rate_reasons(load, duration, s.open_loop.max_rate_shortfall)
        else:
            row.update(achieved_rps=row["rps"])
        if load.truncated:
            reasons.insert(0, f"window truncated: Locust stopped {load.window[1] - load.stopped_at:.1f} s early")
        if code != 0 or not load.processes:
            reasons.insert(0, f"locust exited with {code}: {locust.log_tail(3)}")
        row["valid"] = not reasons
        row["invalid_reason"] = "; ".join(reasons)
        if load.requests:
            (out / "hdr.txt").write_text(load.histogram.encode().decode() + "\n")
        (out / "timeline.csv").write_text(load.timeline_csv(duration))
        sampler.write_csv(out / "resources.csv", start if load.processes else time.time())
        cell_record = {
            "cell": cell.__dict__,
            "command": locust.command,
            "server_command": live.command,
            "placement": self.placement.as_dict(),
            "placement_observed": observed,
            "window": [start, end],
            "locust_exit_code": code,
            "send_lag": load.lag_summary(),
            "result": row,
        }
        (out / "cell.json").write_text(json.dumps(cell_record, indent=1, default=str) + "\n")
        return row

    def _environment_reasons(self, row: dict[str, Any], other_cores: list[int]) -> list[str]:
        """A cell measured while the hypervisor stole time, or while the shared core was full, is not trusted."""
        s, reasons = self.settings, []
        if row["steal_pct"] > s.max_steal_pct:
            reasons.append(f"CPU steal {row['steal_pct']:.1f}% > {s.max_steal_pct:g}% (the host took our cores)")
        if row["other_core_cpu_pct"] > s.shared_core_limit_pct:
            reasons.append(
                f"limited by the shared core (busiest of CPUs {other_cores} at {row['other_core_cpu_pct']:.0f}% "
                f"> {s.shared_core_limit_pct:g}%)"
            )
        return reasons
