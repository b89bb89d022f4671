"""How the numbers were taken, in words next to them: the compact methodology table and the caveats.

Read from metadata.json with every key optional: a key another stage has not written yet reads 'not recorded'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from bench.report.adapt import Analysis

DURABILITY_KEYS = ("fsync", "synchronous_commit", "full_page_writes")
ENVIRONMENT_KEYS = (
    ("cpu_model", "CPU"),
    ("cpu_mhz", "MHz"),
    ("smt", "SMT"),
    ("virtualisation", "virtualisation"),
    ("steal_pct", "steal %"),
)


def _join(values: Any) -> str:
    if isinstance(values, list | tuple):
        return ", ".join(map(str, values)) or "none"
    return "not recorded" if values is None else str(values)


def _environment(meta: Mapping[str, Any], steal: float) -> str:
    env = {**(meta.get("platform") or {}), **(meta.get("environment") or {})}
    if math.isfinite(steal):  # per cell in summary.csv: the worst valid cell
        env["steal_pct"] = f"≤ {steal:.1f} (worst valid cell)"
    parts = [f"{label} {env[key]}" for key, label in ENVIRONMENT_KEYS if env.get(key) not in (None, "")]
    missing = [label for key, label in ENVIRONMENT_KEYS if env.get(key) in (None, "")]
    text = "; ".join([*parts, f"{env.get('cores', '?')} cores", f"{env.get('memory_gb', '?')} GB"])
    return text + (f" (not recorded: {', '.join(missing)})" if missing else "")


def durability(meta: Mapping[str, Any]) -> tuple[str, bool]:
    """The PostgreSQL durability settings in words, and whether any safeguard was off."""
    settings = (meta.get("postgres") or {}).get("settings") or {}
    off = [k for k in DURABILITY_KEYS if str(settings.get(k, "")).lower() == "off"]
    if off:
        return (
            f"{', '.join(off)} OFF: commits skip the disk, so write scenarios (order, journey) measure the app "
            "and driver, not storage; production writes are slower for both frameworks alike",
            True,
        )
    known = [f"{k}={settings[k]}" for k in DURABILITY_KEYS if k in settings]
    return ("; ".join(known) or "not recorded"), False


def _loadgen(a: Analysis) -> str:
    settings = a.meta.get("settings") or {}
    valid = a.run.valid
    peak = float(valid["loadgen_cpu_pct"].max()) if len(valid) else math.nan
    mode = "open and closed" if "mode" in a.run.summary and (a.run.summary["mode"] == "open").any() else "closed"
    limit = settings.get("loadgen_cpu_limit_pct", "?")
    seen = f"{peak:.0f} %" if math.isfinite(peak) else "—"
    return (
        f"Locust, {mode} loop, {settings.get('loadgen_processes', '?')} process(es); a cell is invalid when the "
        f"load generator used more than {limit} % of its core (busiest valid cell: {seen})"
    )


def _max(a: Analysis, column: str) -> float:
    valid = a.run.valid
    values = pd.to_numeric(valid[column], errors="coerce") if column in valid else pd.Series(dtype=float)
    return float(values.max()) if values.notna().any() else math.nan


def _observed(placement: dict[str, Any]) -> str:
    """What the affinity read back from the live processes says, in words (not the raw per-setup dict)."""
    observed = placement.get("observed") or {}
    if not observed:
        return "affinity not read back"
    mismatches = placement.get("mismatches") or []
    if mismatches:
        return "read back: differs from the plan: " + "; ".join(map(str, mismatches))
    groups = sorted({group for per_setup in observed.values() for group in per_setup})
    return f"read back from every process of {', '.join(groups)} for all {len(observed)} setups: as planned"


def methodology(a: Analysis) -> list[tuple[str, str]]:
    """(aspect, what was done) rows of the compact methodology table."""
    meta = a.meta
    settings, placement = meta.get("settings") or {}, meta.get("placement") or {}
    repeats = sorted({g.repeats for g in a.groups.values()})
    packages = meta.get("packages") or {}
    return [
        (
            "Placement",
            f"server on CPU {_join(placement.get('server_cpus'))}; load generator {_join(placement.get('loadgen_cpus'))}"
            f"; PostgreSQL {_join(placement.get('db_cpus'))}; upstream stub {_join(placement.get('stub_cpus'))}"
            f"; harness {_join(placement.get('harness_cpus'))}; {_observed(placement)}",
        ),
        (
            "Repeats",
            f"{'/'.join(map(str, repeats)) or '—'} valid repeat(s) per group; {settings.get('duration_s', '?')} s "
            f"measured after {settings.get('warmup_s', '?')} s warm-up; CIs across repeats (≥ 3), none with fewer",
        ),
        ("Database durability", durability(meta)[0]),
        ("Load generator", _loadgen(a)),
        ("Environment", _environment(meta, _max(a, "steal_pct"))),
        (
            "Server",
            f"{meta.get('workers') or settings.get('workers', '?')} worker(s) per setup, DB pool budget "
            f"{settings.get('pool_budget', '?')} connections in total, upstream delay "
            f"{settings.get('carrier_delay_ms', '?')} ms",
        ),
        (
            "Software",
            f"Python {(meta.get('python') or {}).get('version', '?')}; "
            + ", ".join(f"{k} {v}" for k, v in packages.items() if k in ("fastapi", "flask", "uvicorn", "gunicorn")),
        ),
    ]


def caveats(a: Analysis) -> list[str]:
    """What the numbers do not say, derived from the run."""
    out = [
        "Closed-loop load (saturation cells): each Locust user sends its next request only after the previous "
        "answer, so a slower server receives fewer requests and tail latencies understate what open-loop traffic "
        "would see (coordinated omission). Latency for capacity planning comes from the open-loop cells.",
        "One machine, few cores: absolute numbers do not transfer to other hardware; ratios transfer better, but "
        "not to many-core hosts.",
        "Not covered: TLS or a reverse proxy in front, other databases or drivers, other worker counts, "
        "application code unlike ours. 'Not significant' means this run could not tell the two apart.",
    ]
    text, off = durability(a.meta)
    if off:
        out.insert(0, f"PostgreSQL durability: {text}.")
    out.extend(asymmetries(a))
    if any(g.repeats < 3 for g in a.groups.values()):
        out.insert(0, "Some groups have fewer than 3 valid repeats: they get no CI and no verdict.")
    if a.result.noise is None:
        out.insert(0, "No A/A control pair in this run: the noise floor is unknown, so no difference is called.")
    return out


def asymmetries(a: Analysis) -> list[str]:
    """Differences between the measured setups that the stacks bring with them, read from metadata.servers."""
    servers = {k: v for k, v in (a.meta.get("servers") or {}).items() if k in a.servers and "~" not in k}
    out = []
    for key, label in (
        ("db_driver", "DB driver"),
        ("http_client", "Upstream HTTP client"),
        ("keep_alive", "HTTP keep-alive"),
        ("db_admission", "Admission to the DB pool"),
        ("threads", "Threads"),
    ):
        values = {name: s.get(key) for name, s in servers.items()}
        if len({str(v) for v in values.values()}) > 1:
            detail = ", ".join(f"{name}: {v}" for name, v in values.items())
            out.append(
                f"{label} differs between setups ({detail}); part of any difference is due to it, not to the framework."
            )
    return out
