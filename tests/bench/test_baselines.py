"""The baseline apps (bench/baselines) answer the benchmark's reads with exactly our apps' bytes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bench.drive.servers import RunningServer, ServerSetup

# name -> (framework whose server runs it, app spec for that server)
BASELINES = {
    "fastapi-async": ("fastapi", "bench.baselines.fastapi_async:create_app"),
    "fastapi-sync": ("fastapi", "bench.baselines.fastapi_sync:create_app"),
    "flask-sync": ("flask", "bench.baselines.flask_sync:create_app()"),
}
# The reads the baselines serve: floor, database health, item, list (first, middle and last page).
READS = ("/health/live", "/health", "/items/1", "/items/137", "/items", "/items?limit=20&skip=40", "/items?skip=190")


@pytest.fixture(scope="module")
def baseline_servers(
    launch_app: Callable[..., RunningServer], factory_setup: Callable[..., ServerSetup]
) -> dict[str, RunningServer]:
    """Every baseline under its framework's default server, on a fresh copy of the seed data."""
    return {
        name: launch_app(framework, setup=factory_setup(f"baseline-{name}", framework, app))
        for name, (framework, app) in BASELINES.items()
    }


@pytest.mark.parametrize("baseline", list(BASELINES))
def test_baseline_reads_are_byte_identical_to_our_apps(
    baseline: str, baseline_servers: dict[str, RunningServer], live_servers: dict[str, RunningServer]
) -> None:
    ours = live_servers[BASELINES[baseline][0]]  # type: ignore[index]
    for path in READS:
        expected = httpx.get(ours.url + path, timeout=10)
        got = httpx.get(baseline_servers[baseline].url + path, timeout=10)
        assert expected.status_code == 200, (path, expected.text)
        assert got.status_code == 200, (path, got.text)
        assert got.content == expected.content, path
        assert got.headers["content-type"] == expected.headers["content-type"], path


@pytest.mark.parametrize("baseline", list(BASELINES))
def test_baseline_never_answers_bad_input_with_5xx(baseline: str, baseline_servers: dict[str, RunningServer]) -> None:
    url = baseline_servers[baseline].url
    for path in ("/items/0", "/items/abc", "/items/2147483647", "/items/99999999999"):
        assert httpx.get(url + path, timeout=10).status_code in {404, 422}, path
    # FastAPI refuses out-of-range paging (422); the Flask baseline clamps it, as `type=int` apps do.
    for path in ("/items?limit=0", "/items?skip=-1&limit=500", "/items?limit=abc"):
        assert httpx.get(url + path, timeout=10).status_code in {200, 422}, path
