"""The end-of-life table and the lint warnings it gives: which pins match, what the warning says,
that it never blocks, and that a malformed table names its line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from illm_lab import catalog
from illm_lab.authoring import eol
from illm_lab.authoring.lint import lint_folder
from illm_lab.base.errors import InputError
from tests.support.catalogs import MINIMAL, write_experiment

REPO = Path(__file__).resolve().parents[2]

HELM = """\
    - name: {name}
      namespace: demo
      helm:
        repo: {repo}
        chart: {chart}
        version: {version}
"""


def with_charts(tmp_path: Path, *charts: tuple[str, str, str, str]) -> catalog.Entry:
    """An experiment whose components are the given (name, repo, chart, version) pins."""
    manifest = MINIMAL.format(name="demo")
    at = manifest.index("  checks:")
    helm = "".join(HELM.format(name=n, repo=r, chart=c, version=v) for n, r, c, v in charts)
    folder = write_experiment(tmp_path, "demo", manifest[:at] + helm + manifest[at:])
    return catalog.load(folder)


def test_the_table_reads_and_every_row_has_a_dated_source() -> None:
    table = eol.load()
    assert table.reviewed and date.fromisoformat(table.reviewed) <= date.today()
    names = {c.component for c in table.components}
    assert {"Promtail", "Jaeger v1"} <= names
    assert any(c.component.startswith("Ingress NGINX") for c in table.components)
    for component in table.components:
        assert component.source.startswith("https://") and component.instead
        assert component.status in eol.STATUSES and component.charts
        assert component.since_date.year >= 2023


def test_the_dates_the_sources_give() -> None:
    by_chart = {m.chart: c for c in eol.load().components for m in c.charts}
    assert by_chart["promtail"].since == "2026-03-02"
    assert by_chart["ingress-nginx"].since == "2026-03" and by_chart["ingress-nginx"].status == "retired"
    assert by_chart["jaeger"].since == "2025-12-31"


@pytest.mark.parametrize(("chart", "location", "version", "component"), [
    ("promtail", "https://grafana.github.io/helm-charts", "6.16.6", "Promtail"),
    ("ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "4.12.0", "Ingress NGINX"),
    ("jaeger", "https://jaegertracing.github.io/helm-charts", "3.3.1", "Jaeger v1"),
    ("jaeger", "https://jaegertracing.github.io/helm-charts", "v3.4.1", "Jaeger v1"),
    ("jaeger", "https://jaegertracing.github.io/helm-charts", "4.0.0", None),  # Jaeger v2
    ("jaeger", "https://jaegertracing.github.io/helm-charts", "4.11.1", None),
    ("elasticsearch", "https://helm.elastic.co", "8.5.1", "the Elastic Stack"),
    ("elasticsearch", "https://charts.bitnami.com/bitnami", "21.0.0", None),  # another chart, same name
    ("eck-operator", "https://helm.elastic.co", "2.16.0", None),
    ("alloy", "https://grafana.github.io/helm-charts", "1.11.1", None),
    ("gateway-helm", "oci://docker.io/envoyproxy/gateway-helm", "v1.2.4", "Envoy Gateway v1.2"),
    ("gateway-helm", "oci://docker.io/envoyproxy/gateway-helm", "v1.8.3", "Envoy Gateway v1.8"),
    ("gateway-helm", "oci://docker.io/envoyproxy/gateway-helm", "v0.6.0", "Envoy Gateway v0.x"),
    ("gateway-helm", "oci://docker.io/envoyproxy/gateway-helm", "v1.9.0", None),
    ("gateway-helm", "oci://registry.example/mirror/gateway-helm", "v1.2.4", None),  # not Envoy's
    ("cloudnative-pg", "https://cloudnative-pg.github.io/charts", "0.23.0", "CloudNativePG 1.25"),
    ("cloudnative-pg", "https://cloudnative-pg.github.io/charts", "0.23.2", "CloudNativePG 1.25"),
    ("cloudnative-pg", "https://cloudnative-pg.github.io/charts", "0.22.1", "CloudNativePG 1.24 and older"),
    ("cloudnative-pg", "https://cloudnative-pg.github.io/charts", "0.25.0", "CloudNativePG 1.26"),
    ("cloudnative-pg", "https://cloudnative-pg.github.io/charts", "0.28.3", "CloudNativePG 1.29"),
    ("cloudnative-pg", "https://cloudnative-pg.github.io/charts", "0.29.0", None),  # 1.30
])
def test_which_pins_match(chart: str, location: str, version: str, component: str | None) -> None:
    found = eol.find(chart, location, version)
    if component is None:
        assert found is None
    else:
        assert found is not None and found.component.startswith(component)


def test_a_version_range_with_from_and_below() -> None:
    match = eol.ChartMatch("x", below="v1.9.0", since="v1.8.0")
    assert [match.matches("x", "", v) for v in ("v1.7.9", "v1.8.0", "v1.8.3", "v1.9.0")] == [
        False, True, True, False]


def test_version_key() -> None:
    assert eol.version_key("v1.2.3") == (1, 2, 3)
    assert eol.version_key("4.0.0-rc.2+build.7") == (4, 0, 0)
    assert eol.version_key("3.10.0") > eol.version_key("3.9.9")
    assert eol.version_key("garbage") == (0,)


def test_warning_names_the_component_line_date_source_and_replacement(tmp_path: Path) -> None:
    entry = with_charts(
        tmp_path,
        ("logs", "https://grafana.github.io/helm-charts", "promtail", "6.16.6"),
        ("alloy", "https://grafana.github.io/helm-charts", "alloy", "1.11.1"),
    )
    found = eol.warnings(entry, today=date(2026, 12, 3))
    assert len(found) == 1
    where, message = found[0]
    assert where.startswith(f"{entry.manifest}:") and int(where.rsplit(":", 1)[1]) > 10
    assert message.startswith("component logs: chart promtail 6.16.6: Promtail — end of life since 2026-03-02")
    assert "https://grafana.com/docs/loki/latest/send-data/promtail/" in message
    assert "instead: Grafana Alloy" in message


def test_a_date_still_ahead_and_a_month_only_date() -> None:
    later = eol.Component("Thing", (eol.ChartMatch("thing"),), "end of life", "2099-01-31",
                          "https://example.org", "other")
    assert later.describe(date(2026, 12, 3)) == "end of life on 2099-01-31"
    month = eol.Component("Thing", (eol.ChartMatch("thing"),), "retired", "2026-03",
                          "https://example.org", "other")
    assert month.describe(date(2026, 12, 3)) == "retired since March 2026"
    assert month.describe(date(2026, 2, 1)) == "retired in March 2026"


def test_lint_reports_it_as_a_warning_that_never_blocks(tmp_path: Path) -> None:
    entry = with_charts(tmp_path, ("edge", "https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "4.12.0"))
    result = lint_folder(entry.folder)
    warned = [f for f in result.findings if f.severity == "warning" and "Ingress NGINX" in f.message]
    assert len(warned) == 1 and "retired since March 2026" in warned[0].message
    assert not [f for f in result.findings if f.severity == "error"], result.findings
    assert result.ok


def write_table(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "eol.yaml"
    path.write_text('reviewed: "2026-12-03"\ncomponents:\n' + rows)
    return path


@pytest.mark.parametrize(("row", "expected"), [
    ("  - {component: X, charts: [{chart: x}], status: gone, since: '2026-01-01', source: https://e.org, instead: y}\n",
     "status 'gone'"),
    ("  - {component: X, charts: [{chart: x}], status: retired, since: '2026-13', source: https://e.org, instead: y}\n",
     "since '2026-13'"),
    ("  - {component: X, charts: [{chart: x}], status: retired, since: '2026-01', source: http://e.org, instead: y}\n",
     "https://"),
    ("  - {component: X, charts: [x], status: retired, since: '2026-01', source: https://e.org, instead: y}\n",
     "charts must be"),
    ("  - {component: X, status: retired}\n", "component without charts, since, source, instead"),
])
def test_a_malformed_row_names_its_line(tmp_path: Path, row: str, expected: str) -> None:
    path = write_table(tmp_path, "  - {component: ok, charts: [{chart: ok}], status: retired, since: '2026-01',"
                                 " source: https://e.org, instead: y}\n" + row)
    with pytest.raises(InputError) as info:
        eol.load(path)
    assert expected in str(info.value) and f"{path}:4" in str(info.value)


def test_the_catalog_pins_none_of_the_components_it_replaced() -> None:
    """Promtail, ingress-nginx, Jaeger v1 and the elastic/helm-charts charts were replaced in the
    catalog; they stay replaced."""
    replaced = ("Promtail", "Ingress NGINX", "Jaeger v1", "the Elastic Stack Helm charts")
    found = []
    for folder in catalog.discover(REPO / "experiments"):
        entry = catalog.load(folder)
        found += [f"{folder.name}: {m}" for _, m in eol.warnings(entry) if any(f": {r}" in m for r in replaced)]
    assert not found, "\n".join(found)


def test_the_gateway_experiments_pin_a_supported_envoy_gateway() -> None:
    for name in ("gateway-tutorial", "gateway-comparison"):
        entry = catalog.load(REPO / "experiments" / name)
        assert not eol.warnings(entry), name


def test_the_cloudnative_pg_experiments_pin_a_supported_operator() -> None:
    for name in ("postgres-backup", "postgres-pitr-restore", "schema-migration"):
        entry = catalog.load(REPO / "experiments" / name)
        assert not eol.warnings(entry), name
