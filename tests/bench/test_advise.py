"""The request-mix advice: parsing with clear errors, the harmonic combination, best setup and the verdict rule."""

from __future__ import annotations

import math

import pytest

from bench.analyse.advise import MixError, SetupCapacity, advise, mix_capacity, parse_mix

KNOWN = ("health", "item", "list", "order", "upstream", "journey")


def test_parse_mix_reads_weights_and_drops_zero_ones() -> None:
    assert parse_mix("item=0.6, list=0.4,order=0", KNOWN) == {"item": 0.6, "list": 0.4}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("item=0.5,cart=0.5", "unknown scenario 'cart'"),
        ("item=0.5,list=0.4", "sum to 0.9"),
        ("item=1.2,list=-0.2", "weight of 'list' must be a finite number ≥ 0"),
        ("item=x", "weight of 'item' is not a number"),
        ("item", "'item' is not SCENARIO=WEIGHT"),
        ("item=0.5,item=0.5", "'item' twice"),
        ("", "--mix is empty"),
        ("item=nan", "finite"),
    ],
)
def test_bad_mixes_name_the_part(text: str, names: str) -> None:
    with pytest.raises(MixError, match=names):
        parse_mix(text, KNOWN)


def test_mix_capacity_is_the_weighted_harmonic_mean() -> None:
    # Half the requests at 1 ms of core time, half at 2 ms: 1.5 ms on average → 666.7 requests/s.
    assert mix_capacity({"item": 1000.0, "list": 500.0}, {"item": 0.5, "list": 0.5}) == pytest.approx(2000 / 3)
    assert math.isnan(mix_capacity({"item": 1000.0}, {"item": 0.5, "list": 0.5}))


def _setup(name: str, framework: str, item: list[float], lst: list[float]) -> SetupCapacity:
    return SetupCapacity(name, framework, {"item": item, "list": lst})


def test_advise_picks_the_best_setup_per_framework_and_calls_a_clear_win() -> None:
    setups = [
        _setup("fastapi-uvicorn", "fastapi", [1000, 1010, 990], [500, 505, 495]),
        _setup("fastapi-gunicorn", "fastapi", [900, 910, 890], [450, 455, 445]),
        _setup("flask-gunicorn-gthread", "flask", [800, 805, 795], [400, 402, 398]),
    ]
    advice = advise(setups, {"item": 0.5, "list": 0.5}, noise_floor=0.03)
    assert advice.best == {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-gthread"}
    assert advice.ratio == pytest.approx(1.25, rel=1e-3)
    assert advice.ratio_ci is not None
    assert advice.ratio_ci[0] > 1.2
    assert advice.ratio_ci[1] < 1.3
    assert advice.verdict.startswith("FastAPI")


def test_advise_respects_the_noise_floor_and_the_repeat_minimum() -> None:
    close = [
        _setup("a", "fastapi", [1020, 1021, 1019], [510, 511, 509]),
        _setup("b", "flask", [1000, 1001, 999], [500, 501, 499]),
    ]
    assert advise(close, {"item": 0.5, "list": 0.5}, noise_floor=0.05).verdict.startswith("no difference")
    two = [_setup("a", "fastapi", [1200, 1210], [600, 605]), _setup("b", "flask", [1000, 1001, 999], [500, 501, 499])]
    advice = advise(two, {"item": 0.5, "list": 0.5}, noise_floor=0.01)
    assert advice.ratio_ci is None
    assert advice.verdict.startswith("no verdict")


def test_advise_says_when_a_framework_lacks_a_scenario() -> None:
    setups = [_setup("a", "fastapi", [1, 2, 3], [1, 2, 3]), SetupCapacity("b", "flask", {"item": [1.0, 2.0, 3.0]})]
    advice = advise(setups, {"item": 0.5, "list": 0.5}, noise_floor=0.02)
    assert advice.missing == ("b",)
    assert advice.verdict.startswith("not measured")


def test_advise_calls_nothing_without_an_aa_noise_floor() -> None:
    setups = [_setup("a", "fastapi", [1200, 1210, 1190], [600, 605, 595]), _setup("b", "flask", [1000] * 3, [500] * 3)]
    advice = advise(setups, {"item": 0.5, "list": 0.5}, noise_floor=None)
    assert advice.verdict.startswith("no verdict: no A/A noise floor")
