"""Command line of scripts/verify-catalog: run every experiment, write the document, exit 0/1."""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from verifycatalog.core import Row, verify

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "catalog-status.md"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="verify-catalog",
        description="Render every experiment at its defaults with its real charts (from the chart "
        "cache, $LAB_CACHE_DIR), lint it, apply it through lab's engine (tier 3 dry run on a real "
        "API server where it can judge the experiment, else the API emulator), remove it, and "
        "write docs/catalog-status.md. Exit 1 when any experiment fails a step.",
    )
    parser.add_argument("--kubeconfig", type=Path,
                        help="kubeconfig of the real API server for tier 3 (without it: emulator only)")
    parser.add_argument("--context", help="its context (default: the kubeconfig's current context)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="verify only this experiment (repeatable); prints the rows, writes no "
                        "file unless --out is given")
    parser.add_argument("--out", type=Path, help=f"the document to write (default: {DEFAULT_OUT} "
                        "when verifying the whole catalog)")
    parser.add_argument("--experiments-dir", type=Path, default=ROOT / "experiments")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from illm_lab import __version__, catalog
    from illm_lab.base.errors import LabError
    from illm_lab.charts import ChartCache
    from illm_lab.ledger import Ledger
    from illm_lab.tools import helm

    started = time.monotonic()
    entries, problems = catalog.load_all(args.experiments_dir)
    rows = [_broken(folder, messages) for folder, messages in _by_folder(problems).items()]
    if args.only:
        unknown = set(args.only) - {e.name for e in entries} - {r.name for r in rows}
        if unknown:
            print(f"verify-catalog: no experiment {', '.join(sorted(unknown))} in {args.experiments_dir}",
                  file=sys.stderr)
            return 2
        entries = [e for e in entries if e.name in args.only]
        rows = [r for r in rows if r.name in args.only]
    server = None
    if args.kubeconfig is not None:
        from verifycatalog.tier3 import Server

        try:
            server = Server.connect(args.kubeconfig, args.context)
        except LabError as exc:
            print(f"verify-catalog: tier 3 unreachable ({exc}); leave out --kubeconfig to use the "
                  "emulator only", file=sys.stderr)
            return 2
    cache = ChartCache()
    try:
        with tempfile.TemporaryDirectory(prefix="verify-catalog-") as tmp:
            # A ledger of its own: these runs are not the user's, and leave no state behind.
            ledger = Ledger(Path(tmp) / "state")
            for entry in entries:
                row = verify(entry, ledger=ledger, cache=cache, server=server, workdir=Path(tmp) / "work")
                rows.append(row)
                status = "ok" if row.ok else "FAILED"
                tier = f"{row.apply.tier} {row.apply.seconds:.1f}s, " if row.apply else ""
                print(f"{row.name}: {status} ({tier}total {row.seconds:.1f}s)", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.close()
    rows.sort(key=lambda r: r.name)
    from verifycatalog import markdown

    run = markdown.Run(
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        lab_version=f"{__version__}{_commit()}",
        helm_version=helm.version(),
        tier3=(f"Kubernetes {server.git_version} (context {server.context})" if server is not None
               else "not used (no --kubeconfig)"),
        minutes=(time.monotonic() - started) / 60,
        command=_command(args),
    )
    text = markdown.render(rows, run)
    out = args.out if args.out is not None else (None if args.only else DEFAULT_OUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        print("\n".join(line for line in text.splitlines() if line.startswith("|")))
    failing = [r for r in rows if not r.ok]
    for row in failing:
        print(f"FAILED {row.name}: {'; '.join(row.problems())}")
    print(f"{len(rows) - len(failing)}/{len(rows)} experiments ok in {run.minutes:.1f} min", file=sys.stderr)
    return 1 if failing else 0


def _by_folder(problems: list) -> dict[str, list[str]]:
    """Manifest problems of experiments that did not load, by experiment folder."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        folder = Path(problem.where.split(":", 1)[0]).parent.name or problem.where
        out.setdefault(folder, []).append(problem.message)
    return out


def _broken(folder: str, messages: list[str]) -> Row:
    return Row(folder, render_error=f"manifest does not load: {messages[0]}",
               lint_errors=len(messages), lint_first_error=messages[0])


def _commit() -> str:
    """` (commit abc1234)` when run from a git checkout; read-only, never touches the index."""
    try:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" (commit {sha})" if sha else ""


def _command(args: argparse.Namespace) -> str:
    """The command that regenerates this document, as it was run (machine paths as placeholders)."""
    parts = []
    if os.environ.get("LAB_CACHE_DIR"):
        parts.append("LAB_CACHE_DIR=<cache holding the pinned charts>")
    parts.append("./scripts/verify-catalog")
    if args.kubeconfig is not None:
        parts += ["--kubeconfig", "<kubeconfig of scripts/local-cluster up>"]
    if args.context:
        parts += ["--context", shlex.quote(args.context)]
    if args.experiments_dir.resolve() != (ROOT / "experiments").resolve():
        parts += ["--experiments-dir", shlex.quote(str(args.experiments_dir))]
    for name in args.only or []:
        parts += ["--only", shlex.quote(name)]
    if args.out is not None and args.out.resolve() != DEFAULT_OUT.resolve():
        parts += ["--out", shlex.quote(str(args.out))]
    return " ".join(parts)
