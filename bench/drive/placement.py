"""Where every process of a run may execute: the plan, pinning the harness itself, and reading it back.

The server gets its cores alone; PostgreSQL (postmaster and backends), the carrier stub, the load generator
and this harness share the rest. The plan is only a claim until the affinity of the live processes, every
thread of every process, has been read back and compared with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

# The process groups of a run, in the order metadata lists them.
GROUPS = ("server", "postgres", "stub", "loadgen", "harness")
EXTERNAL = "external, not pinned"


@dataclass(frozen=True)
class Placement:
    """Which CPUs the server gets and which the load generator, database, stub and harness share."""

    server_cpus: tuple[int, ...]
    other_cpus: tuple[int, ...]

    @classmethod
    def split(cls, cpus: Sequence[int]) -> Placement:
        """Give the server the first half of the CPUs (at least one) and everything else the rest."""
        ordered = sorted(cpus)
        if len(ordered) == 1:
            return cls((ordered[0],), (ordered[0],))
        half = max(1, len(ordered) // 2)
        return cls(tuple(ordered[:half]), tuple(ordered[half:]))

    def planned(self, group: str) -> list[int]:
        """The CPUs a process group is meant to run on."""
        return list(self.server_cpus if group == "server" else self.other_cpus)

    def as_dict(self) -> dict[str, list[int]]:
        """The plan, for metadata.json."""
        other = list(self.other_cpus)
        return {
            "server_cpus": list(self.server_cpus),
            "loadgen_cpus": other,
            "db_cpus": other,
            "stub_cpus": other,
            "harness_cpus": other,
        }


def _thread_ids(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


def process_cpus(proc: psutil.Process) -> list[int] | None:
    """Every CPU any thread of a process may run on (None if it is gone)."""
    cpus: set[int] = set()
    for tid in _thread_ids(proc.pid):
        try:
            cpus |= os.sched_getaffinity(tid)
        except (ProcessLookupError, PermissionError):
            continue  # a thread that ended while we looked
    return sorted(cpus) or None


def observe_group(procs: Sequence[psutil.Process] | None) -> dict[str, object]:
    """The real affinity of one process group: the CPUs its processes may use, or why there are none."""
    if procs is None:
        return {"cpus": EXTERNAL, "processes": 0}
    seen = [cpus for cpus in (process_cpus(p) for p in procs) if cpus is not None]
    if not seen:
        return {"cpus": "not running", "processes": 0}
    union = sorted(set().union(*map(set, seen)))
    distinct = sorted({tuple(cpus) for cpus in seen})
    entry: dict[str, object] = {"cpus": union, "processes": len(seen)}
    if len(distinct) > 1:
        entry["differing"] = [list(cpus) for cpus in distinct]  # some process escaped the group's pinning
    return entry


def observe(groups: Mapping[str, Sequence[psutil.Process] | None]) -> dict[str, dict[str, object]]:
    """The real affinity of each process group (None = not ours to see, e.g. an external database)."""
    return {name: observe_group(procs) for name, procs in groups.items()}


def mismatches(placement: Placement, observed: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Each group whose live processes may run anywhere other than on the CPUs the plan gives it."""
    problems = []
    for group, entry in observed.items():
        cpus = entry["cpus"]
        if not isinstance(cpus, list):
            continue  # external or not running: recorded as such, nothing to compare
        planned = placement.planned(group)
        if cpus != planned:
            problems.append(f"{group} runs on CPUs {cpus}, planned {planned}")
    return problems


@contextmanager
def pinned_self(cpus: Sequence[int]) -> Iterator[None]:
    """Pin every thread of this process (and so every thread it starts) to cpus; restore them afterwards."""
    pid = os.getpid()
    before = {tid: os.sched_getaffinity(tid) for tid in _thread_ids(pid)}
    for tid in before:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            continue
    try:
        yield
    finally:
        for tid in _thread_ids(pid):
            try:
                os.sched_setaffinity(tid, before.get(tid, before[pid]))
            except ProcessLookupError:
                continue
