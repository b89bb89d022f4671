"""Placement read-back: pinned children report the CPUs they really got, and a deviation is named."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.config import resolve_settings
from bench.drive.placement import EXTERNAL, Placement, mismatches, observe, observe_group, pinned_self
from bench.drive.postgres import EmbeddedPostgres, ExternalPostgres
from bench.drive.runner import Runner

CPUS = sorted(os.sched_getaffinity(0))
LAST = CPUS[-1]


@pytest.fixture
def pinned_child() -> Iterator[psutil.Process]:
    """A sleeping child started on the last CPU only, the way the runner starts every helper process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=lambda: os.sched_setaffinity(0, [LAST])
    )
    try:
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_split_gives_the_server_its_own_cores() -> None:
    assert Placement.split([0, 1]) == Placement((0,), (1,))
    assert Placement.split([3, 2, 1, 0]) == Placement((0, 1), (2, 3))
    assert Placement.split([5]) == Placement((5,), (5,))  # one CPU: nothing to separate
    plan = Placement((0,), (1,))
    assert plan.planned("server") == [0]
    assert [plan.planned(g) for g in ("postgres", "stub", "loadgen", "harness")] == [[1]] * 4


def test_a_pinned_child_is_read_back_with_its_real_cpus(pinned_child: psutil.Process) -> None:
    entry = observe_group([pinned_child])
    assert entry == {"cpus": [LAST], "processes": 1}


def test_a_child_off_the_plan_is_reported(pinned_child: psutil.Process) -> None:
    plan = Placement((LAST,), (CPUS[0],)) if len(CPUS) > 1 else Placement((LAST,), (LAST + 1,))
    observed = observe({"server": [pinned_child], "loadgen": [pinned_child]})
    assert mismatches(plan, observed) == [f"loadgen runs on CPUs [{LAST}], planned {plan.planned('loadgen')}"]


def test_a_group_whose_processes_differ_lists_each_set(pinned_child: psutil.Process) -> None:
    if len(CPUS) < 2:
        pytest.skip("needs two CPUs")
    entry = observe_group([psutil.Process(), pinned_child])
    assert entry["cpus"] == CPUS
    assert entry["differing"] == sorted([list(CPUS), [LAST]])


def test_external_and_gone_groups_are_recorded_not_compared() -> None:
    observed = observe({"postgres": None, "stub": []})
    assert observed == {"postgres": {"cpus": EXTERNAL, "processes": 0}, "stub": {"cpus": "not running", "processes": 0}}
    assert mismatches(Placement((0,), (1,)), observed) == []


def test_pinned_self_pins_every_thread_and_restores_them() -> None:
    before = os.sched_getaffinity(0)
    seen: list[set[int]] = []
    started = threading.Event()
    stop = threading.Event()

    def _worker() -> None:
        started.set()
        stop.wait(10)
        seen.append(os.sched_getaffinity(0))  # on Linux, pid 0 = the calling thread

    worker = threading.Thread(target=_worker)
    worker.start()
    started.wait(5)
    with pinned_self([LAST]):
        assert os.sched_getaffinity(0) == {LAST}
        assert observe_group([psutil.Process()])["cpus"] == [LAST]  # every thread, the old worker included
        stop.set()
        worker.join()
    assert seen == [{LAST}]
    assert os.sched_getaffinity(0) == before


def test_embedded_postgres_backends_inherit_the_postmasters_cpus() -> None:
    with EmbeddedPostgres(cpus=[LAST]) as pg:
        engine = create_engine(pg.admin_url.replace("postgresql://", "postgresql+psycopg2://"), poolclass=NullPool)
        with engine.connect() as conn:  # a live backend while we look
            conn.execute(text("SELECT 1"))
            tree = pg.tree()
            assert tree is not None
            assert len(tree) >= 3
            assert observe_group(tree) == {"cpus": [LAST], "processes": len(tree)}
        engine.dispose()


def test_an_external_postgres_is_not_ours_to_pin() -> None:
    assert ExternalPostgres("postgresql://u@db.example:5432/x").tree() is None


def test_the_runner_flags_a_run_whose_placement_is_off_the_plan(tmp_path: Path) -> None:
    runner = Runner(resolve_settings("smoke"), tmp_path)
    runner.placement = Placement((0,), (1,))
    runner._start_metadata()
    cell = runner.cells[0]
    right = {"server": {"cpus": [0], "processes": 2}, "postgres": {"cpus": EXTERNAL, "processes": 0}}
    assert runner._check_placement(cell, right) == []
    assert runner.metadata["placement"]["as_planned"] is True
    wrong = {"server": {"cpus": [0, 1], "processes": 2}, "harness": {"cpus": [1], "processes": 1}}
    assert runner._check_placement(cell, wrong) == ["server runs on CPUs [0, 1], planned [0]"]
    placement = runner.metadata["placement"]
    assert placement["as_planned"] is False
    assert placement["mismatches"] == [f"{cell.id}: server runs on CPUs [0, 1], planned [0]"]
    assert placement["observed"][cell.server] == right  # the first reading of each setup is kept
