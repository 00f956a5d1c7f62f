"""Headless Chromium through Selenium and the system chromedriver, for the HTML report tests.

`scripts/setup` installs Debian's `chromium` and `chromium-driver` when it runs as root on a
machine with apt-get; anywhere else the browser tests skip and say why. The browser runs with no
network use of its own (no sync, no component updates, no background requests) and logs every
console message, so a test can assert that a page produced no error.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--window-size=1280,1000",
)
BINARIES = ("chromium", "chromium-browser", "google-chrome")


def _find_browser() -> tuple[str, str] | None:
    browser = next((found for name in BINARIES if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@dataclass
class Browser:
    driver: Any

    def open(self, path: Path) -> None:
        self.driver.get(path.resolve().as_uri())

    def errors(self) -> list[str]:
        """Console messages of level SEVERE since the last call (the log is drained on read)."""
        return [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def fetched(self) -> list[str]:
        """Every resource the page loaded other than itself (a self-contained page loads none)."""
        return list(self.js("return performance.getEntriesByType('resource').map(e => e.name)"))

    def screenshot(self, path: Path) -> Path:
        """The whole page: the window is made as tall as the document first."""
        height = int(self.js("return Math.min(document.documentElement.scrollHeight, 12000)"))
        self.driver.set_window_size(1280, max(height, 600))
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1280, 1000)
        return path


def file_of(url: str) -> tuple[Path, str]:
    """A file:// URL as the path it names and its fragment."""
    parts = urllib.parse.urlsplit(url)
    return Path(urllib.parse.unquote(parts.path)), parts.fragment


SKIP_REASON = ("headless Chromium not installed (chromium and chromedriver): as root on Debian, "
               "scripts/setup installs them with apt-get (apt-get install chromium chromium-driver)")


@contextlib.contextmanager
def session(profile: Path) -> Iterator[Browser | None]:
    """A headless Chromium for the block, or None where there is none (or no selenium)."""
    found = _find_browser()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        found = None
    if found is None:
        yield None
        return
    options = Options()
    options.binary_location = found[0]
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=found[1]), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield Browser(driver)
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with session(tmp_path_factory.mktemp("chromium-profile")) as found:
        if found is None:
            if os.environ.get("LAB_REQUIRE_BROWSER") or os.environ.get("CI"):
                pytest.fail(f"{SKIP_REASON} (required in CI: scripts/install-browser installs it)")
            pytest.skip(SKIP_REASON)
        yield found


def check_report_page(browser: Browser, page: Path, reports: list[dict[str, Any]], shot: Path) -> dict[str, Any]:
    """Open a report written by `--html` and assert what a person would look for: no console
    error, nothing fetched, the verdict and exit code, one row per check with its result, a
    timeline chart with every step, the metric charts with their PromQL. Returns what was seen."""
    browser.open(page)
    assert browser.errors() == []
    assert browser.fetched() == []
    seen: dict[str, Any] = browser.js(_SEEN)
    assert len(seen["sections"]) == len(reports)
    for section, report in zip(seen["sections"], reports, strict=True):
        assert section["experiment"] == report["experiment"]
        assert section["verdict"] == report["verdict"] and section["exitCode"] == str(report["exitCode"])
        assert section["checks"] == [
            [c["name"], "skipped" if c.get("skipped") else ("passed" if c["passed"] else "failed")]
            for c in report["checks"]
        ]
        timeline = section["charts"][0]
        assert timeline["key"].endswith("-timeline") and timeline["width"] > 300 and timeline["bars"] >= 1
        assert timeline["title"] == "Timeline of the run's steps"
        for step in report["steps"]:
            assert step["name"] in timeline["text"], step["name"]
        for metric in report.get("metrics") or []:
            assert metric["query"] in section["queries"]
            if metric.get("values") and not metric.get("error"):
                assert any(metric["name"] in chart["text"] for chart in section["charts"][1:]), metric["name"]
    first = browser.js("const d = document.querySelector('details.check'); if (!d) return null;"
                       "const was = d.open; d.querySelector('summary').click(); return [was, d.open];")
    if first is not None:
        assert first[0] != first[1], "clicking a check's summary folds or unfolds it"
    browser.screenshot(shot)
    assert shot.stat().st_size > 10_000
    return seen


_SEEN = """
return {sections: [...document.querySelectorAll('section.report')].map(s => ({
  experiment: s.dataset.experiment,
  verdict: s.querySelector('[data-verdict]').dataset.verdict,
  exitCode: s.querySelector('[data-exit-code]').textContent.trim(),
  checks: [...s.querySelectorAll('details.check')].map(d => [d.dataset.check, d.dataset.result]),
  queries: [...s.querySelectorAll('table.queries code')].map(c => c.textContent),
  charts: [...s.querySelectorAll('figure[data-chart]')].map(f => {
    const svg = f.querySelector('svg.chart');
    return {key: f.dataset.chart, width: svg ? svg.getBoundingClientRect().width : 0,
            bars: svg ? svg.querySelectorAll('g[id*="patch"]').length : 0,
            title: svg ? svg.querySelector('title').textContent : '',
            text: svg ? [...svg.querySelectorAll('text')].map(t => t.textContent).join(' ') : ''};
  }),
}))};
"""
