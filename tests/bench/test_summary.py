"""Summary rows from the recorders' files: counts, percentiles, CPU, and the rules that make a cell invalid."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from bench.measure.recorder import HDR_DIGITS, HDR_HIGHEST_US, HDR_LOWEST_US, LoadResult, merge_recorders
from bench.measure.row import measured_row
from bench.measure.sampler import WindowUsage
from bench.runformat import SUMMARY_COLUMNS, empty_row, invalid_reasons, write_summary


def _recorder_file(directory: Path, pid: int, latencies_us: list[int], failures: dict[str, int]) -> None:
    histogram = HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)
    for value in latencies_us:
        histogram.record_value(value)
    payload = {
        "pid": pid,
        "window": [1000.0, 1002.0],
        "requests": len(latencies_us),
        "failures": failures,
        "timeline": {"0": len(latencies_us) // 2, "1": len(latencies_us) - len(latencies_us) // 2},
        "timeline_failures": {"1": sum(failures.values())},
        "hdr": histogram.encode().decode(),
    }
    (directory / f"recorder-{pid}.json").write_text(json.dumps(payload))


@pytest.fixture
def merged(tmp_path: Path) -> LoadResult:
    # Two Locust processes: 1..1000 µs and 1001..2000 µs, 3 failures in all.
    _recorder_file(tmp_path, 1, list(range(1, 1001)), {"500": 2})
    _recorder_file(tmp_path, 2, list(range(1001, 2001)), {"0": 1})
    return merge_recorders(tmp_path)


def test_merge_adds_processes_counts_and_histograms(merged: LoadResult) -> None:
    assert merged.processes == 2
    assert merged.requests == 2000
    assert dict(merged.failures) == {"500": 2, "0": 1}
    assert merged.timeline == {0: 1000, 1: 1000}
    assert merged.histogram.get_total_count() == 2000
    # Sub-millisecond precision survives: the median of 1..2000 µs is 1.0 ms (± HDR's 0.1 %).
    assert merged.percentile_ms(50) == pytest.approx(1.0, rel=0.002)
    assert merged.percentile_ms(99) == pytest.approx(1.98, rel=0.002)


def test_measured_row_computes_rates_and_resources(merged: LoadResult) -> None:
    base = empty_row(
        run_id="r",
        framework="fastapi",
        server="fastapi-uvicorn",
        scenario="item",
        users=8,
        repeat=1,
        workers=2,
        threads=1,
        reason="",
    ).model_dump()
    row = measured_row(
        base,
        merged,
        WindowUsage(
            server_cpu_s=1.5, server_rss_mb=300.0, server_processes=3, loadgen_cpu_pct=40.0, worker_rss_mb=100.0
        ),
        duration_s=2.0,
    )
    assert row["rps"] == 1000.0
    assert row["failures"] == 3
    assert row["error_rate"] == pytest.approx(3 / 2000)
    assert json.loads(row["failures_by_status"]) == {"0": 1, "500": 2}
    assert row["server_cpu_pct"] == 75.0
    assert row["rss_per_worker_mb"] == 100.0
    assert row["p50_ms"] < row["p90_ms"] < row["p99_ms"] <= row["p999_ms"] <= row["max_ms"]
    assert row["mean_ms"] == pytest.approx(1.0005, rel=0.002)


def _row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {"requests": 1000, "error_rate": 0.0, "failures_by_status": "{}", "loadgen_cpu_pct": 30.0}
    row.update(values)
    return row


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_row(), []),
        (_row(error_rate=0.001), []),
        (_row(error_rate=0.0011, failures_by_status='{"502": 11}'), ["error rate 0.11% > 0.10%"]),
        (_row(loadgen_cpu_pct=85.0), ["loadgen saturated (85% > 80% of a core)"]),
        (_row(requests=0), ["no requests completed in the window"]),
        (_row(loadgen_cpu_pct=math.nan), []),
    ],
)
def test_invalid_cell_rules(row: dict[str, object], expected: list[str]) -> None:
    reasons = invalid_reasons(row, max_error_rate=0.001, loadgen_cpu_limit_pct=80)
    assert [reason.split(" (")[0] if "error rate" in reason else reason for reason in reasons] == expected


def test_summary_files_have_every_column_and_no_nan(tmp_path: Path) -> None:
    rows = [
        empty_row(
            run_id="r",
            framework="flask",
            server="flask-gunicorn-sync",
            scenario="list",
            users=4,
            repeat=r,
            workers=1,
            threads=1,
            reason="not run: interrupted",
        )
        for r in (1, 2)
    ]
    write_summary(tmp_path, rows)
    with (tmp_path / "summary.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == SUMMARY_COLUMNS
        parsed = list(reader)
    assert [row["cell_id"] for row in parsed] == [
        "flask-gunicorn-sync__list__u4__r1",
        "flask-gunicorn-sync__list__u4__r2",
    ]
    assert parsed[0]["rps"] == ""  # NaN is written as an empty cell
    as_json = json.loads((tmp_path / "summary.json").read_text())
    assert as_json[0]["rps"] is None
    assert as_json[0]["valid"] is False
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files
