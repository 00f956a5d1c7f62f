"""`local-cluster build`: Debian packages, Kubernetes from Debian's source package, local images.

Why from source: no registry but Debian's and PyPI is reachable, and Debian ships Kubernetes
1.20 only as source (with vendored dependencies). Binaries and images are cached under
`$LAB_ENVTEST_DIR` and rebuilt only when missing, so the ~6 minute build happens once per
machine. See docs/local-cluster.md and REFERENCE.md section 3.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from . import aptsources, images, paths
from .proc import ClusterError, log, run

# Needed to build (golang, reflect2 source, C toolchain for the pause binary, dpkg-source)
# and to run the cluster (runtime, CNI, etcd, netfilter tools, relay, namespace tools).
PACKAGES = (
    "golang-go",
    "golang-github-modern-go-reflect2-dev",
    "gcc",
    "libc6-dev",
    "make",
    "rsync",
    "dpkg-dev",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "etcd-server",
    "iptables",
    "conntrack",
    "socat",
    "iproute2",
    "util-linux",
    "openssl",
    "procps",
)

REFLECT2_SOURCE = Path("/usr/share/gocode/src/github.com/modern-go/reflect2")
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def _missing_packages(names: tuple[str, ...]) -> list[str]:
    missing = []
    for name in names:
        result = run(["dpkg-query", "-W", "-f=${Status}", name], check=False)
        if result.returncode != 0 or "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


def ensure_packages(names: tuple[str, ...] = PACKAGES) -> None:
    """Install what is missing; never let a package's maintainer script start a daemon.

    etcd-server and containerd ship init scripts that would otherwise start on the host's
    network; a temporary policy-rc.d (exit 101 = action forbidden) prevents that.
    """
    missing = _missing_packages(names)
    if not missing:
        return
    log(f"installing Debian packages: {' '.join(missing)}")
    run(["apt-get", "update", "-q"], timeout=600)
    created_policy = not POLICY_RC_D.exists()
    if created_policy:
        POLICY_RC_D.write_text("#!/bin/sh\n# temporary, illm-lab local-cluster build\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            env={"DEBIAN_FRONTEND": "noninteractive"},
            timeout=1200,
        )
    finally:
        if created_policy:
            POLICY_RC_D.unlink(missing_ok=True)


def enable_deb_src() -> None:
    """Add deb-src entries derived from the configured deb entries (once)."""
    text = aptsources.deb_src_stanzas(
        aptsources.configured_entries(), aptsources.release_codename()
    )
    if text is None:
        return
    target = aptsources.SOURCES_FILE
    if target.exists() and target.read_text() == text:
        return
    log(f"enabling source indexes in {target}")
    target.write_text(text)
    run(["apt-get", "update", "-q"], timeout=600)


def fetch_source(workdir: Path) -> Path:
    """Download Debian's kubernetes source package and unpack it (patches applied)."""
    downloads = workdir / "download"
    downloads.mkdir(parents=True, exist_ok=True)
    if not list(downloads.glob("kubernetes_*.dsc")):
        log("downloading Debian's kubernetes source package")
        run(["apt-get", "source", "--download-only", "kubernetes"], cwd=downloads, timeout=900)
    dsc = sorted(downloads.glob("kubernetes_*.dsc"))[-1]
    tree = workdir / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    run(["dpkg-source", "--no-check", "-x", dsc.name, str(tree)], cwd=downloads, timeout=600)
    return tree


def source_version() -> str:
    """Version of the kubernetes source package apt would fetch (the cache key)."""
    out = run(["apt-cache", "showsrc", "kubernetes"]).stdout
    versions = [ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Version:")]
    if not versions:
        raise ClusterError("apt-cache showsrc kubernetes: no source package found")
    return versions[0]


def patch_reflect2(tree: Path) -> None:
    """Replace the vendored reflect2 1.0.1 with Debian's 1.0.2 (mandatory).

    1.0.1 reads Go runtime map internals that changed in Go 1.18: kube-apiserver then dies at
    random with SIGSEGV in reflect2.(*UnsafeMapType).UnsafeIterate.
    """
    if not (REFLECT2_SOURCE / "reflect2.go").is_file():
        raise ClusterError(f"{REFLECT2_SOURCE} missing: install golang-github-modern-go-reflect2-dev")
    vendored = tree / "vendor" / "github.com" / "modern-go" / "reflect2"
    shutil.rmtree(vendored)
    shutil.copytree(REFLECT2_SOURCE, vendored, symlinks=False)
    (vendored / "go.mod").unlink(missing_ok=True)
    (vendored / "go.sum").unlink(missing_ok=True)


def compile_binaries(tree: Path, target: Path) -> None:
    """`make WHAT=...` in GOPATH mode, as Debian's own rules do (plain go build fails)."""
    gopath = tree / ".go"
    link = gopath / "src" / "k8s.io" / "kubernetes"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(tree)
    what = " ".join(f"cmd/{name}" for name in paths.BINARIES)
    log(f"compiling {what} (about 6 minutes on 2 cores)")
    env = {
        "GOPATH": str(gopath),
        "GOCACHE": str(tree.parent / "gocache"),
        "CGO_ENABLED": "0",
        "HOME": str(tree.parent),
        "GOFLAGS": "",
        "GOTOOLCHAIN": "local",
        "PATH": "/usr/lib/go/bin:" + os.environ.get("PATH", "/usr/bin:/bin"),
    }
    run(["make", f"WHAT={what}"], cwd=tree, env=env, timeout=3600)
    target.mkdir(parents=True, exist_ok=True)
    for name in paths.BINARIES:
        built = tree / "_output" / "bin" / name
        if not built.is_file():
            raise ClusterError(f"make finished but {built} is missing")
        staged = target / f".{name}.new"
        shutil.copy2(built, staged)
        staged.replace(target / name)


def stash_pause_source(tree: Path) -> None:
    """Keep pause.c: the tree is deleted after the build, the pause image may be rebuilt."""
    target = paths.pause_source()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(tree / "build" / "pause" / "linux" / "pause.c", target)


def ensure_pause_source() -> None:
    if paths.pause_source().is_file():
        return
    enable_deb_src()
    workdir = paths.cache_dir() / "build"
    stash_pause_source(fetch_source(workdir))
    shutil.rmtree(workdir)


def binaries_present() -> bool:
    return all((paths.bin_dir() / name).is_file() for name in paths.BINARIES)


def build_kubernetes() -> None:
    bin_dir = paths.bin_dir()
    if binaries_present():
        return
    started = time.monotonic()
    enable_deb_src()
    version = source_version()
    workdir = paths.cache_dir() / "build"
    tree = fetch_source(workdir)
    patch_reflect2(tree)
    stash_pause_source(tree)
    compile_binaries(tree, bin_dir)
    manifest = {
        "kubernetes_source_version": version,
        "reflect2_patch": "golang-github-modern-go-reflect2-dev",
        "build_seconds": round(time.monotonic() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (bin_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(workdir)  # ~2 GB of tree, objects and Go build cache
    log(f"Kubernetes binaries built in {manifest['build_seconds']}s into {bin_dir}")


def build() -> None:
    """Everything `up` needs, each part only when missing."""
    if os.geteuid() != 0:
        raise ClusterError("local-cluster must run as root (it installs packages, creates netns)")
    ensure_packages()
    build_kubernetes()
    if not images.all_present():
        ensure_pause_source()
        images.build_all()
