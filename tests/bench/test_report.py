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

from bench.analyse.seedtable import seed_table, type_hints_row
from bench.analyse.verdicts import decision_guide
from bench.report.adapt import load
from bench.report.render import SECTIONS, build_report
from bench.report.screenshot import first_screen
from bench.runformat import Ergonomics
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
    assert {"effects", "throughput", "overload", "cpu_efficiency", "memory", "cold_start"} <= pngs


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
    a = load(report.parent)
    text = html.unescape(report.read_text())
    up = a.best_ratios[("upstream", 16, "rps")]
    assert f"{up.a.rps_median:,.0f} rps" in text
    assert f"{up.b.rps_median:,.0f} rps" in text
    assert f"{up.ratio:.2f}×" in text
    assert "Fixture CPU @ 2.0GHz" in text
    assert "2 cores" in text
    verdicts = {row.feature: row.verdict for row in seed_table(a.result)}
    assert verdicts["OpenAPI docs"] == "supported"  # fixture: automatic vs 60 hand-written lines
    assert verdicts["Performance"] == "partly"  # fixture: faster on upstream/item, slower on order
    assert verdicts["Type hints"] == "supported"  # fixture: FastAPI reads annotations for 12 of 12 inputs, Flask not


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
    rows = {r.feature: r.verdict for r in seed_table(load(run_dir).result)}
    assert rows["Type hints"] == rows["OpenAPI docs"] == rows["Learning curve"] == "not measured"
    assert "fewer than 3 valid repeats: they get no CI and no verdict" in text  # the < 3 repeats caveat


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
    words = _words(text)
    assert (
        "order (Write-heavy): not measured — 2 invalid cell(s): server failed to start: boom; verification failed: 500"
        in words
    )


def test_run_without_valid_cells_or_metadata_still_renders(tmp_path: Path) -> None:
    cells = [f"{s}__health__u8__r1" for s in fake_run.DEFAULT_SERVERS]
    run_dir = fake_run.make_run(tmp_path, users=(8,), repeats=1, scenarios=("health",), not_run=cells)
    (run_dir / "metadata.json").unlink()
    text = _words(build_report(run_dir).read_text())
    assert "health (CPU-light API): not measured — 4 invalid cell(s): not run: interrupted" in text
    assert "not enough valid data in this run" in text
    assert text.count("not run: interrupted") >= len(cells)  # each invalid cell is listed (the guide may quote it too)
    assert "not measured" in (run_dir / "report.md").read_text()


def _words(page: str) -> str:
    """The page's text without tags, as a reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


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
         "--window-size=1366,768",
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
    # The first 768 px of the page (at 1366 px wide) name every scenario of the run with a verdict.
    scenarios = load(report.parent).run.scenarios
    first = {s["scenario"]: s for s in result["first_screen"]}
    assert set(scenarios) <= set(first)
    for scenario in scenarios:
        line = first[scenario]
        assert line["bottom"] <= 768, line
        assert re.search(VERDICT, line["text"]), line
    assert result["choices_bottom"] <= 768
    # No table (every <details> opened) is wider than the viewport, and nothing scrolls sideways.
    assert result["window"][0] == 1366
    assert result["too_wide"] == [], result["too_wide"]
    assert result["page_width"] <= result["viewport"]
    shot = first_screen(report, report.parent / "screenshots" / "first-screen.png")
    assert _png_size(shot) == (1366, 768)


VERDICT = r"\): (FastAPI faster|Flask faster|tie|untested|not measured) — "


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


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
    first_screen: Array.from(document.querySelectorAll("#answer li[data-scenario]")).map(li => ({
      scenario: li.dataset.scenario, bottom: li.getBoundingClientRect().bottom, text: li.textContent})),
    choices_bottom: Math.max(...Array.from(document.querySelectorAll("#answer .choose p")).map(
      p => p.getBoundingClientRect().bottom)),
    window: [window.innerWidth, window.innerHeight],
    viewport: document.documentElement.clientWidth,
  };
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  out.too_wide = Array.from(document.querySelectorAll("table")).filter(
    t => t.getBoundingClientRect().right > out.viewport || t.scrollWidth > t.clientWidth + 1
  ).map(t => (t.id || t.closest("section").id) + ": " + Math.round(t.getBoundingClientRect().right) + " px");
  out.page_width = document.documentElement.scrollWidth;
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


def test_words_follow_the_numbers(report: Path) -> None:
    a = load(report.parent)
    guide = {workload: advice for workload, advice, _ in decision_guide(a.result)}
    # fixture: item FastAPI 1.2× (significant), list 1.0× (not): not "mixed", but which way it leans
    assert guide["DB-bound read"] == "leans FastAPI: significantly faster on item; no detectable difference on list"
    rows = {r.feature: r for r in seed_table(a.result)}
    assert rows["Async support"].measured_fastapi.startswith("async def routes on the event loop")
    assert "native: True" not in rows["Async support"].measured_fastapi
    assert "0 lines in an OpenAPI module + 0 doc-only lines" in rows["OpenAPI docs"].measured_fastapi
    assert "60 lines in an OpenAPI module + 0 doc-only lines" in rows["OpenAPI docs"].measured_flask
    assert "+ 150 emulating the contract's validation and OpenAPI" in rows["Learning curve"].measured_flask
    text = _words(report.read_text())
    assert "Choose FastAPI if your traffic is mostly upstream (I/O-bound upstream call: FastAPI 2.0" in text
    assert "Flask's flask-gunicorn-gthread closes the gap to 2.0" in text  # its sync setup is 3× behind
    assert "with fastapi-uvicorn against flask-gunicorn-sync" in text  # item: Flask's two setups are within 10 %
    assert "Choose Flask if your traffic is mostly order (Write-heavy: Flask 1.30×" in text
    assert "Either for list: no difference this run could detect." in text


def test_type_hints_row_is_about_what_the_framework_does_with_them() -> None:
    facts = {
        fw: {"reads": fw == "fastapi", "routes": 9, "inputs": 12, "inputs_from_annotations": 12 if fw == "fastapi" else 0,
             "responses_typed": 8 if fw == "fastapi" else 0, "validation_hand_written_loc": 0 if fw == "fastapi" else 90,
             "docs_hand_written_loc": 0 if fw == "fastapi" else 60}
        for fw in ("fastapi", "flask")
    }  # fmt: skip
    row = type_hints_row(Ergonomics.model_validate({**fake_run.ergonomics(), "annotations": facts}))
    assert row.measured_fastapi.startswith("FastAPI reads view annotations: 12 of 12 request inputs validated")
    assert row.measured_flask.startswith("Flask ignores view annotations (an `n: int` view gets a str): 0 of 12")
    assert "by hand: 90 validation lines, 60 OpenAPI lines" in row.measured_flask
    assert row.verdict == "supported"
    facts["flask"]["reads"] = True
    assert (
        type_hints_row(Ergonomics.model_validate({**fake_run.ergonomics(), "annotations": facts})).verdict == "partly"
    )
    # our repository's mypy --strict coverage is not evidence either way: a run without the probe is not measured
    without_probe = {k: v for k, v in fake_run.ergonomics().items() if k != "annotations"}
    assert type_hints_row(Ergonomics.model_validate(without_probe)).verdict == "not measured"
