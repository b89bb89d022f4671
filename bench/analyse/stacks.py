"""Which stack a setup belongs to and which baseline app measures that stack's floor."""

from __future__ import annotations

from bench.runformat import ServerInfo

STACKS = ("fastapi-async", "fastapi-sync", "flask-sync")
AA_SUFFIX = "~aa"  # an A/A control setup is "<setup>~aa"
# The decomposition's fixed pairs: same server (uvicorn), only the driver differs; same driver, only the framework.
DRIVER_PAIR = ("fastapi-uvicorn", "fastapi-uvicorn-sync")


def stack_of(server: str, info: ServerInfo | None = None) -> str:
    """The setup's stack: recorded in metadata when the harness knows it, else derived from the setup's name."""
    if info is not None and info.stack:
        return info.stack
    name = server.removesuffix(AA_SUFFIX)
    if name.startswith("baseline-"):
        return name.removeprefix("baseline-")
    if name == "fastapi-uvicorn-sync":
        return "fastapi-sync"
    if name.startswith("fastapi-"):
        return "fastapi-async"
    if name.startswith("flask-"):
        return "flask-sync"
    return ""


def baseline_of(stack: str) -> str:
    """The minimal baseline app setup of a stack."""
    return f"baseline-{stack}"
