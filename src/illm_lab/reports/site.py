"""`lab site build`: a static site of the roadmap's progress, the experiments' last validations
and the ADRs, for people who want to look rather than run `lab roadmap`.

The site is made from plain data (the dataclasses below) that the command gathers from the
roadmap, the catalog and the committed validation records; this module only lays it out. Every
page is self-contained (styles inline, charts as inline SVG, no script) and every link between
pages is relative, so the folder works opened from disk, served by any static server or kept as a
CI artifact.

    out/index.html                  progress, the phases and appendices with their experiments, ADRs
    out/experiments/<name>.html     one experiment: its last validation, comparison figures
    out/adrs/<NNNN-title>.html      one ADR, rendered from its Markdown
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illm_lab.base.files import read_text
from illm_lab.reports.charts import Chart, metric_charts, progress
from illm_lab.reports.html import environment, now, write


@dataclass(frozen=True)
class Validation:
    """The latest validation record of an experiment (`experiments/<name>/validation.yaml`)."""

    date: str
    lab_version: str
    passed: bool
    clusters: tuple[dict[str, str], ...]  # role, provider, kubernetesVersion, context, nodes
    checks: tuple[dict[str, Any], ...]  # name, passed, durationSeconds, message
    metrics: tuple[dict[str, Any], ...] = ()  # the conduct report's shape: name, query, unit, values
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Experiment:
    name: str
    section: str
    state: str  # validated | stale | built | planned | missing
    description: str = ""
    title: str = ""
    type: str = ""
    tutorial: bool = False
    validation: Validation | None = None

    @property
    def has_page(self) -> bool:
        return self.state in ("validated", "stale", "built")


@dataclass(frozen=True)
class Phase:
    """A roadmap phase or appendix and the experiments its checklist names."""

    ident: str
    label: str
    title: str
    state: str
    experiments: tuple[Experiment, ...]
    anchor: str = ""

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for experiment in self.experiments:
            out[experiment.state] = out.get(experiment.state, 0) + 1
        return out


@dataclass(frozen=True)
class Adr:
    number: int
    title: str
    status: str
    source: Path

    @property
    def page(self) -> str:
        return f"{self.source.stem}.html"


@dataclass(frozen=True)
class Site:
    title: str
    metrics: list[tuple[str, str]]  # (what, value) as `lab roadmap` shows them
    phases: tuple[Phase, ...]
    appendices: tuple[Phase, ...] = ()
    adrs: tuple[Adr, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def build(site: Site, out: Path) -> list[Path]:
    """Write every page under `out`; return the files written, index first."""
    from illm_lab import __version__

    env = environment()
    common = {"version": __version__, "generated": now(), "site": site}
    written = [out / "index.html"]
    chart = progress([(p.label, p.counts) for p in site.phases], "progress")
    write(written[0], env.get_template("site_index.html.j2").render(
        title=site.title, progress=chart, **common), "--out")
    for phase in (*site.phases, *site.appendices):
        for experiment in phase.experiments:
            if not experiment.has_page:
                continue
            path = out / "experiments" / f"{experiment.name}.html"
            figures: list[Chart] = []
            if experiment.validation and experiment.validation.metrics:
                figures = metric_charts(list(experiment.validation.metrics), "figures")
            write(path, env.get_template("site_experiment.html.j2").render(
                title=f"{experiment.name} — {site.title}", phase=phase, experiment=experiment,
                figures=figures, **common), "--out")
            written.append(path)
    pages = {adr.source.name: adr.page for adr in site.adrs}
    for adr in site.adrs:
        path = out / "adrs" / adr.page
        body = markdown(read_text(adr.source, what="ADR"), pages)
        write(path, env.get_template("site_adr.html.j2").render(
            title=f"ADR {adr.number:04d}: {adr.title} — {site.title}", adr=adr, body=body, **common), "--out")
        written.append(path)
    return written


def markdown(text: str, pages: dict[str, str]) -> str:
    """An ADR as HTML: raw HTML in the Markdown is escaped, links to other ADRs point at their
    pages, and other relative links (files of the repository, not part of the site) become
    plain text naming the file. Images become their alt text (a page loads nothing)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for block in tokens:
        for token in block.children or []:
            if token.type == "image":
                token.type, token.content, token.children = "text", f"[image: {token.content}]", None
        _relink(block.children or [], pages)
    return str(md.renderer.render(tokens, md.options, {}))


def _relink(tokens: list[Any], pages: dict[str, str]) -> None:
    opened: list[Any] = []
    for token in tokens:
        if token.type == "link_open":
            href = str(token.attrs.get("href", ""))
            target, _, anchor = href.partition("#")
            local = target and "://" not in target and not target.startswith("mailto:")
            if local and posixpath.basename(target) in pages and "/" not in target.strip("./"):
                token.attrs["href"] = pages[posixpath.basename(target)] + (f"#{anchor}" if anchor else "")
            elif local:
                token.tag = "span"
                token.attrs = {"class": "repo-path", "title": f"in the repository: {target}"}
            opened.append(token)
        elif token.type == "link_close" and opened:
            token.tag = opened.pop().tag
