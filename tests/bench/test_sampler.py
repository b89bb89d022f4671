"""CPU accounting of process trees: exact per-process clocks, and reaped children still counted."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from bench.measure.sampler import process_cpu_s, tree_cpu_s

BURN = "import time\nwhile time.process_time() < {s}: pass\nprint('done', flush=True)\ntime.sleep(30)"


def test_a_process_clock_is_exact_and_agrees_with_the_tick_counts() -> None:
    child = subprocess.Popen([sys.executable, "-c", BURN.format(s=0.15)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "done\n"
        proc = psutil.Process(child.pid)
        exact = process_cpu_s(proc)
        ticks = proc.cpu_times()
        assert exact >= 0.15
        assert abs(exact - (ticks.user + ticks.system)) < 0.03  # the same time, one at 10 ms resolution
    finally:
        child.kill()
        child.wait()


def test_a_tree_counts_the_children_its_root_has_reaped() -> None:
    # The root starts a child that burns 0.2 s of CPU and exits; after the wait, only the root's
    # children_* times still hold that CPU (as PostgreSQL's postmaster holds its ended backends').
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.run([sys.executable, '-c', {BURN.format(s=0.2).replace('time.sleep(30)', '')!r}], check=True)\n"
        "print('reaped', flush=True)\n"
        "time.sleep(30)\n"
    )
    root = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout is not None
        assert root.stdout.readline() == "done\n"
        assert root.stdout.readline() == "reaped\n"
        proc = psutil.Process(root.pid)
        assert proc.children() == []
        assert tree_cpu_s([proc]) >= process_cpu_s(proc) + 0.2 - 0.02
    finally:
        root.kill()
        root.wait()


def test_a_process_that_is_gone_counts_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    proc = psutil.Process(child.pid)
    child.wait()
    time.sleep(0.05)
    assert tree_cpu_s([proc]) == 0.0
