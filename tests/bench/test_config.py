"""Profiles and flags: defaults ← profile ← flags, and one clear message for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.config import ConfigError, resolve_settings
from bench.drive.servers import SETUPS
from bench.registry import SCENARIOS


def test_quick_profile_repeats_every_cell_with_an_aa_control() -> None:
    settings = resolve_settings("quick")
    frameworks = {SETUPS[name].framework for name in settings.servers if SETUPS[name].baseline is not None}
    assert frameworks == {"fastapi", "flask"}  # a verdict needs both frameworks' apps
    # every app in quick is compared with its own stack's baseline where one is measured
    assert {SETUPS[name].baseline for name in settings.servers} - {None} & set(settings.servers)
    assert set(settings.scenarios) <= set(SCENARIOS)
    assert settings.repeats >= 3  # repeats carry the statistics: every cell behind a verdict runs three times
    assert settings.open_loop.repeats >= 3  # so does the capacity search the first screen quotes
    assert settings.aa_control in settings.servers
    assert settings.duration_s > 0
    full = resolve_settings("full")
    assert sorted(full.scenarios) == sorted(SCENARIOS)  # what quick leaves out, full covers
    assert full.servers == list(SETUPS)
    assert full.repeats >= 3


def test_flags_override_the_profile() -> None:
    settings = resolve_settings("smoke", {"users": [3, 5], "servers": ["flask-gunicorn-sync"], "repeats": None})
    assert settings.users == [3, 5]
    assert settings.servers == ["flask-gunicorn-sync"]
    assert settings.repeats == 1  # None means "not given": the profile's value stays


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"servers": ["fastapi-uvicorn", "tornado"]}, "unknown server setup(s) tornado"),
        ({"scenarios": ["health", "websocket"]}, "unknown scenario(s) websocket"),
        ({"users": [0]}, "users"),
        ({"repeats": 0}, "repeats"),
        ({"duration_s": -1.0}, "duration_s"),
        ({"aa_control": "tornado"}, "aa_control"),
        ({"max_steal_pct": 101.0}, "max_steal_pct"),
        ({"shared_core_limit_pct": 0.0}, "shared_core_limit_pct"),
        ({"order_seed": -1}, "order_seed"),
    ],
)
def test_bad_overrides_name_the_setting(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match="invalid setting") as info:
        resolve_settings("quick", overrides)
    assert needle in str(info.value)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'huge'.*smoke, quick, full"):
        resolve_settings("huge")


def test_unreadable_and_invalid_profile_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read profile file"):
        resolve_settings("quick", path=tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[defaults\nservers = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_settings("quick", path=broken)
    empty = tmp_path / "empty.toml"
    empty.write_text("[defaults]\n")
    with pytest.raises(ConfigError, match=r"at least one \[profiles.NAME\]"):
        resolve_settings("quick", path=empty)


def test_unknown_keys_in_a_profile_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(Path("bench/profiles.toml").read_text().replace("[profiles.smoke]", "[profiles.smoke]\nusr = 3"))
    with pytest.raises(ConfigError, match="usr"):
        resolve_settings("smoke", path=path)


def test_cli_reports_bad_input_in_one_line_before_starting_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile", "smoke", "--servers", "fastapi-uvicorn,nginx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: invalid setting servers")
    assert "nginx" in err[0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--users", "8,many"], "--users: expected comma-separated integers"),
        (["run", "--servers", ""], "--servers: expected a comma-separated list"),
        (["serve", "django"], "invalid choice: 'django'"),
        (["serve", "flask", "--port", "70000"], "port must be 1..65535"),
        (["report", "/no/such/run"], "/no/such/run is not a directory"),
    ],
)
def test_cli_argument_errors_name_the_flag(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert needle in capsys.readouterr().err


def test_unwritable_output_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", "--profile", "smoke", "--out", str(blocker / "sub")]) == 2
    assert "--out" in capsys.readouterr().err
