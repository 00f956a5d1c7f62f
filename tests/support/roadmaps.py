"""A small roadmap tree for tests: roadmap/, experiments/ with validation records, adrs/.

Phase 1 is built (alpha validated, beta built with a failing latest record, delta planned),
phase 2 is validated (gamma validated), phase 3 has not started (epsilon missing in section 3.1,
zeta planned in 3.2); appendix A plans eta; omega is built but named nowhere. Every record is
of its experiment's current files (`experimentHash`), so none is stale.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from illm_lab.catalog.fingerprint import experiment_hash
from tests.support.catalogs import write_experiment

README = """\
# Test roadmap

| Phase | Topic |
|---|---|
| 1 | [Basics](phase-01-basics.md) |
| 2 | [Done](phase-02-done.md) |
| 3 | [Later](phase-03-later.md) |

Appendix: [A](appendix-a-extra.md). Decisions live in [adrs](../adrs/0001-first.md).
"""

PHASES = {
    "phase-01-basics.md": """\
        # Phase 1: Basics

        ## Goals

        Learn the basics.

        ## Experiments

        Some prose is allowed here.

        - [ ] `alpha` — the first one
        - [x] `beta` — the second one
        - [ ] `delta` (planned) — not built yet

        ## Notes

        - a list outside the checklist is free text
        """,
    "phase-02-done.md": """\
        # Phase 2: Done

        ## Experiments

        - [ ] `gamma` — everything validated
        """,
    "phase-03-later.md": """\
        # Phase 3: Later

        ## Experiments

        ### 3.1 First section

        - [ ] `epsilon` — promised but absent
          - an indented note is free text

        ### 3.2 Second section

        ```
        - [ ] `inside-a-fence` is not an item
        ```

        - [ ] `zeta` (planned) — later
        """,
    "appendix-a-extra.md": """\
        # Appendix A: Extra

        ## Experiments

        - [ ] `eta` (planned) — an appendix experiment
        """,
}


def record(
    name: str, *, passed: bool, date: str, failing_check: bool = False, folder_hash: str | None = None,
    checks: bool = True,
) -> str:
    """One record; `folder_hash` becomes its `experimentHash` (none: a record from before records
    carried one); `checks=False` writes a record without a single check."""
    text = textwrap.dedent(f"""\
        apiVersion: lab.illm.io/v1alpha1
        kind: ValidationRecord
        experiment: {name}
        date: {date}
        labVersion: 0.1.0
        clusters:
          - {{role: target, provider: local, kubernetesVersion: "1.32.0"}}
        paramsHash: sha256:0123
        passed: {str(passed).lower()}
        checks:
          - {{name: app ready, passed: true, durationSeconds: 1.5}}
          - {{name: app answers, passed: {str(not failing_check).lower()}}}
        """)
    if not checks:
        text = text[: text.index("checks:")] + "checks: []\n"
    return text + (f"experimentHash: {folder_hash}\n" if folder_hash else "")


def write_record(folder: Path, *records: str) -> Path:
    path = folder / "validation.yaml"
    path.write_text("---\n".join(records), encoding="utf-8")
    return path


def write_tree(base: Path) -> Path:
    """Write roadmap/, experiments/ and adrs/ under `base`; return `base`."""
    road = base / "roadmap"
    road.mkdir(parents=True)
    (road / "README.md").write_text(README, encoding="utf-8")
    for name, text in PHASES.items():
        (road / name).write_text(textwrap.dedent(text), encoding="utf-8")
    exps = base / "experiments"
    for name in ("alpha", "beta", "gamma", "omega"):
        write_experiment(exps, name)
    current = {name: experiment_hash(exps / name) for name in ("alpha", "beta", "gamma")}
    write_record(
        exps / "alpha",
        record("alpha", passed=False, date="2026-11-01T10:00:00Z", failing_check=True),
        record("alpha", passed=True, date="2026-11-20T10:00:00Z", folder_hash=current["alpha"]),
    )
    write_record(
        exps / "beta",
        record("beta", passed=True, date="2026-11-01T10:00:00Z", folder_hash=current["beta"]),
        record("beta", passed=False, date="2026-11-20T10:00:00Z", failing_check=True,
               folder_hash=current["beta"]),
    )
    write_record(exps / "gamma", record("gamma", passed=True, date="2026-11-21T08:30:00+01:00",
                                        folder_hash=current["gamma"]))
    adrs = base / "adrs"
    adrs.mkdir()
    repo_template = Path(__file__).resolve().parents[2] / "adrs" / "template.md"
    shutil.copy(repo_template, adrs / "template.md")
    (adrs / "0001-first.md").write_text("# 0001. First\n\n- Status: accepted\n- Date: 2026-01-01\n")
    (adrs / "0004-fourth.md").write_text("# 4. Fourth decision\n\n## Status\n\nSuperseded by 0005\n")
    return base
