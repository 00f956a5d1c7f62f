"""Local single-layer OCI image archives: pause, labapp (podinfo-compatible), prometheus.

No registry is reachable, so images are assembled from files this machine already has
(a static pause binary compiled from the Kubernetes tree, Debian's busybox-static and
prometheus packages, fetched with `apt-get download` and unpacked with `dpkg-deb -x`, so
nothing is installed or started on the host). The OCI layout is written by hand with
tarfile: one uncompressed layer, a config and a manifest, named through the
`io.containerd.image.name` annotation that `ctr images import` reads. Written
deterministically (fixed mtimes, sorted entries), so identical inputs give identical digests.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .proc import ClusterError, log, run

MTIME = 1_700_000_000
NOBODY = 65534
LABAPP_FILES = Path(__file__).resolve().parent / "labapp"

PAUSE = "lab.local/pause:1"
APP = "lab.local/labapp:1"
PROMETHEUS = "lab.local/prometheus:1"
IMAGES = {"pause": PAUSE, "app": APP, "prometheus": PROMETHEUS}

PROMETHEUS_CONFIG = """\
# Default config of lab.local/prometheus:1; mount a ConfigMap over /etc/prometheus to replace it.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
"""


def _labapp_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(LABAPP_FILES.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def archive_path(image: str) -> Path:
    """Cache file of an image; the labapp's name carries a digest of its scripts."""
    name = image.split("/")[-1].replace(":", "_")
    if image == APP:
        name += f"-{_labapp_digest()}"
    return paths.images_dir() / f"{name}.oci.tar"


def all_present() -> bool:
    return all(archive_path(image).is_file() for image in IMAGES.values())


@dataclass
class Layer:
    """Files of one image layer: image path -> (kind, payload, mode, uid, gid)."""

    entries: dict[str, tuple[str, bytes | str | None, int, int, int]] = field(default_factory=dict)

    def directory(self, path: str, mode: int = 0o755, owner: int = 0) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub not in self.entries or i == len(parts):
                self.entries[sub] = ("dir", None, mode if i == len(parts) else 0o755, owner, owner)

    def _parent(self, path: str) -> str:
        path = path.strip("/")
        parent = path.rpartition("/")[0]
        if parent and parent not in self.entries:
            self.directory(parent)
        return path

    def file(self, path: str, data: bytes, mode: int = 0o644, owner: int = 0) -> None:
        self.entries[self._parent(path)] = ("file", data, mode, owner, owner)

    def copy(self, path: str, source: Path, mode: int | None = None) -> None:
        real = source.resolve()
        self.file(path, real.read_bytes(), mode if mode is not None else real.stat().st_mode & 0o777)

    def symlink(self, path: str, target: str) -> None:
        self.entries[self._parent(path)] = ("symlink", target, 0o777, 0, 0)

    def write(self, out: io.BufferedIOBase) -> None:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(self.entries):
                kind, payload, mode, uid, gid = self.entries[name]
                info = tarfile.TarInfo(name)
                info.mtime, info.mode, info.uid, info.gid = MTIME, mode, uid, gid
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = str(payload)
                    tar.addfile(info)
                else:
                    assert isinstance(payload, bytes)
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))


def _blob(tar: tarfile.TarFile, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size, info.mtime, info.mode = len(data), MTIME, 0o644
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}", len(data)


def write_image(
    image: str,
    layer: Layer,
    *,
    entrypoint: list[str],
    cmd: list[str] | None = None,
    env: list[str] | None = None,
    user: str = "",
    workdir: str = "/",
    ports: list[int] | None = None,
) -> Path:
    """Write `image` as an OCI archive into the cache (atomically) and return its path."""
    target = archive_path(image)
    target.parent.mkdir(parents=True, exist_ok=True)
    layer_bytes = io.BytesIO()
    layer.write(layer_bytes)
    layer_data = layer_bytes.getvalue()
    layer_digest = "sha256:" + hashlib.sha256(layer_data).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Entrypoint": entrypoint,
            "Cmd": cmd or [],
            "Env": env or ["PATH=/usr/local/bin:/usr/bin:/bin"],
            "User": user,
            "WorkingDir": workdir,
            "ExposedPorts": {f"{p}/tcp": {} for p in ports or []},
            "Labels": {"org.opencontainers.image.source": "illm-lab scripts/local-cluster"},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "illm-lab local-cluster"}],
    }
    staged = target.with_suffix(".partial")
    with tarfile.open(staged, mode="w", format=tarfile.PAX_FORMAT) as tar:
        layout = json.dumps({"imageLayoutVersion": "1.0.0"}).encode()
        info = tarfile.TarInfo("oci-layout")
        info.size, info.mtime = len(layout), MTIME
        tar.addfile(info, io.BytesIO(layout))
        layer_ref = _blob(tar, layer_data)
        config_ref = _blob(tar, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_ref[0],
                "size": config_ref[1],
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_ref[0],
                    "size": layer_ref[1],
                }
            ],
        }
        manifest_ref = _blob(tar, json.dumps(manifest, sort_keys=True).encode())
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_ref[0],
                    "size": manifest_ref[1],
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": image,
                        "org.opencontainers.image.ref.name": image.rsplit(":", 1)[1],
                    },
                }
            ],
        }
        index_data = json.dumps(index, sort_keys=True).encode()
        info = tarfile.TarInfo("index.json")
        info.size, info.mtime = len(index_data), MTIME
        tar.addfile(info, io.BytesIO(index_data))
    staged.replace(target)
    return target


def _base_files(layer: Layer) -> None:
    layer.directory("etc")
    layer.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    layer.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    layer.directory("tmp", mode=0o1777)


def _debian_payload(package: str, into: Path) -> Path:
    """Unpack a Debian binary package without installing it; return the unpacked root."""
    into.mkdir(parents=True, exist_ok=True)
    run(["apt-get", "download", package], cwd=into, timeout=600)
    debs = sorted(into.glob(f"{package}_*.deb"))
    if not debs:
        raise ClusterError(f"apt-get download {package} produced no .deb")
    root = into / f"{package}-root"
    run(["dpkg-deb", "-x", str(debs[-1]), str(root)])
    return root


def build_pause(scratch: Path) -> None:
    source = paths.pause_source()
    binary = scratch / "pause"
    run(["gcc", "-Os", "-static", "-Wall", "-DVERSION=v3.4-lab", "-o", str(binary), str(source)])
    run(["strip", str(binary)], check=False)
    layer = Layer()
    layer.copy("pause", binary, mode=0o755)
    write_image(PAUSE, layer, entrypoint=["/pause"], user="65535:65535")


def build_labapp(busybox_root: Path) -> None:
    busybox = busybox_root / "bin" / "busybox"
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    layer = Layer()
    _base_files(layer)
    layer.copy("bin/busybox", busybox, mode=0o755)
    for applet in applets:
        if applet != "busybox":
            layer.symlink(f"bin/{applet}", "busybox")
    for name in ("serve", "handle"):
        layer.copy(f"labapp/{name}", LABAPP_FILES / name, mode=0o755)
    layer.directory("home/app", owner=NOBODY)
    layer.copy("home/app/podinfo", LABAPP_FILES / "podinfo", mode=0o755)
    layer.directory("data", mode=0o777)
    write_image(
        APP,
        layer,
        entrypoint=["/labapp/serve"],
        env=["PATH=/bin"],
        user=f"{NOBODY}:{NOBODY}",
        workdir="/home/app",
        ports=[9898],
    )


def _shared_libraries(binary: Path) -> list[Path]:
    result = run(["ldd", str(binary)], check=False)
    if "not a dynamic executable" in result.stdout or "statically linked" in result.stdout:
        return []
    libs = []
    for line in result.stdout.splitlines():
        parts = line.split()
        candidates = [p for p in parts if p.startswith("/")]
        if candidates:
            libs.append(Path(candidates[0]))
    return libs


def build_prometheus(prometheus_root: Path) -> None:
    binary = prometheus_root / "usr" / "bin" / "prometheus"
    layer = Layer()
    _base_files(layer)
    layer.copy("bin/prometheus", binary, mode=0o755)
    layer.copy("bin/promtool", prometheus_root / "usr" / "bin" / "promtool", mode=0o755)
    for lib in _shared_libraries(binary):
        layer.copy(str(lib), lib, mode=0o755)
    layer.file("etc/prometheus/prometheus.yml", PROMETHEUS_CONFIG.encode())
    layer.directory("prometheus", mode=0o775, owner=NOBODY)
    write_image(
        PROMETHEUS,
        layer,
        entrypoint=["/bin/prometheus"],
        cmd=[
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--web.listen-address=:9090",
        ],
        env=["PATH=/bin"],
        user=f"{NOBODY}:{NOBODY}",
        workdir="/prometheus",
        ports=[9090],
    )


def build_all() -> None:
    """Build the images that are missing from the cache."""
    with tempfile.TemporaryDirectory(prefix="lab-images-") as tmp:
        scratch = Path(tmp)
        if not archive_path(PAUSE).is_file():
            log(f"building {PAUSE}")
            build_pause(scratch)
        if not archive_path(APP).is_file():
            log(f"building {APP}")
            build_labapp(_debian_payload("busybox-static", scratch / "busybox"))
        if not archive_path(PROMETHEUS).is_file():
            log(f"building {PROMETHEUS}")
            build_prometheus(_debian_payload("prometheus", scratch / "prometheus"))
