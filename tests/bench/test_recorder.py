"""The window recorder: latency from the intended send time in open loop, lateness counted, files merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.measure.recorder import WindowRecorder, merge_recorders


def test_open_loop_latency_counts_from_the_intended_send_time_and_late_sends_are_counted(tmp_path: Path) -> None:
    recorder = WindowRecorder()
    recorder.share(t0=100.0, warmup_s=1.0, duration_s=2.0)  # window [101, 103)
    # On time: 5 ms of timer jitter is not lateness; the latency is the 20 ms answer plus the 5 ms.
    recorder.record(101.5, 20.0, None, intended=101.475, start=101.48)
    # Late: intended at 102.0, sent 300 ms later because the user was still busy; the wait counts.
    recorder.record(102.32, 20.0, None, intended=102.0, start=102.3)
    recorder.record(102.4, 15.0, "503", intended=102.1, start=102.385)  # a late failure
    recorder.record(100.9, 15.0, None, intended=100.0, start=100.885)  # ends in the warm-up: not counted
    recorder.record(101.6, 12.0, None)  # closed loop: the response time as it is
    recorder.dump(tmp_path)
    result = merge_recorders(tmp_path)
    assert result.requests == 4
    assert result.late == 2
    assert result.lag_max_ms == pytest.approx(300.0)
    assert result.mean_lag_ms == pytest.approx((5 + 300 + 285 + 0) / 4)
    assert result.percentile_ms(100) == pytest.approx(320.0, rel=1e-3)
    assert result.percentile_ms(0) == pytest.approx(12.0, rel=1e-3)
    assert dict(result.failures) == {"503": 1}


def test_a_worker_keeps_the_masters_window_when_its_own_test_start_comes_later() -> None:
    recorder = WindowRecorder()
    recorder.share(t0=50.0, warmup_s=1.0, duration_s=2.0)
    recorder.open(warmup_s=1.0, duration_s=2.0)  # the worker's test_start, later than the master's
    assert recorder.window == (51.0, 53.0)


def test_the_ramp_overrun_says_how_far_into_the_window_the_last_user_started(tmp_path: Path) -> None:
    for name, first_send in (("a", 100.5), ("b", 101.25)):
        recorder = WindowRecorder()
        recorder.share(t0=100.0, warmup_s=1.0, duration_s=2.0)
        recorder.last_first_send = first_send
        recorder.record(101.5, 1.0, None, intended=101.5, start=101.5)
        recorder.dump(tmp_path / name)
        (tmp_path / name / next((tmp_path / name).iterdir()).name).rename(tmp_path / f"recorder-{name}.json")
    assert merge_recorders(tmp_path).ramp_overrun_s == pytest.approx(0.25)
