"""P7: a whole conduct — `lab conduct hello-app` against doing the same by hand with kubectl.

Both sides run the same rendered objects of hello-app (`lab render`) on the same cluster, one
after the other, in alternating order (interleaved):

- lab: `lab conduct hello-app --ci` — render, lint, deploy, wait for the rollout, the four
  checks, the load Job, the report, teardown;
- kubectl: a shell script doing the same steps — `apply --server-side` of the Namespace and
  the app, `rollout status`, the availableReplicas assertion, the two HTTP probes through the
  API server's service proxy (`get --raw`), the load Job applied and `wait --for=condition=
  complete`, then `delete -f ... --wait` of everything.

Each side must leave nothing: the Namespace is confirmed gone after each run. The figure is the
ratio of the medians; goal <= 0.6. On the tier-3 cluster the images are the local demo image
(the app, and the load Job as a loop of wget through the Service).

Usage: python bench/p7_conduct.py (--kubeconfig K [--context C] | --local-cluster) [--runs N]
       [--no-write]. Needs kubectl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench import tier3
from bench.report import median
from bench.tier3 import REPO, lab_env, timed

IMAGE = "lab.local/labapp:1"
NAMESPACE = "hello"
REQUESTS = 20

SCRIPT = """\
set -euo pipefail
k() {{ kubectl --kubeconfig "$KCFG" ${{KCTX:+--context "$KCTX"}} --cache-dir "$KCACHE" "$@"; }}
k apply --server-side --field-manager kubectl-bench -f {dir}/00-namespaces-target.yaml
k apply --server-side --field-manager kubectl-bench -f {dir}/01-hello-app.yaml
k -n {ns} rollout status deployment/hello-app --timeout=120s
test "$(k -n {ns} get deployment hello-app -o jsonpath='{{.status.availableReplicas}}')" -ge 2
k get --raw /api/v1/namespaces/{ns}/services/hello-app:9898/proxy/readyz >/dev/null
k get --raw /api/v1/namespaces/{ns}/services/hello-app:9898/proxy/metrics | grep -q '^# TYPE '
k apply --server-side --field-manager kubectl-bench -f {dir}/02-workflow.yaml
k -n {ns} wait --for=condition=complete job/hello-load --timeout=300s
k delete -f {dir}/02-workflow.yaml -f {dir}/01-hello-app.yaml -f {dir}/00-namespaces-target.yaml \\
  --wait --timeout=300s
"""


def values(path: Path) -> None:
    repo, _, tag = IMAGE.rpartition(":")
    path.write_text(yaml.safe_dump({
        "image": repo, "tag": tag, "pullPolicy": "Never", "k6Image": IMAGE,
        "loadCommand": ["sh", "-c"],
        "loadArgs": [f"for i in $(seq {REQUESTS}); do wget -qO- "
                     "http://$HELLO_APP_SERVICE_HOST:$HELLO_APP_SERVICE_PORT/ >/dev/null || exit 1; done"],
    }))


def main(argv: list[str] | None = None) -> dict[str, float]:
    options = tier3.parser(runs=5)
    args = options.parse_args(argv)
    if args.local_cluster:
        return tier3.on_local_cluster(list(argv) if argv is not None else sys.argv[1:], main)
    if args.kubeconfig is None:
        options.error("give --kubeconfig or --local-cluster")
    kubectl = tier3.kubectl_or_exit("P7")

    work = Path(tempfile.mkdtemp(prefix="lab-bench-p7-"))
    env = {**lab_env(work), "KCFG": str(args.kubeconfig), "KCTX": args.context or "",
           "KCACHE": str(work / "kcache")}
    target = tier3.target(args)
    lab = [sys.executable, "-m", "illm_lab", "-q", "--experiments-dir", str(REPO / "experiments")]
    kube = tier3.kubectl_argv(kubectl, args, work)
    vals = work / "values.yaml"
    values(vals)
    rendered = work / "rendered"
    timed([*lab, "render", "hello-app", "--values", str(vals), "--out", str(rendered)], env)
    script = work / "by-hand.sh"
    script.write_text(SCRIPT.format(dir=rendered, ns=NAMESPACE))
    samples: dict[str, list[float]] = {"lab": [], "kubectl": []}
    loads = [os.getloadavg()[0]]
    try:
        subprocess.run([*kube, "api-resources"], capture_output=True, env=env, check=True)
        for i in range(args.runs):
            order = ["lab", "kubectl"] if i % 2 == 0 else ["kubectl", "lab"]
            for tool in order:
                if tool == "lab":
                    samples["lab"].append(timed(
                        [*lab, "conduct", "hello-app", "--ci", "--values", str(vals), *target], env))
                else:
                    samples["kubectl"].append(timed(["bash", str(script)], env))
                left = subprocess.run([*kube, "get", "namespace", NAMESPACE, "--ignore-not-found",
                                       "-o", "name"], capture_output=True, text=True, env=env,
                                      check=True).stdout.strip()
                if left:
                    raise SystemExit(f"{left} is still there after the {tool} run")
            loads.append(os.getloadavg()[0])
            print(f"run {i + 1}: lab {samples['lab'][-1]:.2f} s, "
                  f"kubectl {samples['kubectl'][-1]:.2f} s", file=sys.stderr)
    finally:
        subprocess.run([*kube, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"],
                       capture_output=True, env=env, check=False)
        shutil.rmtree(work, ignore_errors=True)

    med = {k: median(v) for k, v in samples.items()}
    ratio = med["lab"] / med["kubectl"]
    lines = [
        "## P7 — a whole conduct: `lab conduct hello-app` vs the same by hand with kubectl",
        "",
        "hello-app on the tier-3 cluster (Kubernetes 1.20): deploy (Namespace, a two-replica "
        "Deployment, its Service), wait for the rollout, the four checks (rollout, available "
        "replicas, two HTTP probes through the API server's service proxy), the load Job "
        f"({REQUESTS} requests through the Service) and teardown with nothing left. lab: "
        "`lab conduct hello-app --ci` (also renders, lints and writes its report); kubectl: a "
        "shell script of `apply --server-side`, `rollout status`, `get --raw` probes, `wait "
        "--for=condition=complete` and `delete -f --wait` of the same rendered objects. Whole "
        f"processes, median of {args.runs} interleaved runs (order alternating); 1-minute load "
        f"average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores.",
        "",
        *tier3.versus(samples, ('`lab conduct`', 'kubectl script'), "<= 0.6"),
    ]
    tier3.publish("p7-conduct", lines, write=not args.no_write)
    return {"ratio": ratio, **med}


if __name__ == "__main__":
    main()
