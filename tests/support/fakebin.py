"""Fake external tools on a temporary PATH, and the real helm when a test needs it.

A fake is a small Python script (run by this interpreter, so no shell is involved) that appends
its argv as one JSON line to a record file and answers from what the test baked into it. The
fake helm can write a chart archive for `helm pull` (repo and OCI pulls need the network), and
hand `helm template` on to the real helm binary, so a test sees both the argv lab passes and a
genuine rendering.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

SOURCE_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_CHARTS = SOURCE_ROOT / "tests" / "fixtures" / "charts"
_ORIGINAL_PATH = os.environ.get("PATH", "")

_PRELUDE = """\
#!{python}
import json, os, shutil, stat, sys
args = sys.argv[1:]
RECORD = {record!r}
"""

_RECORD_ARGV = """\
with open(RECORD, "a") as fh:
    fh.write(json.dumps(args) + "\\n")
"""


def write_script(bindir: Path, name: str, body: str, record: Path | None = None) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / name
    text = _PRELUDE.format(python=sys.executable, record=str(record) if record else None)
    if record is not None:
        text += _RECORD_ARGV
    path.write_text(text + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def fake_tool(bindir: Path, name: str, *, stdout: str = "", stderr: str = "", exit_code: int = 0,
              record: Path | None = None) -> Path:
    """A tool that prints fixed output and exits with `exit_code`."""
    body = (f"sys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\n"
            f"sys.exit({exit_code})\n")
    return write_script(bindir, name, body, record)


def fake_helm(bindir: Path, record: Path, *, archive: Path | None = None,
              real_helm: Path | None = None, template_output: str | None = None,
              pull_delay: float = 0.0) -> Path:
    """A helm that records argv; `pull` copies `archive` to --destination; `template` prints
    `template_output` or runs `real_helm`, after recording the values file's mode and text."""
    body = f"""\
ARCHIVE = {str(archive) if archive else None!r}
REAL = {str(real_helm) if real_helm else None!r}
OUTPUT = {template_output!r}
if args[:1] == ["version"]:
    print("v3.19.0+gfake")
    sys.exit(0)
if args[:1] == ["pull"]:
    import time
    time.sleep({pull_delay!r})
    if ARCHIVE is None:
        sys.exit("Error: fake helm has no chart to pull")
    dest = args[args.index("--destination") + 1]
    shutil.copy(ARCHIVE, os.path.join(dest, os.path.basename(ARCHIVE)))
    sys.exit(0)
if args[:1] == ["template"]:
    if "--values" in args:
        values = args[args.index("--values") + 1]
        info = {{"mode": stat.S_IMODE(os.stat(values).st_mode), "text": open(values).read()}}
        with open(RECORD + ".values", "a") as fh:
            fh.write(json.dumps(info) + "\\n")
    if OUTPUT is not None:
        sys.stdout.write(OUTPUT)
        sys.exit(0)
    os.execv(REAL, [REAL, *args])
sys.exit("fake helm: unexpected arguments " + " ".join(args))
"""
    return write_script(bindir, "helm", body, record)


def calls(record: Path) -> list[list[str]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def values_seen(record: Path) -> list[dict[str, Any]]:
    path = Path(str(record) + ".values")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def package_chart(chart_dir: Path, out_dir: Path) -> Path:
    """`helm package` without helm: a .tgz whose top folder is the chart's name."""
    import yaml

    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{meta['name']}-{meta['version']}.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(chart_dir, arcname=meta["name"])
    return archive


def find_real_helm() -> Path | None:
    """The helm v3 that scripts/install-helm put into .venv/bin, or one on the original PATH."""
    candidate = SOURCE_ROOT / ".venv" / "bin" / "helm"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("helm", path=_ORIGINAL_PATH)
    return Path(found) if found else None


def require_real_helm() -> Path:
    """The real helm, or skip (fail in CI: a missing helm must not pass unnoticed)."""
    helm = find_real_helm()
    if helm is None:
        message = "no helm binary: run ./scripts/install-helm"
        if os.environ.get("CI") or os.environ.get("LAB_REQUIRE_CLUSTER"):
            pytest.fail(message)
        pytest.skip(message)
    return helm
