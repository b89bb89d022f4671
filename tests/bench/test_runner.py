"""End to end: a tiny matrix through `python -m bench run`, then the run directory and the process table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psutil
import pytest

from bench.cli import main
from bench.drive.servers import SETUPS
from bench.runformat import SUMMARY_COLUMNS

pytestmark = pytest.mark.e2e


_children_before: set[int] = set()
# Both frameworks, a baseline (it serves health, not order) and a sweep variant (it serves neither); every setup
# starts and is verified in test_verify.py.
SERVERS = ("fastapi-uvicorn", "flask-gunicorn-gthread", "baseline-flask-sync", "flask-gunicorn-gthread-8t")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Other fixtures of the session (servers, PostgreSQL) may be running; only new children count as leaks.
    _children_before.update(p.pid for p in psutil.Process().children(recursive=True))
    out = tmp_path_factory.mktemp("results")
    code = main(
        [
            "run",
            "--profile",
            "smoke",
            "--scenarios",
            "health,order",
            "--servers",
            ",".join(SERVERS),
            "--users",
            "4",
            "--duration",
            "1",
            "--warmup",
            "0.5",
            "--out",
            str(out),
            "--no-report",
        ]
    )
    assert code == 0
    return (out / "latest").resolve()


def test_every_cell_has_a_valid_row_with_traffic(smoke_run: Path) -> None:
    with (smoke_run / "summary.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == SUMMARY_COLUMNS
        rows = list(reader)
    assert {(r["server"], r["scenario"]) for r in rows} == {
        (s, sc) for s in SERVERS for sc in ("health", "order") if SETUPS[s].supports(sc)
    }
    for row in rows:
        assert float(row["rps"]) > 0, row["cell_id"]
        assert int(row["failures"]) == 0, (row["cell_id"], row["failures_by_status"])
        assert float(row["p50_ms"]) <= float(row["p99_ms"]) <= float(row["max_ms"])
        assert float(row["server_cpu_s"]) > 0
        assert float(row["server_rss_mb"]) > 10
        assert "invariant" not in row["invalid_reason"]


def test_raw_files_and_metadata(smoke_run: Path) -> None:
    metadata = json.loads((smoke_run / "metadata.json").read_text())
    for key in (
        "run_id",
        "profile",
        "settings",
        "git",
        "packages",
        "python",
        "platform",
        "postgres",
        "servers",
        "placement",
        "started_at",
        "finished_at",
    ):
        assert metadata[key] not in (None, {}, ""), key
    assert metadata["interrupted"] is False
    served = [(s, sc) for s in SERVERS for sc in ("health", "order") if SETUPS[s].supports(sc)]
    assert metadata["cells_done"] == metadata["cells_total"] == len(served) == 5
    assert set(metadata["servers"]) == set(SERVERS)
    # Every timed setup's SQL per request was counted before timing, and equals the other framework's.
    sql = {name: v["statements"] for name, v in metadata["verification"].items()}
    assert sql["fastapi-uvicorn"]["order"]["per_request"] == sql["flask-gunicorn-gthread"]["order"]["per_request"] > 0
    assert all(not v["refused"] and not v["problems"] for v in metadata["verification"].values())
    assert metadata["postgres"]["version"].startswith(("15", "16", "17", "PostgreSQL"))
    cell = smoke_run / "raw" / "fastapi-uvicorn__order__u4__r1"
    for name in ("cell.json", "hdr.txt", "timeline.csv", "resources.csv", "locust_stats.csv"):
        assert (cell / name).stat().st_size > 0, name


def test_nothing_is_left_running(smoke_run: Path) -> None:
    names = {"postgres", "locust", "gunicorn", "uvicorn"}
    leftovers = [
        p.info
        for p in psutil.process_iter(["pid", "name", "cmdline"])
        if any(n in " ".join(p.info["cmdline"] or []) for n in names)
        and str(smoke_run) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
    new = [
        c
        for c in psutil.Process().children(recursive=True)
        if c.pid not in _children_before and c.is_running() and c.status() != "zombie"
    ]
    assert new == [], [(c.pid, c.name()) for c in new]
