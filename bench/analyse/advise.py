"""Your workload: combine the measured scenarios by a team's request mix into one capacity per framework.

A server at capacity spends 1/c_s of a second per request of scenario s (c_s: its capacity at the p99 target,
measured alone). A mix with weights w_s therefore sustains 1 / Σ w_s / c_s requests per second: the weighted
harmonic mean. This assumes the scenarios compete for the same bottleneck (the server core) and do not
interfere otherwise; the report says so next to every mix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.analyse.stats import CONFIDENCE, N_RESAMPLES, SEED, FloatArray, call

# Weights may be written with a few digits; their sum must be 1 within this tolerance.
_SUM_TOLERANCE = 1e-6


class MixError(ValueError):
    """A request mix that cannot be used; the message names the part that is wrong."""


def parse_mix(text: str, known: Sequence[str]) -> dict[str, float]:
    """Parse 'item=0.6,list=0.4' into weights; errors name the offending part."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise MixError(f"--mix part {part!r} is not SCENARIO=WEIGHT")
        if name not in known:
            raise MixError(f"--mix names unknown scenario {name!r}; choose from {', '.join(known)}")
        if name in weights:
            raise MixError(f"--mix names scenario {name!r} twice")
        try:
            weight = float(value)
        except ValueError:
            raise MixError(f"--mix weight of {name!r} is not a number: {value.strip()!r}") from None
        if not math.isfinite(weight) or weight < 0:
            raise MixError(f"--mix weight of {name!r} must be a finite number ≥ 0, got {value.strip()}")
        weights[name] = weight
    if not weights:
        raise MixError("--mix is empty; give SCENARIO=WEIGHT pairs such as item=0.7,list=0.3")
    total = sum(weights.values())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise MixError(f"--mix weights sum to {total:g}, not 1")
    return {name: w for name, w in weights.items() if w > 0}


def mix_capacity(capacities: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Requests per second the mix sustains, given each scenario's capacity (weighted harmonic mean)."""
    seconds_per_request = 0.0
    for scenario, weight in weights.items():
        capacity = capacities.get(scenario, math.nan)
        if not capacity > 0:
            return math.nan
        seconds_per_request += weight / capacity
    return 1.0 / seconds_per_request


@dataclass(frozen=True)
class SetupCapacity:
    """One setup's measured capacity per scenario: one value per independent repeat (requests/s/core)."""

    setup: str
    framework: str
    repeats: Mapping[str, Sequence[float]]

    def point(self, weights: Mapping[str, float]) -> float:
        """The mix capacity from the mean of each scenario's repeats."""
        means = {s: float(np.mean(v)) for s, v in self.repeats.items() if len(v)}
        return mix_capacity(means, weights)


@dataclass(frozen=True)
class Advice:
    """The best setup of each framework for a mix, their capacities and the FastAPI ÷ Flask ratio."""

    weights: Mapping[str, float]
    best: Mapping[str, str]
    capacity: Mapping[str, float]
    capacity_ci: Mapping[str, tuple[float, float] | None]
    ratio: float
    ratio_ci: tuple[float, float] | None
    noise_floor: float | None
    verdict: str
    missing: tuple[str, ...]


def _bootstrap_mix(setup: SetupCapacity, weights: Mapping[str, float], rng: np.random.Generator) -> FloatArray:
    """Mix capacities over bootstrap resamples of each scenario's repeats (independent per scenario)."""
    draws: dict[str, FloatArray] = {}
    for scenario in weights:
        values = np.asarray(setup.repeats.get(scenario, ()), dtype=np.float64)
        idx = rng.integers(0, len(values), size=(N_RESAMPLES, len(values)))
        draws[scenario] = values[idx].mean(axis=1)
    seconds = sum(w / draws[s] for s, w in weights.items())
    return np.asarray(1.0 / seconds, dtype=np.float64)


def _interval(samples: FloatArray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def advise(
    setups: Sequence[SetupCapacity], weights: Mapping[str, float], *, noise_floor: float | None, min_repeats: int = 3
) -> Advice:
    """Pick each framework's best setup for the mix and compare them with a CI across repeats."""
    usable = [s for s in setups if all(len(s.repeats.get(sc, ())) >= 1 for sc in weights)]
    missing = tuple(sorted({s.setup for s in setups} - {s.setup for s in usable}))
    best: dict[str, SetupCapacity] = {}
    for setup in usable:
        current = best.get(setup.framework)
        if current is None or setup.point(weights) > current.point(weights):
            best[setup.framework] = setup
    rng = np.random.default_rng(SEED)
    capacity = {fw: s.point(weights) for fw, s in best.items()}
    enough = {fw: all(len(s.repeats[sc]) >= min_repeats for sc in weights) for fw, s in best.items()}
    samples = {fw: _bootstrap_mix(s, weights, rng) for fw, s in best.items() if enough[fw]}
    capacity_ci = {fw: (_interval(samples[fw]) if fw in samples else None) for fw in best}
    if "fastapi" not in best or "flask" not in best:
        return Advice(
            weights,
            {k: v.setup for k, v in best.items()},
            capacity,
            capacity_ci,
            math.nan,
            None,
            noise_floor,
            "not measured: a framework has no setup with every scenario of the mix",
            missing,
        )
    ratio = capacity["fastapi"] / capacity["flask"]
    ratio_ci = _interval(samples["fastapi"] / samples["flask"]) if len(samples) == 2 else None
    verdict = _verdict(ratio, ratio_ci, noise_floor)
    return Advice(
        weights,
        {k: v.setup for k, v in best.items()},
        capacity,
        capacity_ci,
        ratio,
        ratio_ci,
        noise_floor,
        verdict,
        missing,
    )


def _verdict(ratio: float, ci: tuple[float, float] | None, noise_floor: float | None) -> str:
    """FastAPI / Flask / no difference, by the project's one rule (stats.call: CI excludes 1 AND above the floor)."""
    decision = call(ratio, ci, noise_floor)
    if decision.called is None:
        return f"no verdict: {decision.reason} (ratio {ratio:.2f}×)"
    if not decision.called:
        return f"no difference: FastAPI ÷ Flask {ratio:.2f}× ({decision.reason})"
    assert ci is not None  # a called difference always has a CI
    winner = "FastAPI" if ratio > 1 else "Flask"
    return f"{winner}: FastAPI ÷ Flask {ratio:.2f}× [{ci[0]:.2f}, {ci[1]:.2f}] capacity at the p99 target"
