"""Run comparison: identical runs pass, a slower run fails the gate, incomparable setups are refused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.analyse.analysis import analyse_dir
from bench.analyse.comparison import Comparison, compare_results, setup_differences
from bench.report.compare import compare_main
from bench.runformat import RunMetadata
from tests.support import fake_run

SMALL = {"scenarios": ("item", "upstream"), "users": (4, 16)}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = fake_run.make_run(tmp_path_factory.mktemp("a"), **SMALL)
    return path


def compare_runs(a: Path, b: Path, *, fail_above_pct: float) -> Comparison:
    return compare_results(analyse_dir(a), analyse_dir(b), fail_above_pct=fail_above_pct)


def _copy(run_dir: Path, dest: Path) -> Path:
    out = dest / f"{run_dir.name}-copy"
    shutil.copytree(run_dir, out)
    return out


def _slow_down(run_dir: Path, server: str, factor: float) -> None:
    """Scale one setup's throughput (summary rows and per-second timelines) by factor."""
    df = pd.read_csv(run_dir / "summary.csv")
    rows = df["server"] == server
    df.loc[rows, "rps"] *= factor
    df.loc[rows, "requests"] = (df.loc[rows, "requests"] * factor).round().astype(int)
    df.to_csv(run_dir / "summary.csv", index=False)
    for cell in df.loc[rows, "cell_id"]:
        tl = pd.read_csv(run_dir / "raw" / cell / "timeline.csv")
        tl["requests"] = (tl["requests"] * factor).round().astype(int)
        tl.to_csv(run_dir / "raw" / cell / "timeline.csv", index=False)


def _edit_metadata(run_dir: Path, **changes: object) -> None:
    meta = json.loads((run_dir / "metadata.json").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = meta
        for p in parents:
            target = target[p]
        target[leaf] = value
    (run_dir / "metadata.json").write_text(json.dumps(meta))


def test_same_run_shows_no_change_and_passes(baseline: Path, tmp_path: Path) -> None:
    assert compare_main(baseline, baseline, fail_above_pct=5.0, force=False, out_dir=tmp_path) == 0
    comp = compare_runs(baseline, baseline, fail_above_pct=5.0)
    assert comp.differences == []
    assert comp.regressions == []
    assert comp.only_a == comp.only_b == []
    assert len(comp.groups) == 5 * 2 * 2  # four setups and the A/A control × scenarios × levels
    assert comp.noise_floor is not None
    for g in comp.groups:
        for c in g.changes.values():
            assert c.pct == 0.0
            assert c.called is False
    md = (tmp_path / "compare.md").read_text()
    assert "no called regression" in md
    assert "REGRESSION" not in md
    page = (tmp_path / "compare.html").read_text()
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', page)
    assert "<script" not in page


def test_slower_run_is_a_regression(baseline: Path, tmp_path: Path) -> None:
    slower = _copy(baseline, tmp_path)
    for server in ("fastapi-uvicorn", "fastapi-uvicorn~aa"):  # the setup and its A/A control, so B stays quiet
        _slow_down(slower, server, 0.7)
    assert compare_main(baseline, slower, fail_above_pct=5.0, force=False, out_dir=None) == 1
    comp = compare_runs(baseline, slower, fail_above_pct=5.0)
    regressed = {key for key, c in comp.regressions if c.metric == "rps"}
    assert regressed == {
        (server, s, u) for server in ("fastapi-uvicorn", "fastapi-uvicorn~aa") for s in SMALL["scenarios"]
        for u in SMALL["users"]
    }  # fmt: skip
    for key, c in comp.regressions:
        assert c.pct == pytest.approx(-30.0, abs=0.5), key
    assert "REGRESSION" in (slower / "compare.md").read_text()  # out_dir defaults to run B
    assert (slower / "compare.html").exists()
    # a 30 % drop is inside a 40 % threshold: called but not failing
    assert compare_main(baseline, slower, fail_above_pct=40.0, force=False, out_dir=tmp_path / "o") == 0


def test_single_repeat_runs_are_untested_not_compared_on_per_second_samples(tmp_path: Path) -> None:
    a = fake_run.make_run(tmp_path / "a", repeats=1, scenarios=("item",), users=(8,))
    b = _copy(a, tmp_path)
    _slow_down(b, "flask-gunicorn-sync", 0.8)
    comp = compare_runs(a, b, fail_above_pct=5.0)
    rps = comp.groups[0].changes["rps"]
    assert {g.key: g.changes["rps"].pct for g in comp.groups}[("flask-gunicorn-sync", "item", 8)] == pytest.approx(
        -20.0, abs=0.5
    )
    assert rps.ci is None
    assert all(c.called is None for g in comp.groups for c in g.changes.values())  # one repeat: no CI, no call
    assert comp.regressions == []
    assert compare_main(a, b, fail_above_pct=5.0, force=False, out_dir=tmp_path / "o") == 0
    assert "untested" in (tmp_path / "o" / "compare.md").read_text()


def test_mismatched_setups_are_refused_unless_forced(
    baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _copy(baseline, tmp_path)
    _edit_metadata(other, packages__fastapi="0.999.0", platform__cores=16, settings__duration_s=60)
    assert compare_main(baseline, other, fail_above_pct=5.0, force=False, out_dir=tmp_path / "o") == 2
    out = capsys.readouterr().out
    assert "packages.fastapi" in out
    assert "platform.cores" in out
    assert "settings.duration_s" in out
    assert not (tmp_path / "o").exists()
    assert compare_main(baseline, other, fail_above_pct=5.0, force=True, out_dir=tmp_path / "o") == 0
    assert "packages.fastapi" in (tmp_path / "o" / "compare.md").read_text()


def test_setup_differences_cover_what_matters() -> None:
    raw = fake_run.metadata("r", ["fastapi-uvicorn"], [8], 1, 10)
    meta = RunMetadata.model_validate(raw)
    assert setup_differences(meta, meta.model_copy(deep=True)) == []
    changed = json.loads(json.dumps(raw))
    changed["python"]["executable"] = "/elsewhere/bin/python"  # a different venv path is not a difference
    changed["git"]["sha"] = "fffffff"  # nor is another commit: that is what compare is for
    assert setup_differences(meta, RunMetadata.model_validate(changed)) == []
    for key, value in (("python", {"version": "3.12.1"}), ("packages", {**raw["packages"], "Werkzeug": "9"})):
        assert setup_differences(meta, RunMetadata.model_validate({**raw, key: value})), key
    # the oldest runs stored python as a plain version string: migrated on load, then compared alike
    legacy = RunMetadata.from_stored({k: v for k, v in raw.items() if k != "format_version"} | {"python": "3.11.7"})
    assert legacy.python == {"version": "3.11.7"}
    assert setup_differences(meta, legacy) == ["python: 'CPython 3.11.7' (A) vs '3.11.7' (B)"]


def test_groups_present_in_one_run_only_are_listed(baseline: Path, tmp_path: Path) -> None:
    b = fake_run.make_run(tmp_path, scenarios=("item",), users=(4, 16))
    comp = compare_runs(baseline, b, fail_above_pct=5.0)
    assert {k[1] for k in comp.only_a} == {"upstream"}
    assert comp.only_b == []
