"""End to end: a tiny matrix through `python -m bench run`, then the run directory and the process table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psutil
import pytest

from bench.cli import main
from bench.drive.placement import GROUPS
from bench.drive.servers import SETUPS
from bench.runformat import SUMMARY_COLUMNS

pytestmark = pytest.mark.e2e
# Both frameworks and a baseline (it serves health, not order); every setup starts and is verified in test_verify.py.
SERVERS = ["fastapi-uvicorn", "flask-gunicorn-gthread", "baseline-flask-sync"]
RUN_SETUPS = [*SERVERS, "fastapi-uvicorn~aa"]  # the A/A control is the second FastAPI start
SERVED = {(s, sc) for s in RUN_SETUPS for sc in ("health", "order") if SETUPS[s.removesuffix("~aa")].supports(sc)}


_children_before: set[int] = set()


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
            "--repeats",
            "1",
            "--order-seed",
            "11",
            "--aa-control",
            "fastapi-uvicorn",
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
    assert {(r["server"], r["scenario"], int(r["repeat"])) for r in rows} == {(s, sc, 1) for s, sc in SERVED}
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
    assert metadata["cells_done"] == metadata["cells_total"] == len(SERVED) == 7
    # Every timed setup's SQL per request was counted before timing, and equals the other framework's.
    sql = {name: v["statements"] for name, v in metadata["verification"].items()}
    assert sql["fastapi-uvicorn"]["order"]["per_request"] == sql["flask-gunicorn-gthread"]["order"]["per_request"] > 0
    assert all(not v["refused"] and not v["problems"] for v in metadata["verification"].values())
    # fastapi-uvicorn is also Flask's reference: counted once before timing; its own start rechecked its answers
    # and compared those counts with its reference.
    assert metadata["verification"]["fastapi-uvicorn"]["recounted"] is False
    assert metadata["verification"]["fastapi-uvicorn"]["reference"]
    assert metadata["verification"]["flask-gunicorn-gthread"]["recounted"] is True
    assert set(metadata["servers"]) == set(RUN_SETUPS)
    assert metadata["servers"]["fastapi-uvicorn~aa"]["control_of"] == "fastapi-uvicorn"
    assert metadata["aa_control"] == "fastapi-uvicorn"
    assert metadata["order_seed"] == 11
    assert metadata["platform"]["cpu_model"]
    assert "hypervisor_flag" in metadata["platform"]
    assert metadata["postgres"]["version"].startswith(("15", "16", "17", "PostgreSQL"))
    cell = smoke_run / "raw" / "fastapi-uvicorn__order__u4__r1"
    for name in ("cell.json", "hdr.txt", "timeline.csv", "resources.csv", "locust_stats.csv"):
        assert (cell / name).stat().st_size > 0, name


def test_every_process_group_runs_where_the_plan_puts_it(smoke_run: Path) -> None:
    placement = json.loads((smoke_run / "metadata.json").read_text())["placement"]
    assert placement["as_planned"] is True, placement["mismatches"]
    assert set(placement["observed"]) == set(RUN_SETUPS)
    server, other = placement["server_cpus"], placement["loadgen_cpus"]
    for observed in placement["observed"].values():
        assert list(observed) == list(GROUPS)
        assert observed["server"]["cpus"] == server
        for group in ("postgres", "stub", "loadgen", "harness"):
            assert observed[group]["cpus"] == other, group
        assert observed["postgres"]["processes"] >= 2  # the postmaster and at least one backend


def test_cells_run_in_blocks_with_cpu_per_request(smoke_run: Path) -> None:
    records = {p.parent.name: json.loads(p.read_text())["result"] for p in (smoke_run / "raw").glob("*/cell.json")}
    results = list(records.values())
    assert sorted(r["order"] for r in results) == list(range(1, len(results) + 1))
    # A cell only CPU steal invalidated is measured again after every planned cell; its first attempt is kept as
    # raw/<cell>~try1 and ran in its block. (CI machines do get steal.)
    retried = set(json.loads((smoke_run / "metadata.json").read_text()).get("retried", {}))
    planned = [r for name, r in records.items() if name.split("~try")[0] not in retried or "~try" in name]
    again = [r for name, r in records.items() if name in retried]
    assert all(r["order"] > max(p["order"] for p in planned) for r in again)
    # One block per setup: each setup's cells run back to back after its fresh start.
    by_order = [r["server"] for r in sorted(planned, key=lambda r: r["order"])]
    blocks = [server for i, server in enumerate(by_order) if i == 0 or by_order[i - 1] != server]
    assert sorted(blocks) == sorted(RUN_SETUPS)  # every setup's cells are contiguous (a baseline has one)
    for r in results:
        assert r["control_of"] == ("fastapi-uvicorn" if r["server"].endswith("~aa") else "")
        assert r["server_cpu_ms_per_req"] > 0
        assert r["db_cpu_ms_per_req"] >= 0 if r["scenario"] == "health" else r["db_cpu_ms_per_req"] > 0
        assert 0 <= r["other_core_cpu_pct"] <= 100
        assert r["steal_pct"] >= 0
        assert r["loadavg_before"] >= 0
        assert r["loadavg_after"] >= 0


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
