"""The HTML reports and the site, opened in a real (headless) Chromium from file://.

The reports come from real conducts on the API emulator (tier 2): hello-app passing, hello-app
failing a check, and a comparison experiment whose metrics a loopback Prometheus answers. Each
page must show no console error, fetch nothing, hold every check, draw its charts, and every
relative link of the site must lead to a file (and an anchor) that exists. Screenshots are kept
under the test's tmp_path.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.browser import Browser, check_report_page, file_of
from tests.support.demoapp import demo_app
from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "experiments"
SECRET = "s3cr3t-value-never-shown"
FIGURES = {  # query -> value the loopback Prometheus answers
    'sum(rate(http_requests_total{job="alpha"}[5m]))': 12.5,
    'sum(rate(http_requests_total{job="beta"}[5m]))': 30.25,
    'sum(container_memory_working_set_bytes{pod=~"alpha-.*"})': 2.5e8,
    'sum(container_memory_working_set_bytes{pod=~"beta-.*"})': 9.1e8,
}
METRICS = """\
  metrics:
    - {name: alpha requests per second, unit: req/s, service: 'checks/prometheus:9090',
       query: 'sum(rate(http_requests_total{job="alpha"}[5m]))'}
    - {name: beta requests per second, unit: req/s, service: 'checks/prometheus:9090',
       query: 'sum(rate(http_requests_total{job="beta"}[5m]))'}
    - {name: alpha memory, unit: bytes, service: 'checks/prometheus:9090',
       query: 'sum(container_memory_working_set_bytes{pod=~"alpha-.*"})'}
    - {name: beta memory, unit: bytes, service: 'checks/prometheus:9090',
       query: 'sum(container_memory_working_set_bytes{pod=~"beta-.*"})'}
"""


def lab(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@contextmanager
def prometheus() -> Iterator[str]:
    """A loopback Prometheus query API: FIGURES by query, 7 for any other query."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("query", [""])[0]
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {}, "value": [0, str(FIGURES.get(query, 7))]}]}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hello(emulator: LabEmulator) -> Iterator[LabEmulator]:
    emulator.auto_ready(["Deployment", "Job"], after=0.05)
    with demo_app() as url:
        emulator.register_backend("hello", "hello-app", 9898, url)
        emulator.register_backend("hello", "hello-app", "http", url)
        yield emulator


@pytest.fixture
def checks(emulator: LabEmulator) -> Iterator[LabEmulator]:
    emulator.auto_ready(["Deployment", "Pod", "Job"], after=0.05)
    emulator.on_create("Pod", lambda pod: emulator.set_logs("checks", pod["metadata"]["name"], "GET / 200\n"))
    with demo_app() as app_url, prometheus() as prom_url:
        for port in (9898, "http"):
            emulator.register_backend("checks", "web", port, app_url)
        emulator.register_backend("checks", "prometheus", 9090, prom_url)
        yield emulator


def conduct(emulator: LabEmulator, experiments: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = lab("--experiments-dir", str(experiments), "conduct", *args, "--ci", "--allow-commands", "-o", "json",
              "--kubeconfig", str(emulator.kubeconfig))
    assert res.stdout, res.output
    data = json.loads(res.stdout)  # one report, or a list of one
    return res.exit_code, data[0] if isinstance(data, list) else data


def test_hello_app_report_in_the_browser(hello: LabEmulator, browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "out" / "hello-app.html"
    code, report = conduct(hello, REPO / "experiments", "hello-app", "--html", str(page))
    assert code == 0 and report["verdict"] == "passed"
    check_report_page(browser, page, [report], tmp_path / "hello-app.png")
    objects = browser.js("return [...document.querySelectorAll('table.objects tbody tr')]"
                         ".map(r => [...r.cells].map(c => c.textContent))")
    assert ["target", "Deployment", "hello/hello-app"] in [row[:3] for row in objects]
    params = dict(browser.js("return [...document.querySelectorAll('table.params tbody tr')]"
                             ".map(r => [...r.cells].map(c => c.textContent))"))
    assert params["replicas"] == "2"

    # The run is kept: `lab report` renders it again, by experiment and by run id.
    again = tmp_path / "again.html"
    res = lab("report", "hello-app", "--html", str(again))
    assert res.exit_code == 0, res.output
    check_report_page(browser, again, [report], tmp_path / "again.png")
    by_id = lab("report", report["run"], "-o", "json")
    assert by_id.exit_code == 0 and json.loads(by_id.stdout)[0]["checks"] == report["checks"]


def test_failed_check_unfolds_with_its_diagnostics(hello: LabEmulator, browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "failed.html"
    code, report = conduct(hello, REPO / "experiments", "hello-app", "--set", "replicas=1",
                           "--check-timeout", "2s", "--html", str(page))
    assert code == 1 and report["verdict"] == "failed"
    check_report_page(browser, page, [report], tmp_path / "failed.png")
    failed = browser.js("return [...document.querySelectorAll('details.check[data-result=failed]')]"
                        ".map(d => [d.dataset.check, d.open, d.querySelector('pre') !== null,"
                        " d.querySelector('summary').textContent.replace(/\\s+/g, ' ').trim()])")
    assert [f[0] for f in failed] == ["all replicas available"]
    _, unfolded, has_diagnostics, summary = failed[0]
    assert unfolded and has_diagnostics, "a failed check starts unfolded, its diagnostics shown"
    assert "FAIL" in summary and "attempt" in summary
    assert browser.js("return document.querySelector('[data-exit-code]').textContent") == "1"


def comparison_catalog(root: Path) -> Path:
    shutil.copytree(FIXTURES / "checks-demo", root / "checks-demo")
    manifest = root / "checks-demo" / "experiment.yaml"
    text = manifest.read_text().replace("type: demo", "type: comparison").replace(
        "    replicas: {type: integer, default: 2}\n",
        f"    replicas: {{type: integer, default: 2}}\n    token: {{type: string, default: {SECRET}, secret: true}}\n")
    manifest.write_text(text + METRICS)
    return root


def roadmap_for(base: Path) -> Path:
    road = base / "roadmap"
    road.mkdir()
    (road / "README.md").write_text("# Roadmap\n\n- [Phase 1](phase-01-basics.md)\n")
    (road / "phase-01-basics.md").write_text(
        "# Phase 1: Basics\n\n## Experiments\n\n- [ ] `checks-demo` — every check type, two stores compared\n"
        "- [ ] `later-one` (planned) — not built yet\n")
    shutil.copytree(REPO / "adrs", base / "adrs")
    return road


def test_comparison_report_and_site_in_the_browser(checks: LabEmulator, browser: Browser, tmp_path: Path) -> None:
    experiments = comparison_catalog(tmp_path / "experiments")
    page = tmp_path / "comparison.html"
    code, report = conduct(checks, experiments, "checks-demo", "--record", "--html", str(page))
    assert code == 0, report["checks"]
    assert [v["values"][0]["value"] for v in report["metrics"]] == list(FIGURES.values())
    seen = check_report_page(browser, page, [report], tmp_path / "comparison.png")
    charts = seen["sections"][0]["charts"]
    assert len(charts) == 3  # the timeline, req/s side by side, bytes side by side
    assert "alpha requests per second" in charts[1]["text"] and "beta requests per second" in charts[1]["text"]
    assert "238 MiB" in charts[2]["text"] and "868 MiB" in charts[2]["text"]
    html = page.read_text()
    assert SECRET not in html and "***" in html

    site = tmp_path / "site"
    res = lab("--experiments-dir", str(experiments), "site", "build", "--out", str(site),
              "--roadmap-dir", str(roadmap_for(tmp_path)))
    assert res.exit_code == 0, res.output
    crawl(browser, site / "index.html")
    browser.open(site / "experiments" / "checks-demo.html")
    figures = browser.js("return [...document.querySelectorAll('figure[data-chart] svg.chart')]"
                         ".map(s => [...s.querySelectorAll('text')].map(t => t.textContent).join(' '))")
    assert len(figures) == 2 and "beta memory" in figures[1]
    rows = browser.js("return [...document.querySelectorAll('table.checks tr[data-check]')].map(r => r.dataset.check)")
    assert rows == [c["name"] for c in report["checks"]]
    browser.screenshot(tmp_path / "site-experiment.png")


def test_the_repository_site_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    site = tmp_path / "site"
    res = lab("--experiments-dir", str(REPO / "experiments"), "site", "build", "--out", str(site),
              "--roadmap-dir", str(REPO / "roadmap"))
    assert res.exit_code == 0, res.output
    pages = crawl(browser, site / "index.html")
    assert {p.name for p in pages} >= {"index.html", "hello-app.html", "0016-packages-named-for-what-they-do.html"}
    browser.open(site / "index.html")
    chart = browser.js("const s = document.querySelector('svg.chart'); return [s.getBoundingClientRect().width,"
                       " s.querySelector('title').textContent, s.querySelectorAll('g[id*=patch]').length]")
    assert chart[0] > 300 and chart[1] == "Experiments per phase by state" and chart[2] > 9
    validated = browser.js("return [...document.querySelectorAll('tr[data-experiment]')]"
                           ".filter(r => r.cells[2].textContent === 'validated').map(r => r.dataset.experiment)")
    assert "hello-app" in validated
    browser.screenshot(tmp_path / "site.png")


def crawl(browser: Browser, index: Path) -> dict[Path, set[str]]:
    """Visit every page reachable from `index`; assert each loads cleanly and every relative
    link names a file that exists (and, with a fragment, an element of that page)."""
    ids: dict[Path, set[str]] = {}
    links: list[tuple[Path, str, Path, str]] = []
    todo = [index.resolve()]
    while todo:
        page = todo.pop()
        if page in ids:
            continue
        browser.open(page)
        assert browser.errors() == [], page
        assert browser.fetched() == [], page
        found = browser.js("return {ids: [...document.querySelectorAll('[id]')].map(e => e.id),"
                           " links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href])}")
        ids[page] = set(found["ids"])
        for raw, url in found["links"]:
            if "://" in raw or raw.startswith("mailto:"):
                continue  # a link out of the site
            target, fragment = file_of(url)
            assert target.is_file(), f"{page}: {raw} leads to {target}, which does not exist"
            links.append((page, raw, target, fragment))
            if target.suffix == ".html":
                todo.append(target)
    for page, raw, target, fragment in links:
        assert not fragment or fragment in ids[target], f"{page}: {raw}: no #{fragment} in {target}"
    return ids
