"""The run's schedule: independent repeats (one fresh start per setup and repeat), seeded interleaved order."""

from __future__ import annotations

from collections import Counter

from bench.drive.schedule import (
    Cell,
    base_setup,
    control_name,
    control_of,
    plan,
    retry_blocks,
    run_setups,
    stolen_only,
)

SETUPS = ["fastapi-uvicorn", "fastapi-gunicorn", "flask-gunicorn-sync", "flask-gunicorn-gthread"]
SCENARIOS = ["health", "item", "list", "order"]


def test_the_aa_control_is_an_independent_setup_of_the_same_app() -> None:
    setups = run_setups(SETUPS, "fastapi-uvicorn")
    assert setups == [*SETUPS, "fastapi-uvicorn~aa"]
    assert control_name("fastapi-uvicorn") == "fastapi-uvicorn~aa"
    assert control_of("fastapi-uvicorn~aa") == base_setup("fastapi-uvicorn~aa") == "fastapi-uvicorn"
    assert control_of("fastapi-uvicorn") == ""
    assert Cell("fastapi-uvicorn~aa", "item", 8, 2).setup == "fastapi-uvicorn"
    assert run_setups(SETUPS, "") == SETUPS
    assert run_setups(["flask-gunicorn-sync"], "fastapi-uvicorn") == ["flask-gunicorn-sync"]  # nothing to copy


def test_each_setup_starts_once_per_repeat_and_serves_every_cell_of_that_repeat() -> None:
    setups = run_setups(SETUPS, "fastapi-uvicorn")
    blocks = plan(setups, SCENARIOS, [16, 64], repeats=3, seed=7)
    assert Counter((b.server, b.repeat) for b in blocks) == {(s, r): 1 for s in setups for r in (1, 2, 3)}
    for block in blocks:
        assert {(c.scenario, c.users) for c in block.cells} == {(s, u) for s in SCENARIOS for u in (16, 64)}
        assert {(c.server, c.repeat) for c in block.cells} == {(block.server, block.repeat)}
    # Rounds: every setup's repeat r runs before any setup's repeat r + 1.
    assert [b.repeat for b in blocks] == sorted(b.repeat for b in blocks)
    cells = [c for b in blocks for c in b.cells]
    assert [c.order for c in cells] == list(range(1, len(cells) + 1))
    assert len({c.id for c in cells}) == len(cells) == len(setups) * len(SCENARIOS) * 2 * 3


def test_the_order_is_seeded_and_shuffled_per_round() -> None:
    def setup_order(seed: int) -> list[list[str]]:
        blocks = plan(SETUPS, SCENARIOS, [8], repeats=4, seed=seed)
        return [[b.server for b in blocks if b.repeat == r] for r in range(1, 5)]

    assert setup_order(1) == setup_order(1)
    assert setup_order(1) != setup_order(2)
    rounds = setup_order(1)
    assert len({tuple(r) for r in rounds}) > 1  # not the same order in every round
    assert all(sorted(r) == sorted(SETUPS) for r in rounds)
    # Within a round every setup serves the scenarios in the same order, so the setups stay comparable.
    blocks = plan(SETUPS, SCENARIOS, [8], repeats=2, seed=3)
    for repeat in (1, 2):
        orders = {tuple(c.scenario for c in b.cells) for b in blocks if b.repeat == repeat}
        assert len(orders) == 1


def test_only_cells_invalid_for_steal_alone_are_measured_again() -> None:
    assert stolen_only("CPU steal 7.3% > 5% (the host took our cores)")
    assert not stolen_only("CPU steal 7.3% > 5% (the host took our cores); error rate 3.00% > 0.10% ({})")
    assert not stolen_only("limited by the shared core (busiest of CPUs [1] at 99% > 90%)")
    assert not stolen_only("")


def test_retries_are_fresh_blocks_per_setup_and_repeat_after_the_run() -> None:
    cells = [Cell("a", "item", 8, 1, 3), Cell("b", "item", 8, 2, 9), Cell("a", "order", 8, 1, 5)]
    blocks = retry_blocks(cells, first_order=41)
    assert [(b.server, b.repeat, [c.scenario for c in b.cells]) for b in blocks] == [
        ("a", 1, ["item", "order"]),
        ("b", 2, ["item"]),
    ]
    # Same cell ids (the row is replaced), new execution orders after the run's last cell.
    assert sorted(c.order for b in blocks for c in b.cells) == [41, 42, 43]
    assert {c.id for b in blocks for c in b.cells} == {c.id for c in cells}
