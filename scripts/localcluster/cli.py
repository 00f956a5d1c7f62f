"""Command line of `scripts/local-cluster` (argparse: the script needs only the stdlib)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import build, components, dns, paths, supervisor, teardown
from .proc import ClusterError
from .state import State, alive


def _status(workdir: Path) -> dict[str, object]:
    state = State.load(workdir.resolve())
    if state is None:
        return {"workdir": str(workdir), "phase": "absent"}
    return {
        "workdir": state.workdir,
        "phase": state.phase,
        "netns": state.netns,
        "node_ip": state.layout.get("node_ip"),
        "api_server": f"https://127.0.0.1:{state.api_port}" if state.api_port else None,
        "kubeconfig": str(Path(state.workdir) / "kubeconfig"),
        "kubernetes_version": state.kubernetes_version,
        "processes": {name: alive(p) for name, p in state.processes.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="local-cluster",
        description="Tier-3 test cluster: single-node Kubernetes from Debian's sources, "
        "running real pods inside a network namespace (see docs/local-cluster.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="install packages, build binaries and images (cached)")
    for name, text in (
        ("up", "start a cluster and print a JSON line describing it"),
        ("down", "tear the cluster down completely (idempotent)"),
        ("status", "print the cluster's state as JSON"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument(
            "--workdir", type=Path, default=paths.default_workdir(),
            help=f"cluster work dir (default {paths.default_workdir()}, "
            "or $LAB_LOCAL_CLUSTER_DIR)",
        )
    for name, text in (
        ("stop", "stop one component of a running cluster (a real fault for tests)"),
        ("start", "start a stopped component again, with its first arguments"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("component", help="e.g. kube-apiserver, kubelet (see `status`)")
        command.add_argument("--workdir", type=Path, default=paths.default_workdir())
        if name == "stop":
            command.add_argument("--kill", action="store_true", help="SIGKILL, not SIGTERM")
    dns_command = sub.add_parser("_dns", help=argparse.SUPPRESS)  # run by `up` in the netns
    dns_command.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "_dns":
        loaded = State.load(args.workdir.resolve())
        if loaded is None:
            return 1
        dns.serve(loaded.layout["node_ip"], 53, loaded.api_port, args.workdir / "pki")
        return 0
    try:
        if args.command == "build":
            build.build()
            print(json.dumps({"cache": str(paths.cache_dir())}))
        elif args.command == "up":
            return supervisor.up(args.workdir)
        elif args.command in ("stop", "start"):
            if args.command == "stop":
                done = components.stop(args.workdir, args.component, kill=args.kill)
            else:
                done = components.start(args.workdir, args.component)
            print(json.dumps(done))
        elif args.command == "down":
            teardown.down(args.workdir)
        else:
            print(json.dumps(_status(args.workdir)))
    except ClusterError as exc:
        print(f"local-cluster: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("local-cluster: interrupted", file=sys.stderr)
        return 130
    return 0
