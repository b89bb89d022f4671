"""argparse types shared by the command lines: a bad value names the flag (argparse adds it) and the range."""

from __future__ import annotations

import argparse


def bounded_int(value: str, low: int, high: int, what: str, name: str) -> int:
    """`value` as an int in low..high, else an ArgumentTypeError saying what was expected."""
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}") from exc
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{name} must be {low}..{high}, got {number}")
    return number
