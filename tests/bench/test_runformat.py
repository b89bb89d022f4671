"""The run format: round trips, the version rule (migrate older, refuse unknown), atomic writes, and its doc."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest

from bench.analyse.rundata import load_run
from bench.runformat import (
    FORMAT_VERSION,
    SUMMARY_COLUMNS,
    CellRow,
    Ergonomics,
    FormatVersionError,
    RunMetadata,
    ServerInfo,
    empty_row,
    load_summary,
    write_summary,
)
from tests.support import fake_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "RUN_FORMAT.md"
# The first reference run as version 1 wrote it (metadata, ergonomics and summary only; raw files left out).
RUN_V1 = Path(__file__).parent / "fixtures" / "run_v1"
# The columns of a version-1 summary.csv, as the reference run was written.
V1_COLUMNS = SUMMARY_COLUMNS[1 : SUMMARY_COLUMNS.index("invalid_reason") + 1]


def _row(**extra: object) -> CellRow:
    return empty_row(
        run_id="r", framework="fastapi", server="fastapi-uvicorn", scenario="item", users=8, repeat=1,
        workers=1, threads=1, reason="", **extra,
    )  # fmt: skip


def test_rows_round_trip_through_csv_and_json_with_nan_as_empty(tmp_path: Path) -> None:
    rows = [_row(), _row(control_of="fastapi-uvicorn", mode="open", target_rps=250.0, order=3).model_copy()]
    rows[1] = rows[1].model_copy(update={"rps": 123.4567891, "valid": True})
    write_summary(tmp_path, rows)
    loaded = load_summary(tmp_path)
    assert [r.cell_id for r in loaded] == [r.cell_id for r in rows]
    assert math.isnan(loaded[0].rps)
    assert loaded[1].rps == 123.4568  # stored rounded to 4 places
    assert (loaded[1].control_of, loaded[1].mode, loaded[1].target_rps, loaded[1].order) == (
        "fastapi-uvicorn", "open", 250.0, 3,
    )  # fmt: skip
    assert loaded[0].target_rps is None
    with (tmp_path / "summary.csv").open() as handle:
        first = next(csv.DictReader(handle))
    assert first["rps"] == ""
    assert first["format_version"] == str(FORMAT_VERSION)
    assert json.loads((tmp_path / "summary.json").read_text())[0]["rps"] is None
    (tmp_path / "summary.csv").unlink()  # the JSON alone is enough
    assert load_summary(tmp_path)[1].rps == 123.4568
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_version_1_summary_is_migrated_on_load(tmp_path: Path) -> None:
    row = _row().stored()
    with (tmp_path / "summary.csv").open("w") as handle:
        writer = csv.DictWriter(handle, fieldnames=V1_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerow(row)
    (loaded,) = load_summary(tmp_path)
    assert loaded.format_version == FORMAT_VERSION
    assert (loaded.control_of, loaded.mode, loaded.order) == ("", "closed", 0)


@pytest.mark.parametrize("version", [0, 3, 99])
def test_another_version_is_refused_naming_both_versions(tmp_path: Path, version: int) -> None:
    stored = {**_row().stored(), "format_version": version}
    (tmp_path / "summary.json").write_text(json.dumps([stored]))
    with pytest.raises(FormatVersionError, match=rf"version {version}; this code reads version {FORMAT_VERSION}"):
        load_summary(tmp_path)
    meta = {"format_version": version, "run_id": "r"}
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(FormatVersionError, match=rf"metadata.json .* version {version}; .* version {FORMAT_VERSION}"):
        RunMetadata.load(tmp_path / "metadata.json")


def test_a_misnamed_column_fails_naming_it() -> None:
    with pytest.raises(ValueError, match="rps_typo"):
        CellRow.from_stored({**_row().stored(), "rps_typo": 1.0})


def test_a_run_of_version_1_loads_migrated() -> None:
    run = load_run(RUN_V1)
    assert "format_version" not in (RUN_V1 / "metadata.json").read_text()  # still as it was written
    assert run.metadata.format_version == FORMAT_VERSION
    assert run.ergonomics is not None
    assert run.ergonomics.format_version == FORMAT_VERSION
    assert len(run.summary) > 0
    assert set(run.summary["control_of"]) == {""}


def test_metadata_and_ergonomics_round_trip(tmp_path: Path) -> None:
    meta = RunMetadata.model_validate(
        fake_run.metadata("r", ["fastapi-uvicorn"], [8], 3, 10) | {"environment": {"x": 1}}
    )
    meta.dump(tmp_path / "metadata.json")
    again = RunMetadata.load(tmp_path / "metadata.json")
    assert again == meta
    assert again.model_extra == {"environment": {"x": 1}}  # keys of later harness versions are kept
    assert isinstance(again.servers["fastapi-uvicorn"], ServerInfo)
    erg = Ergonomics.model_validate(fake_run.ergonomics())
    erg.dump(tmp_path / "ergonomics.json")
    assert Ergonomics.load(tmp_path / "ergonomics.json") == erg
    assert erg.validation_quality.flask.pct_4xx == 100.0
    assert erg.openapi.of("flask").hand_written_loc == 60


def _documented(section: str) -> str:
    text = DOC.read_text()
    start = text.index(section)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_doc_lists_every_summary_column_and_no_other() -> None:
    names: list[str] = []
    for line in _documented("## summary.csv columns").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1] not in ("column", "---"):
            names += [n.strip() for n in cells[1].split(",")]
    assert sorted(names) == sorted(SUMMARY_COLUMNS)


def test_doc_lists_every_metadata_and_ergonomics_key_and_the_version() -> None:
    meta_doc = _documented("## metadata.json")
    assert set(RunMetadata.model_fields) <= set(re.findall(r"\w+", meta_doc))
    assert set(ServerInfo.model_fields) <= set(re.findall(r"\w+", meta_doc))
    assert set(Ergonomics.model_fields) <= set(re.findall(r"\w+", _documented("## ergonomics.json")))
    assert f"current: **{FORMAT_VERSION}**" in DOC.read_text()
