"""Tier 3 (local real cluster) and tier 4 (LAB_E2E_KUBECONFIG) fixtures.

`real_cluster` (session scope) is a real Kubernetes API with a node that runs pods:

* tier 4 — when `LAB_E2E_KUBECONFIG` is set, that cluster (kind in CI, Talos, cloud) is used
  as it is, with public images (overridable with `LAB_E2E_IMAGE_APP`, `..._PROMETHEUS`,
  `..._PAUSE`) and an optional `LAB_E2E_CONTEXT`;
* tier 3 — otherwise `scripts/local-cluster up` starts a single-node cluster built from
  Debian's sources in a network namespace (docs/local-cluster.md), and `down` removes it at
  the end of the session.

When neither can be had (not Linux, not root, the build fails) the tests are skipped with
the reason, or fail when `LAB_REQUIRE_CLUSTER=1` (CI sets it: a missing cluster must not
pass silently). Every test using the fixture is marked `cluster`.

The one-time build (~6 minutes on a fresh machine) runs from `pytest_collection_finish`, not
inside a test, so it does not count against per-test timeouts; starting the cluster then
takes ~15 s inside the first cluster test's setup.

Waiting for Kubernetes objects uses watches with deadlines (`watch_until`), never sleeps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local-cluster"
# Resolved at import, before the per-test fixtures point HOME at a temporary directory.
REAL_HOME = os.path.expanduser("~")
ENVTEST_DIR = os.environ.get("LAB_ENVTEST_DIR") or os.path.join(
    REAL_HOME, ".cache", "illm-lab", "envtest"
)
BUILD_TIMEOUT = 1800.0
UP_TIMEOUT = 180.0
DOWN_TIMEOUT = 180.0

E2E_IMAGES = {
    "app": "ghcr.io/stefanprodan/podinfo:6.7.1",
    "prometheus": "quay.io/prometheus/prometheus:v2.53.0",
    "pause": "registry.k8s.io/pause:3.9",
}


@dataclass(frozen=True)
class RealCluster:
    """What a test needs to talk to the cluster; never touches ~/.kube."""

    kubeconfig: Path
    context: str
    node_ip: str | None
    images: dict[str, str]
    kind: Literal["local", "e2e"]
    kubernetes_version: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def pull_policy(self) -> str:
        """Local images exist only in the node's containerd: never pull them."""
        return "Never" if self.kind == "local" else "IfNotPresent"

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context=self.context)


def _require_cluster() -> bool:
    return os.environ.get("LAB_REQUIRE_CLUSTER") == "1"


def _unavailable(reason: str) -> None:
    if _require_cluster():
        pytest.fail(f"real cluster required (LAB_REQUIRE_CLUSTER=1) but unavailable: {reason}")
    pytest.skip(f"real cluster unavailable: {reason}")


def _local_obstacle() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the local cluster needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the local cluster needs root (network namespaces, cgroups, mounts)"
    if shutil.which("apt-get") is None:
        return "the local cluster is built from Debian packages; apt-get not found"
    return None


def _script_env() -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = REAL_HOME
    env["LAB_ENVTEST_DIR"] = ENVTEST_DIR
    env.pop("KUBECONFIG", None)
    return env


def _run_script(
    args: list[str], timeout: float, *, show_progress: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the script; its progress (stderr) goes to the terminal when `show_progress`."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=_script_env(),
        stdout=subprocess.PIPE,
        stderr=None if show_progress else subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


_build_problem: str | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the fixture `cluster` (before -m deselects)."""
    for item in items:
        if "real_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the local cluster's binaries and images once, outside any test's timeout."""
    global _build_problem
    needs_local = any("real_cluster" in getattr(i, "fixturenames", ()) for i in session.items)
    if not needs_local or os.environ.get("LAB_E2E_KUBECONFIG") or _local_obstacle():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"local-cluster: ensuring the tier-3 build in {ENVTEST_DIR}")
    try:
        result = _run_script(["build"], timeout=BUILD_TIMEOUT, show_progress=True)
    except subprocess.TimeoutExpired:
        _build_problem = f"`local-cluster build` took longer than {BUILD_TIMEOUT:.0f}s"
        return
    if result.returncode != 0:
        _build_problem = "`local-cluster build` failed (its output is above the test results)"


def _e2e_cluster(kubeconfig: str) -> RealCluster:
    from kubernetes import client, config

    path = Path(kubeconfig).expanduser()
    if not path.is_file():
        _unavailable(f"LAB_E2E_KUBECONFIG={kubeconfig} does not exist")
    _contexts, current = config.list_kube_config_contexts(config_file=str(path))
    context = os.environ.get("LAB_E2E_CONTEXT") or current["name"]
    images = {
        key: os.environ.get(f"LAB_E2E_IMAGE_{key.upper()}", default)
        for key, default in E2E_IMAGES.items()
    }
    api = config.new_client_from_config(config_file=str(path), context=context)
    try:
        version = client.VersionApi(api).get_code(_request_timeout=10).git_version
        nodes = client.CoreV1Api(api).list_node(_request_timeout=10).items
    except Exception as exc:  # any failure to reach the cluster means: unavailable
        _unavailable(f"cannot reach the cluster of LAB_E2E_KUBECONFIG ({context}): {exc}")
    finally:
        api.close()
    addresses = (nodes[0].status.addresses or []) if nodes else []
    node_ip = next((a.address for a in addresses if a.type == "InternalIP"), None)
    return RealCluster(path, context, node_ip, images, "e2e", version)


@pytest.fixture(scope="session")
def real_cluster(request: pytest.FixtureRequest) -> Iterator[RealCluster]:
    e2e = os.environ.get("LAB_E2E_KUBECONFIG")
    if e2e:
        yield _e2e_cluster(e2e)
        return
    obstacle = _local_obstacle() or _build_problem
    if obstacle:
        _unavailable(obstacle)
    workdir = Path(tempfile.mkdtemp(prefix="lab-cluster-", dir="/tmp"))
    try:
        result = _run_script(["up", "--workdir", str(workdir)], timeout=UP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _run_script(["down", "--workdir", str(workdir)], timeout=DOWN_TIMEOUT)
        _unavailable(f"`local-cluster up` took longer than {UP_TIMEOUT:.0f}s")
    if result.returncode != 0:
        logs = workdir / "logs"
        if logs.is_dir() and any(f.stat().st_size for f in logs.iterdir()):
            where = f" (component logs in {logs})"
        else:  # failed before starting anything, e.g. another cluster is running
            where = ""
            shutil.rmtree(workdir, ignore_errors=True)
        _unavailable(f"`local-cluster up` failed{where}:\n{_tail(result.stderr)}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    cluster = RealCluster(
        kubeconfig=Path(info["kubeconfig"]),
        context=info["context"],
        node_ip=info["node_ip"],
        images=dict(info["images"]),
        kind="local",
        kubernetes_version=info["kubernetes_version"],
        extra=info,
    )
    try:
        yield cluster
    finally:
        down = _run_script(["down", "--workdir", str(workdir)], timeout=DOWN_TIMEOUT)
        if down.returncode != 0:
            pytest.fail(f"`local-cluster down` failed; the host is not clean:\n{_tail(down.stderr)}")
        if request.session.testsfailed:
            sys.stderr.write(f"\nlocal-cluster logs kept in {workdir}/logs\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# --- waiting and cleaning up with watches -------------------------------------------------


def watch_until(
    list_fn: Callable[..., Any],
    condition: Callable[[Any], bool],
    *,
    what: str,
    timeout: float,
    **list_kwargs: Any,
) -> Any:
    """List, then watch, until an object satisfies `condition`; fail after `timeout` s.

    `list_fn` is a typed client list method (e.g. `AppsV1Api.list_namespaced_deployment`);
    narrow it with `field_selector`/`label_selector` in `list_kwargs`.
    """
    from kubernetes import watch

    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last}")
        listing = list_fn(_request_timeout=remaining + 5, **list_kwargs)
        for item in listing.items:
            last = item
            if condition(item):
                return item
        watcher = watch.Watch()
        try:
            for event in watcher.stream(
                list_fn,
                resource_version=listing.metadata.resource_version,
                timeout_seconds=max(1, int(remaining)),
                _request_timeout=remaining + 5,
                **list_kwargs,
            ):
                if event["type"] == "ERROR":
                    break  # e.g. 410 Gone: list again
                last = event["object"]
                if event["type"] != "DELETED" and condition(last):
                    return last
                if time.monotonic() >= deadline:
                    break
        finally:
            watcher.stop()


def watch_until_gone(
    list_fn: Callable[..., Any], name: str, *, what: str, timeout: float, **list_kwargs: Any
) -> None:
    """Wait (watch, deadline) until the object `name` no longer exists."""
    from kubernetes import watch

    selector = f"metadata.name={name}"
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        listing = list_fn(field_selector=selector, _request_timeout=remaining + 5, **list_kwargs)
        if not listing.items:
            return
        watcher = watch.Watch()
        try:
            for event in watcher.stream(
                list_fn,
                field_selector=selector,
                resource_version=listing.metadata.resource_version,
                timeout_seconds=max(1, int(remaining)),
                _request_timeout=remaining + 5,
                **list_kwargs,
            ):
                if event["type"] == "DELETED":
                    return
                if event["type"] == "ERROR" or time.monotonic() >= deadline:
                    break
        finally:
            watcher.stop()


def delete_namespace(api_client: Any, name: str, *, timeout: float = 60) -> None:
    """Delete the namespace, force-delete its pods, and wait until it is gone.

    Order matters: once the namespace is Terminating no controller can create pods in it,
    so force-deleting (grace 0) then removes the last ones at once. Pods deleted the normal
    way wait for the kubelet to confirm, which held namespace deletion for 30-90 s here;
    pods force-deleted *before* the namespace were replaced by their ReplicaSet.
    Deletes use `_preload_content=False`: the `kubernetes` 37 client cannot parse the
    `Status` some 1.20 delete calls return.
    """
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(api_client)
    try:
        core.delete_namespace(
            name, propagation_policy="Background", _preload_content=False, _request_timeout=30
        )
        core.delete_collection_namespaced_pod(
            name, grace_period_seconds=0, _preload_content=False, _request_timeout=30
        )
    except ApiException as exc:
        if exc.status != 404:
            raise
    watch_until_gone(core.list_namespace, name, what=f"namespace {name} to be deleted",
                     timeout=timeout)


@pytest.fixture
def cluster_namespace(real_cluster: RealCluster) -> Iterator[str]:
    """A fresh namespace per test, deleted (and waited for) afterwards."""
    from kubernetes import client

    api = real_cluster.api_client()
    name = f"lab-test-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=name, labels={"illm-lab.test/ephemeral": "true"})
        ),
        _request_timeout=30,
    )
    try:
        yield name
    finally:
        try:
            delete_namespace(api, name)
        finally:
            api.close()


def follow_logs_until(
    api_client: Any, namespace: str, pods: list[str], needle: str, *, timeout: float
) -> str:
    """Follow the logs of `pods` until one contains `needle`; return that pod's name.

    The log stream (`follow=True`) is the watch of logs: no polling. One thread per pod; the
    streams are closed by their read timeout at the deadline.
    """
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    found: list[str] = []
    done = threading.Event()

    def follow(pod: str) -> None:
        response = core.read_namespaced_pod_log(
            pod, namespace, follow=True, _preload_content=False, _request_timeout=(5, timeout)
        )
        seen = b""
        try:
            for chunk in response.stream(decode_content=True):
                if done.is_set():
                    return
                seen = seen[-len(needle) :] + chunk  # the needle may straddle two chunks
                if needle.encode() in seen:
                    found.append(pod)
                    done.set()
                    return
        except Exception:  # read timeout at the deadline ends this stream
            return
        finally:
            response.release_conn()

    threads = [threading.Thread(target=follow, args=(pod,), daemon=True) for pod in pods]
    for thread in threads:
        thread.start()
    done.wait(timeout)
    if not found:
        raise AssertionError(f"no log line containing {needle!r} in pods {pods} within {timeout}s")
    return found[0]
