"""The HTML/Markdown report of a fixture run: every section, inline images, no network, numbers from the data."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.analyse.analysis import analyse_dir
from bench.analyse.verdicts import seed_table
from bench.report.render import SECTIONS, build_report
from tests.support import fake_run

SECTION_IDS = [sid for sid, _ in SECTIONS]
INVALID = {"flask-gunicorn-gthread__upstream__u4__r1": 'error rate 3.1% > 0.1% ({"502": 31})'}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = fake_run.make_run(tmp_path_factory.mktemp("runs"), invalid=INVALID,
                                not_run=["fastapi-gunicorn__order__u16__r3"])  # fmt: skip
    return build_report(run_dir)


def test_report_files_are_written(report: Path) -> None:
    run_dir = report.parent
    assert report == run_dir / "report.html"
    assert (run_dir / "report.md").read_text().startswith("# FastAPI vs Flask")
    pngs = {p.stem for p in (run_dir / "charts").glob("*.png")}
    assert {"throughput", "latency_percentiles", "latency_distribution", "cpu_efficiency", "rss_per_worker"} <= pngs
    assert "cold_start" in pngs


def test_every_section_and_the_comparison_table_exist(report: Path) -> None:
    text = report.read_text()
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in text, sid
    assert 'id="seed-comparison"' in text
    for feature in ("Performance", "Type hints", "OpenAPI docs", "Learning curve", "Best for", "Async support"):
        assert f"<b>{feature}</b>" in text
    for claim in ("High (async)", "Moderate", "Required", "Optional", "Automatic", "Manual", "Steeper", "Gentle",
                  "APIs, microservices", "Simple apps, prototypes", "Native", "Extension needed"):  # fmt: skip
        assert claim in text
    # every evidence link points at an anchor that exists
    for anchor in re.findall(r'href="#([^"]+)"', text):
        assert f'id="{anchor}"' in text, anchor


def test_images_are_inline_and_nothing_points_at_the_network(report: Path) -> None:
    text = report.read_text()
    srcs = re.findall(r'<img[^>]*\bsrc="([^"]*)"', text)
    assert len(srcs) >= 6
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(?:src|href|action|poster)\s*=\s*["\']?\s*(?:https?:)?//', text, re.I)
    assert not re.search(r"url\(|@import|<script|<link\b|<iframe", text, re.I)
    assert "default-src 'none'" in text  # the CSP forbids any fetch even if a future edit adds one


def test_relative_links_resolve_to_files_of_the_run(report: Path) -> None:
    text = report.read_text()
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"#][^"]*)"', text)]
    assert {"summary.csv", "metadata.json", "ergonomics.json"} <= set(hrefs)
    assert "raw/flask-gunicorn-gthread__upstream__u4__r1/server.log" in hrefs  # the invalid cell's log
    for href in hrefs:
        assert (report.parent / href).exists(), href


def test_invalid_cells_are_listed_with_reasons(report: Path) -> None:
    text = html.unescape(report.read_text())
    assert "flask-gunicorn-gthread__upstream__u4__r1" in text
    assert 'error rate 3.1% > 0.1% ({"502": 31})' in text
    assert "fastapi-gunicorn__order__u16__r3" in text
    assert "not run: interrupted" in text


def test_numbers_come_from_the_run(report: Path) -> None:
    a = analyse_dir(report.parent)
    text = html.unescape(report.read_text())
    up = a.best[("upstream", 16, "rps")]
    assert f"{up.a.rps_median:,.0f} rps" in text
    assert f"{up.b.rps_median:,.0f} rps" in text
    assert f"{up.ratio:.2f}×" in text
    assert "Fixture CPU @ 2.0GHz" in text
    assert "2 cores" in text
    verdicts = {row.feature: row.verdict for row in seed_table(a)}
    assert verdicts["OpenAPI docs"] == "supported"  # fixture: automatic vs 60 hand-written lines
    assert verdicts["Performance"] == "partly"  # fixture: faster on upstream/item, slower on order
    assert verdicts["Type hints"] == "supported"


def test_noise_floor_decomposition_and_baselines_are_shown(tmp_path: Path) -> None:
    servers = (*fake_run.DEFAULT_SERVERS, "fastapi-uvicorn-sync", "baseline-fastapi-async", "baseline-flask-sync")
    run_dir = fake_run.make_run(tmp_path, servers=servers, scenarios=("item", "upstream"), users=(16,))
    a = analyse_dir(run_dir)
    assert a.noise_floor is not None
    text = html.unescape(build_report(run_dir).read_text())
    md = (run_dir / "report.md").read_text()
    floor = f"A/A noise floor {a.noise_floor:.1%}"
    assert floor in text
    assert floor in md
    # the floor stands next to every verdict: each measured headline sentence and each guide row carries it
    verdict_lines = [line for line in md.splitlines() if line.startswith("- ") and "users)" in line]
    verdict_lines += [line for line in md.splitlines() if "across repeats;" in line]
    assert len(verdict_lines) >= 4
    assert all(floor in line for line in verdict_lines)
    for effect in ("framework", "driver", "total"):
        assert f"| item | 16 | {effect} |" in md
    item = next(d for d in a.decomposition if d.scenario == "item")
    assert f"{item.effects[0].ratio.ratio:.2f}×" in text
    fraction = next(
        f for f in a.baseline_fractions if f.ratio.a.server == "fastapi-uvicorn" and f.ratio.scenario == "item"
    )
    assert f"| fastapi-uvicorn | item | 16 | {fraction.ratio.ratio:.2f}× |" in md
    assert 'id="decomposition"' in text
    assert 'id="baselines"' in text


def test_user_strings_are_escaped(report: Path) -> None:
    text = report.read_text()
    assert "app&lt;script&gt;" in text  # from metadata.servers[].command
    assert "&lt;b&gt;x&lt;/b&gt;" in text  # from ergonomics snippets
    assert "<b>x</b>" not in text


def test_report_without_ergonomics_says_not_measured(tmp_path: Path) -> None:
    run_dir = fake_run.make_run(tmp_path, with_ergonomics=False, users=(8,), repeats=1, scenarios=("health", "list"))
    text = build_report(run_dir).read_text()
    assert "not measured" in text
    assert "no <code>ergonomics.json</code>" in text
    rows = {r.feature: r.verdict for r in seed_table(analyse_dir(run_dir))}
    assert rows["Type hints"] == rows["OpenAPI docs"] == rows["Learning curve"] == "not measured"
    assert "fewer than 3 valid repeats: they get no CI and no verdict" in text  # the < 3 repeats caveat
    assert rows["Performance"] == "not measured"  # one repeat per cell: no verdict at all


def test_smoke_run_with_gaps_still_renders(tmp_path: Path) -> None:
    """One level, one repeat, a scenario measured for one framework only, a whole setup invalid."""
    run_dir = fake_run.make_run(
        tmp_path, users=(8,), repeats=1, scenarios=("health", "order"),
        invalid={"flask-gunicorn-sync__order__u8__r1": "server failed to start: boom",
                 "flask-gunicorn-gthread__order__u8__r1": "verification failed: 500"},
    )  # fmt: skip
    text = build_report(run_dir).read_text()
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in text
    assert "Write path (order): not measured in this run" in html.unescape(text)


def test_run_without_valid_cells_or_metadata_still_renders(tmp_path: Path) -> None:
    cells = [f"{s}__health__u8__r1" for s in (*fake_run.DEFAULT_SERVERS, "fastapi-uvicorn~aa")]
    run_dir = fake_run.make_run(tmp_path, users=(8,), repeats=1, scenarios=("health",), not_run=cells)
    (run_dir / "metadata.json").unlink()
    text = html.unescape(build_report(run_dir).read_text())
    assert "DB-bound read (list/item): not measured in this run" in text
    assert "not enough valid data in this run" in text
    assert text.count("not run: interrupted") >= len(cells)  # each invalid cell is listed (the guide may quote it too)
    assert "not measured" in (run_dir / "report.md").read_text()


@pytest.mark.timeout(900)
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    browser = _chromium()
    probe = tmp_path / "report-probe.html"
    # The probe runs before the CSP <meta> (which forbids scripts) and records what the browser saw.
    probe.write_text(report.read_text().replace("<head>", "<head>" + PROBE, 1))
    shutil.copytree(report.parent / "charts", tmp_path / "charts")
    dom = subprocess.run(
        [browser, "--headless", "--disable-gpu", "--no-sandbox", "--disable-background-networking",
         "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
         "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=180, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert result["images"] >= 6
    assert result["broken"] == []
    assert result["resources"] == []
    assert result["violations"] == []
    assert set(SECTION_IDS) <= set(result["sections"])
    assert result["table_rows"] == 6


PROBE = """<script>
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const out = {
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    resources: performance.getEntriesByType("resource").map(r => r.name).filter(n => !n.startsWith("data:")),
    violations: window.__violations,
    sections: Array.from(document.querySelectorAll("section[id]")).map(s => s.id),
    table_rows: document.querySelectorAll("#seed-comparison tbody tr").length,
  };
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("headless Chromium is not installed and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=800)
        if done.returncode != 0:
            pytest.skip(f"could not install Chromium ({' '.join(cmd)}): {done.stderr[-500:]}")
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("apt-get installed chromium but no `chromium` binary is on PATH")
    return path
