"""The phrases every generated sentence shares: ratios with their CI, the noise floor, the call."""

from __future__ import annotations

import math

from bench.analyse.result import Ratio

NAMES = {"fastapi": "FastAPI", "flask": "Flask"}


def fmt_ci(ci: tuple[float, float] | None, unit: str = "") -> str:
    """'95 % CI a–b' or 'no CI'."""
    if ci is None:
        return "no CI"
    return f"95 % CI {ci[0]:.2f}–{ci[1]:.2f}{unit}"


def fmt_floor(floor: float | None) -> str:
    """'A/A noise floor 3.1 %' or 'no A/A noise floor'."""
    return "no A/A noise floor" if floor is None else f"A/A noise floor {floor:.1%}"


def call_word(r: Ratio) -> str:
    """'a difference', 'no difference called' or 'no verdict'."""
    return {True: "a difference", False: "no difference called", None: "no verdict"}[r.called]


def describe_ratio(r: Ratio) -> str:
    """'1.52× (95 % CI 1.41–1.63 across repeats; A/A noise floor 3.1 %; a difference: …)'."""
    if not math.isfinite(r.ratio):
        return "n/a"
    return f"{r.ratio:.2f}× ({fmt_ci(r.ci)} across repeats; {fmt_floor(r.noise_floor)}; {call_word(r)}: {r.reason})"


def short_ratio(r: Ratio) -> str:
    """'2.05× (95 % CI 1.99–2.11)' with 'no difference called' / 'no verdict' where so."""
    if not math.isfinite(r.ratio):
        return "n/a"
    tail = "" if r.called else f", {call_word(r)}"
    return f"{r.ratio:.2f}× ({fmt_ci(r.ci)}{tail})"
