"""The open-loop send schedule of one Locust user, on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from bench.drive.pacing import PacedSchedule, global_slot

T0 = 1_000.0


def test_each_user_sends_on_its_own_slot_of_one_evenly_spaced_lattice() -> None:
    rate, users = 100.0, 4
    schedules = [PacedSchedule(rate, users, slot, T0) for slot in range(users)]
    assert schedules[1].period == pytest.approx(0.04)
    assert [schedules[1].intended(k) for k in range(3)] == pytest.approx([1000.01, 1000.05, 1000.09])
    sends = sorted(s.intended(k) for s in schedules for k in range(25))
    # Together the users send exactly `rate` requests per second, 1/rate apart.
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert gaps == pytest.approx([0.01] * 99)
    assert len([t for t in sends if T0 <= t < T0 + 1]) == 100


def test_a_user_starting_late_begins_at_its_next_slot_not_with_a_burst() -> None:
    schedule = PacedSchedule(100.0, 4, 1, T0)
    assert schedule.first(T0 + 0.05) == pytest.approx(T0 + 0.05)  # exactly on a slot: that slot
    assert schedule.first(T0 + 0.051) == pytest.approx(T0 + 0.09)
    assert schedule.first(T0 - 5) == pytest.approx(T0 + 0.01)  # before t0: the first slot


def test_a_late_user_sends_at_once_and_its_wait_counts_in_its_latency() -> None:
    """A fake clock drives one user: it waits for each slot, or sends at once when the last answer came late."""
    schedule = PacedSchedule(rate=10.0, users=1, slot=0, t0=T0)  # one send every 0.1 s
    service_s = [0.02, 0.25, 0.02, 0.02, 0.02]  # the second answer takes 2.5 periods
    now = schedule.first(T0)
    intended = now
    measured = []
    for k, service in enumerate(service_s):
        if k:
            now += schedule.advance(now)  # the wait Locust sleeps (0 when behind)
            intended = schedule.intended(schedule.k)
        latency_ms = (now - intended + service) * 1000
        measured.append((round(intended - T0, 3), round(now - T0, 3), round(latency_ms, 3)))
        now += service
    assert measured == [
        (0.0, 0.0, 20.0),
        (0.1, 0.1, 250.0),
        (0.2, 0.35, 170.0),  # intended 0.2, sent at 0.35 when the slow answer came: 150 ms of waiting counted
        (0.3, 0.37, 90.0),  # still behind: sent at once
        (0.4, 0.4, 20.0),  # caught up: waits for its slot again
    ]


def test_users_of_several_processes_interleave_into_distinct_slots() -> None:
    slots = {global_slot(local, process, 2, 10) for process in range(2) for local in range(5)}
    assert slots == set(range(10))
