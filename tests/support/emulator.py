"""Tier 2: the API emulator (`LabEmulator`) and its pytest fixtures.

Design:

* `LabEmulator` subclasses kmock 0.8's `KubernetesEmulator` (pinned exactly, so its internals are
  fair game). From kmock it keeps the request model and log, the DSL (`emu[criteria] << payload`
  reactions are consulted before the emulator's own behaviour, so a test can still override one
  endpoint), the bundled built-in discovery data (`emu.resources`, minus the Gateway API and
  metrics groups, which are add-ons on a real cluster) and the object arrays with history
  (`emu.objects[...]`). It replaces kmock's request parsing (which breaks on `/api/v1/namespaces`)
  and its write path with `emulator_store.Store`, which behaves like an API server.
* It runs on its own event loop in a background thread, bound to 127.0.0.1 port 0, because the
  synchronous `kubernetes` client and `kubectl` subprocesses block the test's thread (kmock's own
  pytest plugin shares the test's loop). The controller API (`get`, `set_status`, `auto_ready`,
  ...) is thread-safe: it hops onto the loop and waits, and is re-entrant from callbacks, which
  run on the loop.
* Fresh state per test: starting an emulator takes a few milliseconds, so the `emulator` fixture
  starts one per test instead of resetting a shared one.

The tests play kube-controller-manager and kubelet: nothing becomes ready unless a test calls
`set_status` or `auto_ready`. CRDs are the exception (`Established` is the API server's own job):
they are established on creation unless `crd_auto_establish=False`. An operator that installs
CRDs only once it runs (Crossplane creates its own at start-up) is played by `install_crds`:
the CRDs appear a moment after the operator's workload is ready, not with its objects.

Use (fixtures `emulator` and `fault_proxy_factory`; `api_version` is `"apps/v1"`, `"v1"`, ...)::

    emulator.kubeconfig / emulator.url          # context "emulator", namespace "default"
    emulator.api_client() / .dynamic_client() / .kubectl(*args, input=None, check=True)
    emulator.get(api_version, kind, namespace, name) -> dict | None
    emulator.list(api_version, kind, namespace=None, label_selector=None, field_selector=None)
    emulator.create(obj) / .apply(obj, manager=, force=True) / .delete(api_version, kind, ns, name)
    emulator.patch_object(api_version, kind, ns, name, patch, patch_type="merge"|"strategic"|"json")
    emulator.set_status(api_version, kind, ns, name, status, merge=True)    # MODIFIED event
    emulator.auto_ready(kind=None | "Deployment" | [...], after=0.05, namespace=None)
    emulator.on_create(kind, callback) / .on_event(kind, callback, types=("ADDED",))
    emulator.install_crds(crds, when_ready="Deployment", label_selector=None, namespace=None, after=0.05)
    emulator.wait_for(api_version, kind, ns, name, condition, timeout=2.0) / .wait_ready(...)
    emulator.register_backend(namespace, service_or_pod, port, "http://127.0.0.1:NNNN")
    emulator.set_logs(namespace, pod, text, container=None) / .append_logs(...)
    emulator.requests / .writes / .clear_requests()   # LoggedRequest: method, path, query, body
    emulator.compact()                                # older watch resumes get 410 Gone
    emulator.objects[...] / emulator[criteria] << payload   # kmock's arrays and DSL

Not emulated: schemas and validation (`fieldValidation` is accepted, unknown fields are kept),
authentication and RBAC (any token is accepted), admission, server-side printing (`kubectl get`
shows NAME and AGE), aggregated discovery (kubectl falls back to the legacy documents),
conversion between CRD versions (objects are served as stored, with the requested apiVersion),
pods for workloads (auto_ready writes statuses and a Deployment's ReplicaSet, no Pods), graceful
pod deletion, exec/attach, kubectl's SPDY port-forward, protobuf bodies other than those
`emulator_protobuf` lists, and consistent-snapshot `continue` tokens.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import copy
import functools
import gzip
import importlib.resources
import itertools
import os
import shutil
import subprocess
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import kmock
import pytest
import yaml
from aiohttp import web

from tests.support import emulator_kinds as kinds
from tests.support import emulator_patch as patching
from tests.support import emulator_streams as streams
from tests.support.emulator_http import HttpFront, LoggedRequest, patcher
from tests.support.emulator_select import selector_matcher
from tests.support.emulator_store import (
    ApiError,
    Event,
    ResourceType,
    Store,
    now_rfc3339,
    present,
)
from tests.support.faultproxy import FaultProxy

if TYPE_CHECKING:
    from kubernetes.client import ApiClient
    from kubernetes.dynamic import DynamicClient

EXCLUDED_GROUPS = frozenset({"gateway.networking.k8s.io", "metrics.k8s.io"})
CALL_TIMEOUT = 2.0


class LabEmulator(HttpFront, kmock.KubernetesEmulator):
    """A Kubernetes API server emulator for tests; see the module docstring."""

    def __init__(self, *, namespace_lifecycle: bool = True, crd_auto_establish: bool = True) -> None:
        super().__init__()
        for res, info in _builtin_resources().items():
            self.resources[res] = copy.deepcopy(info)
        self.store = Store(
            self.resources,
            self.objects,
            namespace_lifecycle=namespace_lifecycle,
            crd_auto_establish=crd_auto_establish,
        )
        self.store.ensure_default_namespaces()
        self.store.listeners.append(self._on_event)
        self.backends = streams.Backends()
        self.pod_logs = streams.PodLogs()
        self.kubeconfig: Path | None = None
        self.internal_errors: list[str] = []
        self._log: list[LoggedRequest] = []
        self._ready_rules: list[tuple[frozenset[str], float, str | None]] = []
        self._ready_pending: set[tuple[str, str, str | None, str]] = set()
        self._callbacks: list[tuple[str, frozenset[str], Callable[[dict[str, Any]], None]]] = []
        self._crd_installs: list[_CrdInstall] = []
        self._pod_ips = itertools.count(2)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: web.Server | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stopping: asyncio.Event | None = None
        self._port = 0
        self._workdir: Path | None = None

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # kmock registers its own fallback reactions; ours replace them, user reactions stay.
        self._payloads.clear()

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:  # type: ignore[override]
        if not self._port:
            raise RuntimeError("the emulator is not running")
        return f"http://127.0.0.1:{self._port}"

    def start(self, workdir: Path | str | None = None) -> LabEmulator:
        """Serve on 127.0.0.1:0 from a background thread; write a kubeconfig into `workdir`."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab-emulator", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._astart(), self._loop).result(CALL_TIMEOUT)
        if workdir is not None:
            self._workdir = Path(workdir)
            self.kubeconfig = self.write_kubeconfig(self._workdir / "emulator.kubeconfig")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._astop(), self._loop).result(CALL_TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CALL_TIMEOUT)
            self._loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> LabEmulator:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _astart(self) -> None:
        await self.__aenter__()
        self._stopping = asyncio.Event()
        self.pod_logs.changed = asyncio.Condition()
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._server = web.Server(self._handle_raw)
        loop = asyncio.get_running_loop()
        self._tcp = await loop.create_server(self._server, "127.0.0.1", 0)
        self._port = self._tcp.sockets[0].getsockname()[1]

    async def _astop(self) -> None:
        assert self._stopping is not None and self._server is not None and self._tcp is not None
        self._stopping.set()
        self.store.close_watches()
        self.pod_logs.notify()
        await asyncio.sleep(0)
        self._tcp.close()
        for connection in self._server.connections:  # idle keep-alives would wait out the timeout
            connection.force_close()
        await self._server.shutdown(0.1)
        await self._tcp.wait_closed()
        if self._session is not None:
            await self._session.close()
        await self.__aexit__(None, None, None)
        # Handlers still running (a held or slow request) would die with the loop: end them now.
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def write_kubeconfig(self, path: Path | str, *, context: str = "emulator", namespace: str = "default") -> Path:
        """A kubeconfig for this emulator (0600); the token is accepted and ignored."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": "lab-emulator-token"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                        "namespace": namespace}}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    # ------------------------------------------------------------ thread hopping

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._loop is None or threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(CALL_TIMEOUT)

    def _soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon(fn, *args)
        else:
            fn(*args)

    # ------------------------------------------------------------ controller API (test thread)

    def _rt(self, api_version: str, kind: str) -> ResourceType:
        return self.store.resolve_kind(api_version, kind)

    # `get`, `list` and `delete` replace kmock's aiohttp client shortcuts of the same names.
    def get(  # type: ignore[override]
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        """The object as stored (a deep copy), or None."""

        def run() -> dict[str, Any] | None:
            rt = self._rt(api_version, kind)
            obj = self.store.live(rt, namespace, name)
            return copy.deepcopy(present(obj, rt)) if obj is not None else None

        return self._call(run)  # type: ignore[no-any-return]

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            rt = self._rt(api_version, kind)
            matcher = selector_matcher(label_selector, field_selector)
            return copy.deepcopy(self.store.select(rt, namespace, matcher))

        return self._call(run)  # type: ignore[no-any-return]

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether discovery lists `kind` in `api_version` now."""

        def run() -> bool:
            try:
                self._rt(api_version, kind)
            except ApiError:
                return False
            return True

        return self._call(run)  # type: ignore[no-any-return]

    def create(self, obj: dict[str, Any], *, manager: str = "emulator") -> dict[str, Any]:
        """Create an object as a client would (ADDED event)."""

        def run() -> dict[str, Any]:
            rt = self._rt(obj["apiVersion"], obj["kind"])
            ns = (obj.get("metadata") or {}).get("namespace")
            return copy.deepcopy(self.store.create(rt, ns, copy.deepcopy(obj), manager=manager))

        return self._call(run)  # type: ignore[no-any-return]

    def apply(self, obj: dict[str, Any], *, manager: str = "emulator", force: bool = True) -> dict[str, Any]:
        """Server-side apply an object as `manager`."""

        def run() -> dict[str, Any]:
            rt = self._rt(obj["apiVersion"], obj["kind"])
            meta = obj.get("metadata") or {}
            result, _ = self.store.apply(rt, meta.get("namespace") if rt.namespaced else None,
                                         meta["name"], copy.deepcopy(obj), manager=manager, force=force)
            return copy.deepcopy(result)

        return self._call(run)  # type: ignore[no-any-return]

    def patch_object(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        subresource: str = "",
        manager: str = "emulator",
    ) -> dict[str, Any]:
        """Patch an object (`merge`, `strategic` or `json`); emits MODIFIED if anything changed."""
        mutate = patcher(patch_type, copy.deepcopy(patch))

        def run() -> dict[str, Any]:
            rt = self._rt(api_version, kind)
            return copy.deepcopy(self.store.update(rt, namespace, name, mutate, manager=manager,
                                                   subresource=subresource))

        return self._call(run)  # type: ignore[no-any-return]

    def set_status(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        status: dict[str, Any],
        *,
        merge: bool = True,
        manager: str = "emulator-controller",
    ) -> dict[str, Any]:
        """Write `.status` as a controller would (merged unless `merge=False`); emits MODIFIED."""
        status = copy.deepcopy(status)

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            obj["status"] = patching.merge_patch(obj.get("status") or {}, status) if merge else status
            return obj

        def run() -> dict[str, Any]:
            rt = self._rt(api_version, kind)
            sub = "status" if rt.has_status else ""
            return copy.deepcopy(self.store.update(rt, namespace, name, mutate, manager=manager, subresource=sub))

        return self._call(run)  # type: ignore[no-any-return]

    def delete(  # type: ignore[override]
        self, api_version: str, kind: str, namespace: str | None, name: str, *, propagation: str | None = None
    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            rt = self._rt(api_version, kind)
            return copy.deepcopy(self.store.delete(rt, namespace, name, propagation=propagation))

        return self._call(run)  # type: ignore[no-any-return]

    def wait_for(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        condition: Callable[[dict[str, Any] | None], bool],
        timeout: float = 2.0,
    ) -> dict[str, Any] | None:
        """Block until `condition(obj)` holds for the object (None once it is gone), checked now
        and on each of its watch events; returns the object, raises TimeoutError otherwise."""
        done = threading.Event()
        box: list[dict[str, Any] | None] = []

        def check(obj: dict[str, Any] | None) -> None:
            if not done.is_set() and condition(copy.deepcopy(obj)):
                box.append(copy.deepcopy(obj))
                done.set()

        def listener(event: Event) -> None:
            meta = event.obj["metadata"]
            if event.obj.get("kind") == kind and meta["name"] == name and meta.get("namespace") == namespace:
                check(None if event.type == "DELETED" else present(event.obj, self._rt(api_version, kind)))

        def register() -> None:
            rt = self._rt(api_version, kind)
            live = self.store.live(rt, namespace, name)
            check(present(live, rt) if live is not None else None)
            self.store.listeners.append(listener)

        self._call(register)
        try:
            if not done.wait(timeout):
                raise TimeoutError(f"{kind} {namespace}/{name} did not reach the condition in {timeout}s")
        finally:
            self._call(self.store.listeners.remove, listener)
        return box[0]

    def wait_ready(
        self, api_version: str, kind: str, namespace: str | None, name: str, timeout: float = 2.0
    ) -> dict[str, Any]:
        """Block until the object exists and no controller would still mark it ready."""
        obj = self.wait_for(api_version, kind, namespace, name,
                            lambda o: o is not None and not kinds.needs_ready(kind, o), timeout)
        assert obj is not None
        return obj

    def compact(self) -> None:
        """Forget the event history: watches resuming from an older resourceVersion get 410 Gone."""
        self._call(self.store.compact)

    @property
    def resource_version(self) -> str:
        """The server's current resourceVersion."""
        return str(self._call(lambda: self.store.rv))

    def on_event(
        self,
        kind: str,
        callback: Callable[[dict[str, Any]], None],
        types: Iterable[str] = ("ADDED",),
    ) -> None:
        """Call `callback(obj)` on the emulator's loop after each matching watch event.

        The callback may use the controller API (it is re-entrant); it must not block.
        """
        self._call(self._callbacks.append, (kind, frozenset(types), callback))

    def on_create(self, kind: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self.on_event(kind, callback, ("ADDED",))

    def auto_ready(
        self, kind: str | Iterable[str] | None = None, after: float = 0.05, namespace: str | None = None
    ) -> None:
        """Play the controllers: mark objects of these kinds ready `after` seconds after each
        create or spec change (all of `emulator_kinds.READY_KINDS` when `kind` is None)."""
        wanted = frozenset(kinds.READY_KINDS if kind is None else [kind] if isinstance(kind, str) else kind)
        unknown = wanted - kinds.READY_KINDS
        if unknown:
            raise ValueError(f"auto_ready does not know {sorted(unknown)}; known: {sorted(kinds.READY_KINDS)}")

        def run() -> None:
            self._ready_rules.append((wanted, after, namespace))
            for rt in list(self.store.types()):
                if rt.kind in wanted:
                    for obj in list(self.store.iter_live(rt, namespace)):
                        self._maybe_schedule_ready(rt.kind, rt, obj, immediate=after <= 0)

        self._call(run)

    def install_crds(
        self,
        crds: Iterable[dict[str, Any]],
        *,
        when_ready: str = "Deployment",
        label_selector: str | None = None,
        namespace: str | None = None,
        after: float = 0.05,
    ) -> None:
        """Play an operator that installs CRDs once it runs: the first time an object of kind
        `when_ready` (in `namespace`, matching `label_selector`) is ready — already, or after a
        create or status change — create `crds` `after` seconds later (CRDs that exist are
        left as they are). Pair it with `auto_ready`, or make the workload ready with `set_status`."""
        install = _CrdInstall([copy.deepcopy(c) for c in crds], when_ready, namespace,
                              selector_matcher(label_selector, None), after)

        def run() -> None:
            self._crd_installs.append(install)
            for rt in list(self.store.types()):
                if rt.kind == when_ready:
                    for obj in list(self.store.iter_live(rt, namespace)):
                        self._maybe_install(install, rt.kind, obj)

        self._call(run)

    def register_backend(self, namespace: str, name: str, port: int | str, url: str) -> None:
        """Serve the service or pod `name`'s `port` (proxy, port-forward) from a loopback URL."""
        self._call(self.backends.register, namespace, name, port, url)

    def set_logs(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        self._call(self.pod_logs.set, namespace, pod, text, container, False)

    def append_logs(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        self._call(self.pod_logs.set, namespace, pod, text, container, True)

    @property
    def requests(self) -> builtins.list[LoggedRequest]:
        """Every request received so far, oldest first."""
        return list(self._log)

    @property
    def writes(self) -> builtins.list[LoggedRequest]:
        """The non-dry-run POST/PUT/PATCH/DELETE requests received so far."""
        return [r for r in self._log if r.is_write]

    def clear_requests(self) -> None:
        self._log.clear()

    # ------------------------------------------------------------ clients for tests

    def api_client(self) -> ApiClient:
        """A `kubernetes.client.ApiClient` built from this emulator's kubeconfig."""
        from kubernetes import config

        if self.kubeconfig is None:
            raise RuntimeError("start the emulator with a workdir to get a kubeconfig")
        client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), context="emulator"
        )
        return cast("ApiClient", client)

    def dynamic_client(self) -> DynamicClient:
        """A `kubernetes.dynamic.DynamicClient` whose discovery cache stays in the workdir."""
        from kubernetes.dynamic import DynamicClient

        assert self._workdir is not None
        cache = str(self._workdir / "discovery.json")
        return DynamicClient(self.api_client(), cache_file=cache)  # type: ignore[no-untyped-call]

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 20.0
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this emulator (skips the test if kubectl is not installed)."""
        binary = shutil.which("kubectl")
        if binary is None:
            pytest.skip("kubectl is not installed")
        assert self.kubeconfig is not None
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        result = subprocess.run(
            [binary, "--kubeconfig", str(self.kubeconfig), *args],
            input=input, capture_output=True, text=True, timeout=timeout, env=env, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    # ------------------------------------------------------------ controllers (loop thread)

    def _on_event(self, event: Event) -> None:
        kind = event.obj.get("kind", "")
        if event.type == "DELETED" and kind == "Pod" and self._loop is not None:
            self.pod_logs.notify()
        if event.type in ("ADDED", "MODIFIED") and self._ready_rules:
            group, plural = event.gr
            rt = self.store.resolve(group, self.store.storage_version(group, plural), plural)
            if rt is not None:
                self._maybe_schedule_ready(kind, rt, event.obj)
        if event.type in ("ADDED", "MODIFIED"):
            for install in list(self._crd_installs):
                self._maybe_install(install, kind, event.obj)
        for cb_kind, types, callback in list(self._callbacks):
            if cb_kind == kind and event.type in types:
                self._soon(callback, copy.deepcopy(present(event.obj, self._storage_rt(event))))

    def _storage_rt(self, event: Event) -> ResourceType:
        group, plural = event.gr
        rt = self.store.resolve(group, self.store.storage_version(group, plural), plural)
        assert rt is not None
        return rt

    def _maybe_schedule_ready(
        self, kind: str, rt: ResourceType, obj: dict[str, Any], immediate: bool = False
    ) -> None:
        meta = obj.get("metadata") or {}
        for wanted, after, namespace in self._ready_rules:
            if kind not in wanted or (namespace is not None and meta.get("namespace") != namespace):
                continue
            if not kinds.needs_ready(kind, obj):
                return
            token = (rt.group, rt.plural, meta.get("namespace"), meta["name"])
            if token in self._ready_pending:
                return
            self._ready_pending.add(token)
            if self._loop is None or immediate:
                self._make_ready(token)
            else:
                self._loop.call_later(after, self._make_ready, token)
            return

    def _make_ready(self, token: tuple[str, str, str | None, str]) -> None:
        self._ready_pending.discard(token)
        group, plural, namespace, name = token
        rt = self.store.resolve(group, self.store.storage_version(group, plural), plural)
        if rt is None:
            return
        live = self.store.live(rt, namespace, name)
        if live is None or not kinds.needs_ready(rt.kind, live):
            return
        if rt.kind == "Deployment":
            self._reconcile_replicasets(live)
        n = next(self._pod_ips)
        status = kinds.ready_status(rt.kind, live, now_rfc3339(), f"10.244.{n // 250}.{n % 250 + 1}")

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            obj["status"] = status
            return obj

        self.store.update(rt, namespace, name, mutate, manager="emulator-controller",
                          subresource="status" if rt.has_status else "")

    def _maybe_install(self, install: _CrdInstall, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if install.fired or kind != install.when_ready or kinds.needs_ready(kind, obj):
            return
        if install.namespace is not None and meta.get("namespace") != install.namespace:
            return
        if not install.matches(obj):
            return
        install.fired = True
        if self._loop is None or install.after <= 0:
            self._install(install)
        else:
            self._loop.call_later(install.after, self._install, install)

    def _install(self, install: _CrdInstall) -> None:
        rt = self._rt("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        try:
            for crd in install.crds:
                if self.store.live(rt, None, crd["metadata"]["name"]) is None:
                    self.store.create(rt, None, copy.deepcopy(crd), manager="emulator-operator")
        except Exception:  # a test's bad CRD: reported like any error of the emulator's own
            self.internal_errors.append(traceback.format_exc())

    def _reconcile_replicasets(self, deploy: dict[str, Any]) -> None:
        """What the deployment controller does: one ReplicaSet per pod template, owned by the
        Deployment, scaled to the Deployment's replicas; older ones scaled to zero."""
        rs_rt = self.store.resolve("apps", "v1", "replicasets")
        assert rs_rt is not None
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        ns, uid = meta["namespace"], meta["uid"]
        desired = kinds.replicaset_for(deploy)
        name = desired["metadata"]["name"]
        for rs in list(self.store.iter_live(rs_rt, ns)):
            owners = rs["metadata"].get("ownerReferences") or []
            owned = any(o.get("uid") == uid and o.get("controller") for o in owners)
            if owned and rs["metadata"]["name"] != name and (rs.get("spec") or {}).get("replicas"):
                self.store.update(rs_rt, ns, rs["metadata"]["name"], _with_replicas(0),
                                  manager="kube-controller-manager")
        if self.store.live(rs_rt, ns, name) is None:
            self.store.create(rs_rt, ns, desired, manager="kube-controller-manager")
        else:
            self.store.update(rs_rt, ns, name, _with_replicas(spec.get("replicas", 1)),
                              manager="kube-controller-manager")
        current = self.store.live(rs_rt, ns, name)
        assert current is not None
        status = kinds.ready_status("ReplicaSet", current, now_rfc3339(), "")

        def mutate(obj: dict[str, Any]) -> dict[str, Any]:
            obj["status"] = status
            return obj

        self.store.update(rs_rt, ns, name, mutate, manager="kube-controller-manager", subresource="status")


@dataclass
class _CrdInstall:
    """One `install_crds` rule: what the operator installs, and when it is seen running."""

    crds: builtins.list[dict[str, Any]]
    when_ready: str
    namespace: str | None
    matches: Callable[[dict[str, Any]], bool]
    after: float
    fired: bool = False


@functools.cache
def _builtin_resources() -> dict[kmock.resource, kmock.ResourceInfo]:
    """kmock's bundled discovery data (a k3s cluster's built-ins) minus add-on groups; parsed once."""
    bundled = importlib.resources.files("kmock._internal").joinpath("resources.json.gz").read_bytes()
    array = kmock.ResourcesArray()
    array.load_data(gzip.decompress(bundled))
    return {res: array[res] for res in array if res.group not in EXCLUDED_GROUPS}


def _with_replicas(replicas: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("spec", {})["replicas"] = replicas
        return obj

    return mutate


# ---------------------------------------------------------------- pytest fixtures


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[LabEmulator]:
    """A running LabEmulator with fresh state; `emulator.kubeconfig` has the context `emulator`.

    Fails the test at teardown if the emulator hit an internal error (an emulator bug).
    """
    emu = LabEmulator().start(tmp_path / "emulator")
    try:
        yield emu
    finally:
        emu.stop()
    if emu.internal_errors:
        pytest.fail("the emulator hit internal errors:\n" + "\n".join(emu.internal_errors))


@pytest.fixture
def fault_proxy_factory(tmp_path: Path) -> Iterator[Callable[..., FaultProxy]]:
    """`factory(upstream_kubeconfig, **kwargs)` -> a started FaultProxy, stopped after the test."""
    started: list[FaultProxy] = []

    def factory(upstream_kubeconfig: Path | str, **kwargs: Any) -> FaultProxy:
        kwargs.setdefault("workdir", tmp_path / f"faultproxy-{len(started)}")
        proxy = FaultProxy(upstream_kubeconfig, **kwargs).start()
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()
