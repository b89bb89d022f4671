"""One short real open-loop cell per app: Locust paces its users to the target rate and the recorder measures it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.drive.loadgen import LoadSpec, LocustRun
from bench.drive.openloop import users_for_rate
from bench.drive.servers import RunningServer
from bench.measure.recorder import merge_recorders

pytestmark = pytest.mark.e2e

RATE, WARMUP_S, DURATION_S = 40.0, 1.5, 3.0


def test_an_open_loop_cell_sends_at_the_target_rate_and_never_faster(live: RunningServer, tmp_path: Path) -> None:
    spec = LoadSpec(
        scenario="item",
        host=live.url,
        users=users_for_rate(RATE, 0.5),
        warmup_s=WARMUP_S,
        duration_s=DURATION_S,
        seed_users=20,  # the session template's scale (tests/conftest.py)
        seed_items=200,
        rate=RATE,
    )
    locust = LocustRun(spec, tmp_path)
    assert locust.wait(timeout_s=spec.run_time_s + 30) == 0, locust.log_tail()
    load = merge_recorders(tmp_path)
    scheduled = RATE * DURATION_S
    assert not load.truncated
    assert dict(load.failures) == {}
    # Paced, not closed loop: 20 users in a closed loop would send many times the schedule. (A backlog from a
    # slow warm-up may drain inside the window, so a few more than scheduled can complete there.)
    assert scheduled / 2 <= load.requests <= scheduled * 1.5, f"{load.requests} completed, {scheduled:.0f} scheduled"
    assert 0 <= load.late <= load.requests
    assert load.percentile_ms(50) > 0
