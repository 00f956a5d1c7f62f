"""Configuration files of the components, written as JSON (valid YAML) or TOML text.

The choices that mattered in measurement (REFERENCE.md section 3) are commented where made.
"""

from __future__ import annotations

import json
from pathlib import Path

from .network import Layout
from .pki import Pair


def kubeconfig(path: Path, *, server: str, ca: Pair, client: Pair, context: str, user: str) -> None:
    """A self-contained kubeconfig (certificates embedded), mode 0600."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": server, "certificate-authority-data": ca.cert_b64()}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": client.cert_b64(),
                    "client-key-data": client.key_b64(),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(config, indent=2) + "\n")


def containerd_toml(work: Path, sandbox_image: str) -> str:
    c = work / "containerd"
    return f"""\
version = 2
root = "{c / 'root'}"
state = "{c / 'state'}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{c / 'containerd.sock'}"

[ttrpc]
  address = "{c / 'containerd.sock.ttrpc'}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{c / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # The VM lacks CAP_SYS_RESOURCE: without this, runc fails with
  # "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroup v1 is mounted and kubelet uses the cgroupfs driver: they must agree.
        SystemdCgroup = false
        Root = "{c / 'runc'}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{work / 'cni' / 'net.d'}"
"""


def cni_conflist(work: Path, layout: Layout) -> str:
    """Bridge network; pods get a route to the cluster block only (no default route)."""
    config = {
        "cniVersion": "0.4.0",
        "name": "lab",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": layout.pod_cidr, "gateway": layout.pod_gateway}]],
                    "routes": [{"dst": layout.block, "gw": layout.pod_gateway}],
                    "dataDir": str(work / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def kubelet_config(work: Path, layout: Layout, ca: Pair, cgroup_root: str) -> str:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        # Per-run cgroup root: teardown removes exactly this subtree in every hierarchy.
        "cgroupRoot": cgroup_root,
        "failSwapOn": False,
        "address": "0.0.0.0",
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "x509": {"clientCAFile": str(ca.cert)},
            "webhook": {"enabled": False},
            "anonymous": {"enabled": False},
        },
        # Only certificates of our CA reach the kubelet, and only from inside the namespace.
        "authorization": {"mode": "AlwaysAllow"},
        "clusterDomain": "cluster.local",
        "clusterDNS": [layout.node_ip],
        "resolvConf": str(work / "resolv.conf"),
        # 1 s instead of 10 s: Node Ready 13 s instead of 22 s after start.
        "nodeStatusUpdateFrequency": "1s",
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        # Low thresholds: a test machine's disk or memory must not evict the cluster's pods,
        # and nothing can be pulled again, so images are never garbage-collected.
        "evictionHard": {
            "memory.available": "50Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "volumePluginDir": str(work / "volume-plugins"),
        "serializeImagePulls": False,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": True,
        "enforceNodeAllocatable": ["pods"],
        "maxPods": 110,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "containerLogMaxSize": "10Mi",
        "runtimeRequestTimeout": "2m",
    }
    return json.dumps(config, indent=2) + "\n"
