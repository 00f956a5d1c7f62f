"""`local-cluster up`: start a single-node cluster inside a fresh network namespace.

Order and settings follow the layout measured in REFERENCE.md section 3: containerd, images,
etcd, API server (+ loopback relay), then controller-manager, scheduler, kube-proxy and
kubelet; every component runs under `nsenter --net` so it shares the host's mounts but not
its network. Everything changed on the host is recorded in the work dir's state file *before*
the change, and any failure runs `down`, so a failed start leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import build, configs, hostfs, images, network, paths, pki, teardown
from .kubeapi import Api
from .proc import ClusterError, log, run, wait_until
from .state import ACTIVE_MARKER, Process, State, alive, start_ticks

CONTEXT = "lab-local"
NODE_NAME = "lab-local-node"
START_TIMEOUT = 60.0
LOCK_FILE = Path("/run/illm-lab-local-cluster.lock")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _netns_name(workdir: Path, run_id: str) -> str:
    return f"lab-{hashlib.sha256(str(workdir).encode()).hexdigest()[:6]}-{run_id}"


class Starter:
    """Starts and watches the component processes of one cluster."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.work = Path(state.workdir)
        self.logs = self.work / "logs"
        self.logs.mkdir(exist_ok=True)

    def start(self, name: str, argv: list[str], *, in_netns: bool = True) -> None:
        full = network.in_netns(self.state.netns, *argv) if in_netns else argv
        # An interrupt between starting and recording would leave an unrecorded process
        # that `down` cannot find: hold SIGINT/SIGTERM until it is saved. The child must not
        # inherit the blocked mask (it would then ignore SIGTERM), hence the preexec_fn;
        # safe here because the start-up process runs no threads.
        held = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            with open(self.logs / f"{name}.log", "ab") as out:
                proc = subprocess.Popen(
                    full,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # runs on after `up` returns, immune to Ctrl-C
                    cwd=self.work,
                    preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, held),
                )
            ticks = start_ticks(proc.pid)
            self.state.processes[name] = Process(proc.pid, ticks or 0, argv[0], list(argv), in_netns)
            self.state.save()
            hostfs.join_cgroup(f"{self.state.cgroup_root}/system", proc.pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)

    def check_alive(self) -> str | None:
        """A message naming the first component that has exited, with its log tail."""
        for name, process in self.state.processes.items():
            if not alive(process):
                tail = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
                return f"{name} exited; last log lines:\n    " + "\n    ".join(tail)
        return None


def _previous_cluster_running(workdir: Path) -> None:
    """Refuse to start a second cluster: containerd's shim sockets live in a fixed path."""
    if not ACTIVE_MARKER.is_file():
        return
    other = Path(json.loads(ACTIVE_MARKER.read_text()).get("workdir", ""))
    previous = State.load(other) if other.is_dir() else None
    if previous is None:
        ACTIVE_MARKER.unlink(missing_ok=True)
        return
    running = [p for p in previous.processes.values() if alive(p)]
    if previous.supervisor is not None and alive(previous.supervisor):
        running.append(previous.supervisor)  # also while it is still starting
    if running:
        if other == workdir:
            raise ClusterError(f"a cluster is already running in {workdir}; run `down` first")
        raise ClusterError(
            f"another local cluster is running (work dir {other}); only one can run per "
            f"machine: `scripts/local-cluster down --workdir {other}`"
        )
    log(f"cleaning up the stopped cluster left in {other}")
    teardown.down(other)


def up(workdir: Path, supervisor_pid: int | None = None) -> dict[str, Any]:
    if sys.platform != "linux":
        raise ClusterError("the local cluster needs Linux")
    if os.geteuid() != 0:
        raise ClusterError("the local cluster needs root (network namespaces, mounts, cgroups)")
    build.build()
    workdir = workdir.resolve()
    # Check-and-claim under a lock, so two concurrent `up`s cannot both pass the check.
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _previous_cluster_running(workdir)
        if State.load(workdir) is not None:
            teardown.down(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(0o700)
        run_id = secrets.token_hex(3)
        state = State(workdir=str(workdir), run_id=run_id)
        state.netns = _netns_name(workdir, run_id)
        if supervisor_pid is not None:
            ticks = start_ticks(supervisor_pid) or 0
            state.supervisor = Process(supervisor_pid, ticks, "local-cluster")
        state.save()
        ACTIVE_MARKER.write_text(json.dumps({"workdir": str(workdir)}) + "\n")
    started = time.monotonic()
    try:
        info = _start(state, started)
    except BaseException as exc:  # also KeyboardInterrupt: never leave a half-started cluster
        log(f"start failed ({exc.__class__.__name__}); tearing down")
        try:
            teardown.down(workdir)
        except ClusterError as cleanup_error:
            log(f"teardown after failed start also failed: {cleanup_error}")
        raise
    return info


def _start(state: State, started: float) -> dict[str, Any]:
    work = Path(state.workdir)
    # 1. Record host state before anything changes it.
    state.sysctls = hostfs.read_sysctls()
    for path in hostfs.HOST_PATHS:
        entries = hostfs.existing_entries(path)
        if entries is None and not Path(path).exists():
            state.host_paths_created.append(path)
        elif entries is not None:
            state.host_dir_entries[path] = entries
    layout = network.choose_layout()
    state.layout = dict(layout.__dict__)
    state.api_port = _free_port()
    state.node_name = NODE_NAME
    state.cgroup_root = f"/illm-lab-{state.run_id}"
    state.save()

    # 2. Certificates, kubeconfigs and component configuration.
    pki_dir = work / "pki"
    ca = pki.make_ca(pki_dir)
    server = f"https://127.0.0.1:{state.api_port}"
    apiserver_cert = pki.issue(
        ca, pki_dir, "apiserver", common_name="kube-apiserver", server=True,
        sans=[
            "IP:127.0.0.1", f"IP:{layout.node_ip}", f"IP:{layout.api_service_ip}",
            "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
        ],
    )
    clients = {
        "admin": ("lab-admin", "system:masters"),
        "controller-manager": ("system:kube-controller-manager", None),
        "scheduler": ("system:kube-scheduler", None),
        "kube-proxy": ("system:kube-proxy", "system:node-proxier"),
        "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
        "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    }
    certs = {
        name: pki.issue(ca, pki_dir, name, common_name=cn, organization=org)
        for name, (cn, org) in clients.items()
    }
    sa = pki.service_account_keys(pki_dir)
    kubeconfigs = work / "kubeconfigs"
    kubeconfigs.mkdir(exist_ok=True)
    for name in ("controller-manager", "scheduler", "kube-proxy", "kubelet"):
        configs.kubeconfig(
            kubeconfigs / f"{name}.kubeconfig", server=server, ca=ca, client=certs[name],
            context=CONTEXT, user=name,
        )
    containerd_dir = work / "containerd"
    containerd_dir.mkdir(exist_ok=True)
    (containerd_dir / "config.toml").write_text(configs.containerd_toml(work, images.PAUSE))
    (work / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
    (work / "cni" / "net.d" / "10-lab.conflist").write_text(configs.cni_conflist(work, layout))
    (work / "resolv.conf").write_text(f"nameserver {layout.node_ip}\n")
    (work / "volume-plugins").mkdir(exist_ok=True)
    (work / "kubelet.json").write_text(
        configs.kubelet_config(work, layout, ca, state.cgroup_root)
    )

    # 3. Namespace and cgroups (recorded first, so `down` removes them even if this fails).
    state.run_netns_mount_created = not network.run_netns_is_mount()
    state.netns_entries_before = network.netns_entries()
    state.netns_created = True
    state.save()
    network.create(state.netns, layout)
    state.cgroups_created = [
        f"{h}{state.cgroup_root}" for h in hostfs.cgroup_hierarchies()
        if not (h / state.cgroup_root.strip("/")).exists()
    ]
    state.save()
    hostfs.create_cgroup(state.cgroup_root)
    hostfs.create_cgroup(f"{state.cgroup_root}/system")

    starter = Starter(state)
    bins = paths.bin_dir()

    # 4. containerd, then the images (no registry: imported from the cache).
    sock = containerd_dir / "containerd.sock"
    starter.start("containerd", ["containerd", "--config", str(containerd_dir / "config.toml")])
    wait_until(
        "containerd",
        lambda: sock.exists()
        and run(["ctr", "--address", str(sock), "version"], check=False).returncode == 0,
        timeout=START_TIMEOUT, alive=starter.check_alive,
    )
    for image in images.IMAGES.values():
        run(["ctr", "--address", str(sock), "-n", "k8s.io", "images", "import",
             str(images.archive_path(image))], timeout=120)
    log(f"containerd up, images imported ({time.monotonic() - started:.1f}s)")

    # 5. etcd and the API server, reachable from the host through the loopback relay.
    starter.start("etcd", [
        "etcd", "--name", "lab", "--data-dir", str(work / "etcd"),
        "--listen-client-urls", "http://127.0.0.1:2379",
        "--advertise-client-urls", "http://127.0.0.1:2379",
        "--listen-peer-urls", "http://127.0.0.1:2380",
        "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "lab=http://127.0.0.1:2380",
        "--listen-metrics-urls", "http://127.0.0.1:2381",
        "--logger", "zap", "--log-level", "warn",
    ])
    starter.start("kube-apiserver", [
        str(bins / "kube-apiserver"),
        "--etcd-servers", "http://127.0.0.1:2379",
        "--bind-address", "0.0.0.0",
        "--secure-port", str(state.api_port),
        "--advertise-address", layout.node_ip,
        "--cert-dir", str(pki_dir / "apiserver-generated"),
        "--tls-cert-file", str(apiserver_cert.cert),
        "--tls-private-key-file", str(apiserver_cert.key),
        "--client-ca-file", str(ca.cert),
        "--service-account-key-file", str(sa.cert),
        "--service-account-signing-key-file", str(sa.key),
        "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range", layout.service_cidr,
        "--authorization-mode", "Node,RBAC",
        "--enable-admission-plugins", "NodeRestriction",
        "--kubelet-client-certificate", str(certs["apiserver-kubelet-client"].cert),
        "--kubelet-client-key", str(certs["apiserver-kubelet-client"].key),
        # Without it, logs/exec resolve the node's hostname, which no DNS knows.
        "--kubelet-preferred-address-types", "InternalIP",
        "--allow-privileged=true",
        "--profiling=false",
        "--v", "1",
    ])
    relay = work / "api.sock"
    relay.unlink(missing_ok=True)
    starter.start("relay-netns", [
        "socat", f"UNIX-LISTEN:{relay},fork,mode=600", f"TCP:127.0.0.1:{state.api_port}",
    ])
    starter.start("relay-host", [
        "socat", f"TCP-LISTEN:{state.api_port},bind=127.0.0.1,reuseaddr,fork",
        f"UNIX-CONNECT:{relay}",
    ], in_netns=False)
    admin = certs["admin"]
    api = Api("127.0.0.1", state.api_port, str(ca.cert), str(admin.cert), str(admin.key))
    wait_until("the API server (/readyz)", api.healthy, timeout=START_TIMEOUT,
               interval=0.2, alive=starter.check_alive)
    log(f"API server ready ({time.monotonic() - started:.1f}s)")

    # 6. Controllers and the node.
    kc = kubeconfigs
    starter.start("kube-controller-manager", [
        str(bins / "kube-controller-manager"),
        "--kubeconfig", str(kc / "controller-manager.kubeconfig"),
        "--leader-elect=false",
        "--bind-address", "127.0.0.1",
        "--port", "0",
        "--service-account-private-key-file", str(sa.key),
        "--root-ca-file", str(ca.cert),
        "--cluster-signing-cert-file", str(ca.cert),
        "--cluster-signing-key-file", str(ca.key),
        "--use-service-account-credentials=true",
        "--service-cluster-ip-range", layout.service_cidr,
        "--cluster-name", CONTEXT,
        "--v", "1",
    ])
    starter.start("kube-scheduler", [
        str(bins / "kube-scheduler"),
        "--kubeconfig", str(kc / "scheduler.kubeconfig"),
        "--leader-elect=false",
        "--bind-address", "127.0.0.1",
        "--port", "0",
        "--v", "1",
    ])
    starter.start("kube-proxy", [
        str(bins / "kube-proxy"),
        "--kubeconfig", str(kc / "kube-proxy.kubeconfig"),
        "--proxy-mode", "iptables",
        "--hostname-override", NODE_NAME,
        "--cluster-cidr", layout.pod_cidr,
        # nf_conntrack_max and the TCP timeouts are global, not per namespace: leave them.
        "--conntrack-max-per-core", "0",
        "--conntrack-tcp-timeout-established", "0",
        "--conntrack-tcp-timeout-close-wait", "0",
        "--nodeport-addresses", f"{layout.node_ip}/32",
        "--metrics-bind-address", "127.0.0.1:10249",
        "--healthz-bind-address", "127.0.0.1:10256",
        "--v", "1",
    ])
    starter.start("cluster-dns", [
        sys.executable, str(Path(__file__).resolve().parent.parent / "local-cluster"),
        "_dns", "--workdir", str(work),
    ])
    starter.start("kubelet", [
        str(bins / "kubelet"),
        "--config", str(work / "kubelet.json"),
        "--kubeconfig", str(kc / "kubelet.kubeconfig"),
        "--container-runtime", "remote",
        "--container-runtime-endpoint", f"unix://{sock}",
        "--node-ip", layout.node_ip,
        "--hostname-override", NODE_NAME,
        "--root-dir", str(work / "kubelet"),
        "--cert-dir", str(work / "kubelet" / "pki"),
        "--v", "1",
    ])

    # 7. Ready when the node is Ready and pods can get service account tokens.
    _wait_ready(api, starter, state)
    status, version = api.request("GET", "/version")
    state.kubernetes_version = version.get("gitVersion", "") if status == 200 else ""
    kubeconfig = work / "kubeconfig"
    configs.kubeconfig(kubeconfig, server=server, ca=ca, client=admin, context=CONTEXT,
                       user="lab-admin")
    state.phase = "running"
    state.save()
    seconds = round(time.monotonic() - started, 1)
    log(f"cluster ready in {seconds}s: KUBECONFIG={kubeconfig}")
    return {
        "kubeconfig": str(kubeconfig),
        "context": CONTEXT,
        "node_ip": layout.node_ip,
        "node_name": NODE_NAME,
        "api_server": server,
        "kubernetes_version": state.kubernetes_version,
        "images": dict(images.IMAGES),
        "pod_cidr": layout.pod_cidr,
        "service_cidr": layout.service_cidr,
        "workdir": str(work),
        "startup_seconds": seconds,
    }


def _node_ready(node: dict[str, Any]) -> bool:
    for condition in node.get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def _wait_ready(api: Api, starter: Starter, state: State) -> None:
    """Watch for the Node and the ServiceAccount in 2 s slices, checking between slices
    that no component has died (a crash then fails in seconds, not at the deadline)."""
    deadline = time.monotonic() + START_TIMEOUT
    waits = [
        (
            f"Node {state.node_name} to be Ready",
            f"/api/v1/nodes?fieldSelector=metadata.name%3D{state.node_name}",
            _node_ready,
        ),
        (
            "the default ServiceAccount in namespace default",
            "/api/v1/namespaces/default/serviceaccounts?fieldSelector=metadata.name%3Ddefault",
            lambda _sa: True,
        ),
    ]
    for what, path, condition in waits:
        while True:
            problem = starter.check_alive()
            if problem:
                raise ClusterError(problem)
            remaining = deadline - time.monotonic()
            try:
                api.wait_for(what, path, condition, timeout=max(1.0, min(2.0, remaining)))
                break
            except ClusterError:
                if remaining <= 2.0:
                    raise
