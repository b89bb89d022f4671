"""A run directory on disk: metadata, summary rows, ergonomics, raw per-cell files (see docs/RUN_FORMAT.md).

Also the checks of a run's consistency and the HDR histogram helpers, which read raw files only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from hdrh.histogram import HdrHistogram

from bench.analyse.stats import FloatArray
from bench.registry import SCENARIO_ORDER
from bench.runformat import SUMMARY_COLUMNS, CellRow, Ergonomics, RunMetadata, load_summary

SETUP_ORDER = ("fastapi-uvicorn", "fastapi-gunicorn", "flask-gunicorn-sync", "flask-gunicorn-gthread")
GroupKey = tuple[str, str, int]  # (server, scenario, users)


def ordered(values: list[str], order: tuple[str, ...]) -> list[str]:
    """Distinct values, those in `order` first in that order, the rest alphabetically."""
    return sorted(set(values), key=lambda v: (order.index(v) if v in order else len(order), v))


def _read_summary(run_dir: Path) -> pd.DataFrame:
    df = pd.DataFrame([row.model_dump() for row in load_summary(run_dir)], columns=list(SUMMARY_COLUMNS))
    for name, spec in CellRow.model_fields.items():
        if spec.annotation in (float, float | None):
            df[name] = pd.to_numeric(df[name], errors="coerce").astype(np.float64)
    no_data = df["valid"] & ~(np.isfinite(df["rps"].astype(float)) & (df["requests"] > 0))
    df.loc[no_data, "valid"] = False
    df.loc[no_data, "invalid_reason"] = "no measurements recorded"
    df.loc[~df["valid"] & (df["invalid_reason"] == ""), "invalid_reason"] = "marked invalid (no reason given)"
    return df


@dataclass
class Run:
    """One run directory: its metadata, summary rows, ergonomics measurements and raw files."""

    path: Path
    metadata: RunMetadata
    summary: pd.DataFrame
    ergonomics: Ergonomics | None
    _timelines: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    @property
    def run_id(self) -> str:
        """The run id from metadata (or the directory name)."""
        return self.metadata.run_id or self.path.name

    @property
    def valid(self) -> pd.DataFrame:
        """Rows of the cells that count."""
        return self.summary[self.summary["valid"]]

    @property
    def invalid(self) -> pd.DataFrame:
        """Rows of the cells excluded from every figure, with invalid_reason."""
        return self.summary[~self.summary["valid"]]

    def cell_dir(self, cell_id: str) -> Path:
        """raw/<cell_id>/ of this run."""
        return self.path / "raw" / cell_id

    def per_second(self, cell_id: str) -> FloatArray:
        """Requests completed in each whole second of the cell's window (empty when not recorded)."""
        if cell_id not in self._timelines:
            try:
                tl = pd.read_csv(self.cell_dir(cell_id) / "timeline.csv")
                values = pd.to_numeric(tl["requests"], errors="coerce").to_numpy(dtype=np.float64)
            except (OSError, KeyError, ValueError, pd.errors.EmptyDataError):
                values = np.empty(0)
            self._timelines[cell_id] = values[np.isfinite(values)]
        return self._timelines[cell_id]

    def histogram(self, cell_id: str) -> HdrHistogram | None:
        """The cell's decoded HDR latency histogram (µs), or None when absent or unreadable."""
        try:
            text = (self.cell_dir(cell_id) / "hdr.txt").read_text().strip()
            return HdrHistogram.decode(text) if text else None
        except (OSError, ValueError, TypeError):
            return None

    def framework_of(self, server: str) -> str:
        """fastapi or flask for a setup name."""
        info = self.metadata.servers.get(server)
        if info is not None:
            return info.framework
        rows = self.summary[self.summary["server"] == server]
        return str(rows["framework"].iloc[0]) if len(rows) else server.split("-")[0]

    @property
    def servers(self) -> list[str]:
        """Setup names present in the summary, canonical order first."""
        return ordered(list(self.summary["server"]), SETUP_ORDER)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names present in the summary, canonical order first."""
        return ordered(list(self.summary["scenario"]), SCENARIO_ORDER)


def load_run(run_dir: Path) -> Run:
    """Read metadata.json, summary.csv (or .json) and ergonomics.json of a run directory."""
    run_dir = Path(run_dir)
    meta_path, erg_path = run_dir / "metadata.json", run_dir / "ergonomics.json"
    metadata = RunMetadata.load(meta_path) if meta_path.exists() else RunMetadata(run_id=run_dir.name)
    ergonomics = Ergonomics.load(erg_path) if erg_path.exists() else None
    return Run(run_dir, metadata, _read_summary(run_dir), ergonomics)


def consistency_issues(run: Run) -> list[str]:
    """Differences between setups or from the run's settings that make the comparison unequal."""
    issues: list[str] = []
    valid = run.valid
    workers: dict[str, tuple[int, ...]] = {}
    for srv, w in zip(valid["server"], valid["workers"], strict=True):
        if math.isfinite(w):
            workers[str(srv)] = tuple(sorted({*workers.get(str(srv), ()), int(w)}))
    if len(set(workers.values())) > 1:
        detail = ", ".join(f"{srv}: {'/'.join(map(str, w))}" for srv, w in workers.items())
        issues.append(f"worker counts differ between setups ({detail})")
    pools = {n: s.pool_size_per_worker for n, s in run.metadata.servers.items() if n in set(valid["server"])}
    if len({json.dumps(p) for p in pools.values()}) > 1:
        issues.append("DB pool size per worker differs: " + ", ".join(f"{k}: {v}" for k, v in pools.items()))
    want = run.metadata.settings.get("duration_s")
    if want and len(valid):
        off = valid[(valid["duration_s"] - float(want)).abs() > 0.1 * float(want)]
        if len(off):
            issues.append(
                f"{len(off)} cell(s) measured a window more than 10 % off the configured {want} s: "
                + ", ".join(off["cell_id"].head(5))
            )
    if run.metadata.interrupted:
        issues.append("the run was interrupted; cells not run are listed as invalid")
    return issues


def merged_histogram(run: Run, cell_ids: tuple[str, ...]) -> HdrHistogram | None:
    """The HDR histograms of these cells added together (µs), or None when none is readable."""
    merged: HdrHistogram | None = None
    for cell_id in cell_ids:
        h = run.histogram(cell_id)
        if h is None:
            continue
        if merged is None:
            merged = h
        else:
            merged.add(h)
    return merged


def percentile_curve(hist: HdrHistogram, percentiles: tuple[float, ...]) -> list[float]:
    """Latency in ms at each percentile of an HDR histogram recorded in µs."""
    return [hist.get_value_at_percentile(p) / 1000.0 for p in percentiles]


def hdr_points(hist: HdrHistogram) -> tuple[FloatArray, FloatArray]:
    """(value in ms, count) of every non-empty HDR bucket, reading the counts array directly (fast)."""
    counts = np.ctypeslib.as_array(hist.counts) if not isinstance(hist.counts, list) else np.array(hist.counts)
    idx = np.flatnonzero(counts)
    values = np.array([hist.get_value_from_index(int(i)) for i in idx], dtype=np.float64) / 1000.0
    return values, counts[idx].astype(np.float64)
