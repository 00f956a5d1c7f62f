"""P10: lint at scale — `lab render` and `lab lint` of one template emitting N ConfigMaps.

One experiment whose one template loops into N small ConfigMaps (a name, a label, two data
keys), at N = 100, 1,000 and 15,000, and at N = 1 for the fixed cost (start-up, schemas).
Whole processes, median of the runs; the same commands of a baseline commit run interleaved
from its own source tree (`git archive`), on the same experiment. The figures per object:
gross (the median over N) and net of the fixed cost ((t(N) - t(1)) / (N - 1)); growth is the
net per object at the largest N over the smallest. Goal: lint <= 1 ms per object of a kind
already seen, flat growth (<= 1.2).

The default baseline is the commit that let a template's stream exceed 1 MB (before it, 15,000
ConfigMaps are refused as over the size of a file), i.e. lint as it was before it validated
each shape of object once.

Usage: python bench/lint_scale.py [--runs N] [--counts N ...] [--baseline REF | --no-baseline]
       [--no-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, time_command, update_section

REPO = Path(__file__).resolve().parents[1]
BASELINE = "b5dcad8"
COUNTS = (100, 1000, 15000)
COMMANDS = ("render", "lint")

MANIFEST = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata: {{name: scale, title: Many ConfigMaps, phase: "1", type: benchmark}}
spec:
  params:
    count: {{type: integer, default: {count}}}
  namespaces:
    scale: {{}}
  components:
    - name: config
      namespace: scale
      manifests: [manifests/configmaps.yaml.j2]
"""

TEMPLATE = """\
{% for i in range(params.count) %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{{ i }}
  labels:
    app: scale
data:
  index: "{{ i }}"
  level: info
{% endfor %}
"""


def write_experiment(root: Path, count: int) -> Path:
    """A catalog of one experiment `scale` rendering `count` ConfigMaps."""
    folder = root / "scale"
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    (folder / "experiment.yaml").write_text(MANIFEST.format(count=count), encoding="utf-8")
    (folder / "manifests" / "configmaps.yaml.j2").write_text(TEMPLATE, encoding="utf-8")
    (folder / "README.md").write_text("# scale\n", encoding="utf-8")
    return root


def baseline_tree(ref: str, work: Path) -> Path | None:
    """The `src` folder of `ref`, unpacked from git; None when git cannot give it."""
    target = work / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


Medians = dict[tuple[str, str, int], float]  # (tree, command, objects) -> seconds


def measure(trees: dict[str, Path], counts: list[int], runs: int, work: Path) -> Medians:
    """Median wall time of each (tree, command, count), the trees' runs interleaved."""
    base = {**os.environ, "LAB_STATE_DIR": str(work / "state"), "LAB_CACHE_DIR": str(work / "cache"),
            "LAB_CONFIG": str(work / "config.yaml"), "HOME": str(work / "home"), "NO_COLOR": "1"}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    envs = {name: {**base, "PYTHONPATH": str(src)} for name, src in trees.items()}
    for name, src in trees.items():  # bytecode written before any timed run
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "illm_lab")],
                       env=envs[name], capture_output=True, check=True)
    samples: dict[tuple[str, str, int], list[float]] = {}
    for count in counts:
        catalog = write_experiment(work / f"exp-{count}", count)
        for _ in range(runs):
            for name in trees:
                for command in COMMANDS:
                    argv = [sys.executable, "-m", "illm_lab", "-q", "--experiments-dir", str(catalog),
                            command, "scale"]
                    samples.setdefault((name, command, count), []).extend(time_command(argv, 1, envs[name]))
    return {key: median(values) for key, values in samples.items()}


def per_object(med: Medians, name: str, command: str, count: int,
               fixed: int) -> tuple[float, float]:
    """(gross, net of the fixed cost) seconds per object."""
    t = med[(name, command, count)]
    return t / count, (t - med[(name, command, fixed)]) / (count - fixed)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    counts = sorted(set(args.counts) - {1})
    with tempfile.TemporaryDirectory(prefix="lab-bench-lint-scale-") as tmp:
        work = Path(tmp)
        trees = {"lab": REPO / "src"}
        base_src = None if args.no_baseline else baseline_tree(args.baseline, work)
        if base_src is not None:
            trees["baseline"] = base_src
        med = measure(trees, [1, *counts], args.runs, work)
    lines, figures = report(med, list(trees), counts, args)
    if not args.no_write:
        update_section("lint-scale", "\n".join(lines))
    print("\n".join(lines))
    return figures


def growth(med: Medians, name: str, command: str, low: int, high: int) -> str:
    """Net seconds per object at `high` over those at `low` (n/a when `low`'s net is noise)."""
    first = per_object(med, name, command, low, 1)[1]
    last = per_object(med, name, command, high, 1)[1]
    return f"{last / first:.2f}" if first > 0 else "n/a"


def report(med: Medians, names: list[str], counts: list[int],
           args: argparse.Namespace) -> tuple[list[str], dict[str, float]]:
    """The docs section, and the figures (ms per object, gross) returned to the caller."""
    baseline = "baseline" in names
    against = (f", interleaved with the same commands at commit `{args.baseline}` (before lint "
               "validated each shape of object once)") if baseline else ""
    head = ["objects", "render", "lint", "render ms/object (net)", "lint ms/object (net)"]
    if baseline:
        head += ["baseline render", "baseline lint", "baseline lint ms/object (net)", "lint speed-up"]
    lines = [
        "## P10 — lint at scale: one template emitting N ConfigMaps",
        "",
        f"`lab render` and `lab lint` of one experiment whose one template loops into N ConfigMaps "
        f"(a name, a label, two data keys); whole processes, median of {args.runs} runs{against}. "
        "Per object: the median over N, and in brackets net of the fixed cost measured with one "
        "object ((t(N) - t(1)) / (N - 1)). Goal: lint <= 1 ms per object of a kind already seen, "
        "flat growth.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    figures: dict[str, float] = {}
    for count in counts:
        row = [f"{count:,}"] + [f"{med[('lab', command, count)]:.2f} s" for command in COMMANDS]
        for command in COMMANDS:
            gross, net = per_object(med, "lab", command, count, 1)
            row.append(f"{gross * 1000:.3f} ({net * 1000:.3f})")
            figures[f"{command} {count}"] = gross * 1000
        if baseline:
            row += [f"{med[('baseline', command, count)]:.2f} s" for command in COMMANDS]
            gross, net = per_object(med, "baseline", "lint", count, 1)
            row.append(f"{gross * 1000:.3f} ({net * 1000:.3f})")
            row.append(f"{med[('baseline', 'lint', count)] / med[('lab', 'lint', count)]:.1f}x")
        lines.append("| " + " | ".join(row) + " |")
    low, high = counts[0], counts[-1]
    lines += ["", f"Growth of the net time per object from {low:,} to {high:,} objects (1.00 is flat):", ""]
    for name in names:
        label = "this tree" if name == "lab" else f"baseline `{args.baseline}`"
        lines.append(f"- {label}: " + ", ".join(
            f"{command} {growth(med, name, command, low, high)}" for command in COMMANDS))
    lines += ["", f"Python {sys.version.split()[0]}, {os.cpu_count()} cores."]
    return lines, figures


if __name__ == "__main__":
    main()
