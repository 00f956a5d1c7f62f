"""Fake `talosctl`, `kind` and `docker` on a temporary PATH, for the cluster providers and the hub.

Each fake is a Python script (run by this interpreter, no shell) that appends its argv to its own
record file and keeps what it "created" in one shared JSON file (the world), so talosctl's
half-created clusters show up as docker containers, and `kind get clusters` lists what `kind
create` made. Instead of starting nodes, a create writes a kubeconfig that points at the test API
server (the emulator's kubeconfig with the context renamed the way the real tool names it), so
everything after the create — apply, checks, teardown — runs for real against tier 2.

`Fakes.fail(tool, step)` makes a step fail the way the real tool would mid-way: `talosctl cluster
create` leaves its state folder and a labelled container behind; `kind create cluster` fails.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.fakebin import calls, find_real_helm, write_script

_COMMON = """\
import yaml
WORLD = {world!r}
SOURCE = {source!r}
FAIL = {fail!r}

def load():
    try:
        with open(WORLD) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {{"talos": {{}}, "kind": [], "containers": {{}}, "configured": [], "bootstrapped": []}}

def save(world):
    with open(WORLD, "w") as fh:
        json.dump(world, fh)

def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default

def write_kubeconfig(path, context):
    with open(SOURCE) as fh:
        config = yaml.safe_load(fh)
    config["contexts"][0]["name"] = context
    config["current-context"] = context
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fh:
        yaml.safe_dump(config, fh)
"""

_TALOSCTL = """\
world = load()
if args[:3] == ["version", "--client", "--short"]:
    print("Client:\\n\\tTalos " + VERSION)
    sys.exit(0)
if args[:2] == ["cluster", "create"]:
    name, state = opt("--name"), opt("--state")
    talosconfig = opt("--talosconfig") or opt("--talosconfig-destination")
    os.makedirs(os.path.join(state, name), exist_ok=True)
    world["containers"][name + "-controlplane-1"] = {"talos.cluster.name": name}
    save(world)
    if FAIL == "create":
        sys.stderr.write("creating controlplane nodes\\nerror: failed to start container: no space left\\n")
        sys.exit(1)
    with open(talosconfig, "w") as fh:
        fh.write("context: " + name + "\\n")
    if "docker" in args[:3]:  # 1.12 merges into $KUBECONFIG, which lab points at its own file
        write_kubeconfig(os.environ["KUBECONFIG"], "admin@" + name)
    world["talos"][name] = {"state": state, "cidr": opt("--cidr") or opt("--subnet")}
    save(world)
    sys.exit(0)
if args[:2] == ["cluster", "destroy"]:
    name, state = opt("--name"), opt("--state")
    shutil.rmtree(os.path.join(state, name), ignore_errors=True)
    world["talos"].pop(name, None)
    for cid in [c for c, labels in world["containers"].items() if labels.get("talos.cluster.name") == name]:
        del world["containers"][cid]
    save(world)
    sys.exit(0)
if args[:2] == ["gen", "config"]:
    out = opt("--output-dir")
    os.makedirs(out, exist_ok=True)
    for f in ("controlplane.yaml", "worker.yaml"):
        with open(os.path.join(out, f), "w") as fh:
            fh.write("machine: {}\\n")
    with open(os.path.join(out, "talosconfig"), "w") as fh:
        fh.write("context: " + args[2] + "\\n")
    sys.exit(0)
if args[:1] == ["apply-config"]:
    world["configured"].append(opt("--nodes"))
    save(world)
    sys.exit(0)
talosconfig = opt("--talosconfig")
rest = args[2:] if args[:1] == ["--talosconfig"] else args
if rest[:1] == ["version"]:
    if opt("--nodes") in world["configured"]:
        print("Server: Talos " + VERSION)
        sys.exit(0)
    sys.exit("error: rpc error: code = Unavailable (maintenance mode)")
if rest[:1] == ["kubeconfig"]:
    with open(talosconfig) as fh:
        name = fh.read().split(":", 1)[1].strip()
    write_kubeconfig(rest[1], "admin@" + name)
    sys.exit(0)
if rest[:2] == ["config", "endpoints"]:
    sys.exit(0)
if rest[:2] == ["service", "etcd"]:
    state = "Running" if opt("--nodes") in world["bootstrapped"] else "Preparing"
    print("NODE     " + opt("--nodes") + "\\nID       etcd\\nSTATE    " + state)
    sys.exit(0)
if rest[:1] == ["bootstrap"]:
    if opt("--nodes") in world["bootstrapped"]:
        sys.exit("error: rpc error: code = AlreadyExists desc = etcd data directory is not empty")
    world["bootstrapped"].append(opt("--nodes"))
    save(world)
    sys.exit(0)
if rest[:1] == ["health"]:
    sys.exit(0)
if rest[:1] == ["reset"]:
    node = opt("--nodes")
    world["configured"] = [n for n in world["configured"] if n != node]
    world["bootstrapped"] = [n for n in world["bootstrapped"] if n != node]
    save(world)
    sys.exit(0)
sys.exit("fake talosctl: unexpected arguments " + " ".join(args))
"""

_KIND = """\
world = load()
if args[:2] == ["create", "cluster"]:
    name = opt("--name")
    world["containers"][name + "-control-plane"] = {"io.x-k8s.kind.cluster": name}
    save(world)
    if FAIL == "create":
        sys.exit("ERROR: failed to create cluster: could not find a log line that matches")
    world["kind"].append(name)
    save(world)
    write_kubeconfig(opt("--kubeconfig"), "kind-" + name)
    sys.exit(0)
if args[:2] == ["get", "clusters"]:
    names = sorted(set(world["kind"]) | {l["io.x-k8s.kind.cluster"] for l in world["containers"].values()
                                         if "io.x-k8s.kind.cluster" in l})
    if not names:
        sys.stderr.write("No kind clusters found.\\n")
    print("\\n".join(names))
    sys.exit(0)
if args[:2] == ["get", "kubeconfig"]:
    import io
    write_kubeconfig(WORLD + ".kubeconfig", "kind-" + opt("--name"))
    sys.stdout.write(open(WORLD + ".kubeconfig").read())
    sys.exit(0)
if args[:2] == ["delete", "cluster"]:
    name = opt("--name")
    world["kind"] = [n for n in world["kind"] if n != name]
    for cid in [c for c, l in world["containers"].items() if l.get("io.x-k8s.kind.cluster") == name]:
        del world["containers"][cid]
    save(world)
    sys.exit(0)
sys.exit("fake kind: unexpected arguments " + " ".join(args))
"""

_DOCKER = """\
world = load()
if args[:1] == ["info"]:
    if not DAEMON:
        sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
    print("28.2.2")
    sys.exit(0)
if not DAEMON:
    sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
def labelled():
    want = opt("--filter", "label=").split("=", 1)[1]
    key, _, value = want.partition("=")
    return [c for c, labels in world["containers"].items() if labels.get(key) == value]
if args[:2] == ["ps", "-aq"]:
    print("\\n".join(labelled()))
    sys.exit(0)
if args[:3] == ["network", "ls", "-q"]:
    sys.exit(0)  # no networks: talos clusters here only ever leave containers behind
if args[:2] == ["rm", "-f"]:
    for cid in args[3:]:
        world["containers"].pop(cid, None)
    save(world)
    sys.exit(0)
if args[:2] == ["network", "rm"]:
    sys.exit(0)
sys.exit("fake docker: unexpected arguments " + " ".join(args))
"""


@dataclass
class Fakes:
    """The fakes of one test: `bindir` is the whole PATH (plus the real helm, linked in)."""

    bindir: Path
    source_kubeconfig: Path
    talos_version: str = "v1.12.0"
    docker_daemon: bool = True
    failing: dict[str, str] = field(default_factory=dict)

    @property
    def world_file(self) -> Path:
        return self.bindir.parent / "world.json"

    def record(self, tool: str) -> Path:
        return self.bindir.parent / f"{tool}.calls"

    def calls(self, tool: str) -> list[list[str]]:
        return calls(self.record(tool))

    def world(self) -> dict[str, Any]:
        if not self.world_file.exists():
            return {"talos": {}, "kind": [], "containers": {}, "configured": [], "bootstrapped": []}
        data: dict[str, Any] = json.loads(self.world_file.read_text())
        return data

    def install(self, *tools: str) -> Fakes:
        for tool in tools or ("talosctl", "kind", "docker"):
            self._write(tool)
        return self

    def fail(self, tool: str, step: str | None) -> None:
        if step is None:
            self.failing.pop(tool, None)
        else:
            self.failing[tool] = step
        self._write(tool)

    def remove(self, tool: str) -> None:
        (self.bindir / tool).unlink(missing_ok=True)

    def _write(self, tool: str) -> None:
        common = _COMMON.format(world=str(self.world_file), source=str(self.source_kubeconfig),
                                fail=self.failing.get(tool))
        body = {"talosctl": f"VERSION = {self.talos_version!r}\n" + _TALOSCTL, "kind": _KIND,
                "docker": f"DAEMON = {self.docker_daemon!r}\n" + _DOCKER}[tool]
        write_script(self.bindir, tool, common + body, self.record(tool))


def make_fakes(tmp_path: Path, source_kubeconfig: Path, *, with_helm: bool = True) -> Fakes:
    """An empty bindir as the only PATH entry, with the real helm linked in when there is one
    (the hub renders local fixture charts with it). The caller sets PATH (monkeypatch)."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir(parents=True, exist_ok=True)
    helm = find_real_helm() if with_helm else None
    if helm is not None and not (bindir / "helm").exists():
        os.symlink(helm, bindir / "helm")
    return Fakes(bindir, source_kubeconfig)
