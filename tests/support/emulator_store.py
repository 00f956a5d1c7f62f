"""The emulator's object store: API-server write semantics on top of kmock's object arrays.

Why on top of kmock: objects live in kmock's `ObjectsArray` (`emu.objects[...]`, with every
version kept in `.history`) and resources in its `ResourcesArray` (bundled discovery), so the
kmock assertions other tests know keep working. What kmock lacks is the write path of an API
server, which lives here: metadata stamping (uid, a server-wide monotonic resourceVersion,
creationTimestamp, generation), status-subresource separation, field managers, server-side apply,
no-op detection (an unchanged write stores nothing and emits nothing), deletion with finalizers,
owner-reference garbage collection (Background/Foreground/Orphan), namespace lifecycle and
cascading namespace deletion, and CRDs registering their kinds in discovery.

Threading: every method runs on the emulator's event-loop thread and never awaits, so each call
is atomic with respect to requests and watch fan-out; the test thread goes through
`LabEmulator`'s thread-safe controller API.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import kmock

from tests.support import emulator_kinds as kinds
from tests.support import emulator_patch as patching

GroupResource = tuple[str, str]
EVENT_LOG_SIZE = 4096
_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now_rfc3339() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version order: GA > beta > alpha, then by number (higher first)."""
    m = _VERSION_RE.match(version)
    if not m:
        return (-1, 0, 0)
    stage = {"alpha": 0, "beta": 1, None: 2}[m.group(2)]
    return (stage, int(m.group(1)), int(m.group(3) or 0))


class ApiError(Exception):
    """An error answered as a Kubernetes `Status`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


@dataclass(frozen=True)
class ResourceType:
    """A served resource as one request sees it (its version) plus its storage version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: frozenset[str]
    storage: str
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_api_version(self) -> str:
        return f"{self.group}/{self.storage}" if self.group else self.storage

    @property
    def gr(self) -> GroupResource:
        return (self.group, self.plural)

    @property
    def key(self) -> kmock.resource:
        return kmock.resource(self.group, self.storage, self.plural)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def details(self, name: str, uid: str | None = None) -> dict[str, Any]:
        out = {"name": name, "group": self.group, "kind": self.plural}
        if uid:
            out["uid"] = uid
        return out

    def not_found(self, name: str) -> ApiError:
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', self.details(name))


@dataclass
class Event:
    rv: int
    type: str
    obj: dict[str, Any]
    prev: dict[str, Any] | None
    gr: GroupResource


@dataclass(eq=False)
class Watcher:
    gr: GroupResource
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)


def present(obj: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """A shallow copy of a stored object as seen through the request's API version."""
    out = dict(obj)
    out["apiVersion"] = rt.api_version
    out["kind"] = rt.kind
    return out


def _without_times(obj: dict[str, Any] | None) -> Any:
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    for entry in (out.get("metadata") or {}).get("managedFields") or []:
        entry.pop("time", None)
    return out


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """All objects, resource versions, the event log and watch fan-out."""

    def __init__(
        self,
        resources: kmock.ResourcesArray,
        objects: kmock.ObjectsArray,
        *,
        namespace_lifecycle: bool = True,
        crd_auto_establish: bool = True,
    ) -> None:
        self.resources = resources
        self.objects = objects
        self.namespace_lifecycle = namespace_lifecycle
        self.crd_auto_establish = crd_auto_establish
        self.rv = 0
        self._events: dict[GroupResource, collections.deque[Event]] = collections.defaultdict(
            lambda: collections.deque(maxlen=EVENT_LOG_SIZE)
        )
        self._compacted: dict[GroupResource, int] = collections.defaultdict(int)
        self._compacted_all = 0
        self._watchers: dict[GroupResource, set[Watcher]] = collections.defaultdict(set)
        self._crd_storage: dict[GroupResource, str] = {}
        self._by_uid: dict[str, tuple[kmock.resource, str | None, str]] = {}
        self.listeners: list[Callable[[Event], None]] = []
        self._ips = itertools.count(10)

    # ------------------------------------------------------------ resources

    def allocate_ip(self) -> str:
        n = next(self._ips)
        return f"10.96.{n // 250}.{n % 250 + 1}"

    def resource_keys(self) -> list[kmock.resource]:
        """The served (group, version, plural) triples, parsed."""
        return [r for r in self.resources if isinstance(r, kmock.resource)]

    def storage_version(self, group: str, plural: str) -> str:
        if (group, plural) in self._crd_storage:
            return self._crd_storage[(group, plural)]
        versions = [r.version or "" for r in self.resource_keys() if r.group == group and r.plural == plural]
        return max(versions, key=version_priority) if versions else ""

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        res = kmock.resource(group, version, plural)
        if res not in self.resources:
            return None
        info = self.resources[res]
        return ResourceType(
            group=group,
            version=version,
            plural=plural,
            kind=info.kind or plural.capitalize(),
            namespaced=bool(info.namespaced),
            subresources=frozenset(info.subresources),
            storage=self.storage_version(group, plural),
            singular=info.singular or "",
        )

    def resolve_kind(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        for res in self.resource_keys():
            if res.group == group and res.version == version:
                info = self.resources[res]
                if info.kind == kind and res.plural:
                    found = self.resolve(group, version, res.plural)
                    if found is not None:
                        return found
        raise ApiError(404, "NotFound", f"no kind {kind!r} is registered for version {api_version!r}")

    def types(self) -> Iterator[ResourceType]:
        """One ResourceType per stored group-resource (at its storage version)."""
        seen: set[GroupResource] = set()
        for res in self.resource_keys():
            group, plural = res.group or "", res.plural or ""
            if plural and (group, plural) not in seen:
                seen.add((group, plural))
                rt = self.resolve(group, self.storage_version(group, plural), plural)
                if rt is not None:
                    yield rt

    # ------------------------------------------------------------ reading

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> Any:
        return (rt.key, namespace if rt.namespaced else None, name)

    def live(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = self._key(rt, namespace, name)
        if key not in self.objects:
            return None
        obj = self.objects[key]
        return None if obj.deleted else obj.raw

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.live(rt, namespace, name)
        if obj is None:
            raise rt.not_found(name)
        return present(obj, rt)

    def iter_live(self, rt: ResourceType, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        for (res, ns, _), obj in list(self.objects.items()):
            if res == rt.key and (namespace is None or ns == namespace) and not obj.deleted:
                yield obj.raw

    def select(
        self, rt: ResourceType, namespace: str | None, matcher: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        items = [present(o, rt) for o in self.iter_live(rt, namespace) if matcher(o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
        return items

    def by_uid(self, uid: str) -> tuple[ResourceType, dict[str, Any]] | None:
        key = self._by_uid.get(uid)
        if key is None or key not in self.objects or self.objects[key].deleted:
            return None
        rt = self.resolve(key[0].group or "", key[0].version or "", key[0].plural or "")
        return (rt, self.objects[key].raw) if rt is not None else None

    # ------------------------------------------------------------ events and watches

    def subscribe(self, rt: ResourceType) -> Watcher:
        watcher = Watcher(rt.gr)
        self._watchers[rt.gr].add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers[watcher.gr].discard(watcher)

    def close_watches(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(None)

    def events_since(self, rt: ResourceType, rv: int) -> list[Event] | None:
        """Events of a resource after `rv`, or None if they were compacted away (410 Gone)."""
        if rv < max(self._compacted[rt.gr], self._compacted_all):
            return None
        return [e for e in self._events[rt.gr] if e.rv > rv]

    def compact(self) -> None:
        """Forget all past events, as etcd compaction does: older watch resumes get 410."""
        for log in self._events.values():
            log.clear()
        self._compacted_all = self.rv

    def _emit(self, event: Event) -> None:
        log = self._events[event.gr]
        if len(log) == log.maxlen:
            self._compacted[event.gr] = log[0].rv
        log.append(event)
        for watcher in list(self._watchers[event.gr]):
            watcher.queue.put_nowait(event)
        for listener in list(self.listeners):
            listener(event)

    # ------------------------------------------------------------ committing

    def _commit(self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], etype: str) -> dict[str, Any]:
        self.rv += 1
        meta = new["metadata"]
        meta["resourceVersion"] = str(self.rv)
        new["apiVersion"], new["kind"] = rt.storage_api_version, rt.kind
        key = self._key(rt, meta.get("namespace"), meta["name"])
        if etype == "ADDED":
            if key in self.objects:
                self.objects[key].create(new)
            else:
                self.objects[key] = new
            self._by_uid[meta["uid"]] = key
        else:
            self.objects[key].history.append(new)
        self._emit(Event(self.rv, etype, new, old, rt.gr))
        if rt.gr == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._register_crd(new, old)
        return new

    def _remove(self, rt: ResourceType, live: dict[str, Any]) -> dict[str, Any]:
        """Physically delete an object (DELETED event) and run the follow-up controllers."""
        self.rv += 1
        final = copy.deepcopy(live)
        final["metadata"]["resourceVersion"] = str(self.rv)
        meta = final["metadata"]
        key = self._key(rt, meta.get("namespace"), meta["name"])
        self.objects[key].delete()
        self._by_uid.pop(meta.get("uid", ""), None)
        self._emit(Event(self.rv, "DELETED", final, live, rt.gr))
        self._after_remove(rt, final)
        return final

    def _after_remove(self, rt: ResourceType, final: dict[str, Any]) -> None:
        meta = final["metadata"]
        uid = meta.get("uid", "")
        # Garbage collector: dependents whose owners are all gone go too (background).
        for dep_rt, dep in self._dependents(uid):
            owners = [r.get("uid") for r in dep["metadata"].get("ownerReferences") or []]
            if all(self.by_uid(o) is None for o in owners if o):
                self._delete_object(dep_rt, dep, "Background")
        # Foreground deletion: owners waiting for their dependents may be released now.
        for ref in meta.get("ownerReferences") or []:
            self._release_foreground(ref.get("uid", ""))
        if rt.gr == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._unregister_crd(final)
        if rt.gr == ("", "namespaces"):
            for cr_rt in list(self.types()):
                if cr_rt.namespaced:
                    for obj in list(self.iter_live(cr_rt, meta["name"])):
                        self._remove(cr_rt, obj)
        elif rt.namespaced and meta.get("namespace"):
            self._finalize_namespace(meta["namespace"])

    def _dependents(self, uid: str) -> list[tuple[ResourceType, dict[str, Any]]]:
        if not uid:
            return []
        out = []
        for (res, _, _), obj in list(self.objects.items()):
            if obj.deleted:
                continue
            raw = obj.raw
            if any(r.get("uid") == uid for r in raw["metadata"].get("ownerReferences") or []):
                rt = self.resolve(res.group or "", res.version or "", res.plural or "")
                if rt is not None:
                    out.append((rt, raw))
        return out

    def _namespace_empty(self, namespace: str) -> bool:
        return not any(ns == namespace and not obj.deleted for (_, ns, _), obj in self.objects.items())

    # ------------------------------------------------------------ namespaces

    def check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not self.namespace_lifecycle:
            return
        ns_rt = self.resolve("", "v1", "namespaces")
        assert ns_rt is not None
        ns = self.live(ns_rt, None, namespace)
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated",
                {"name": name, "group": rt.group, "kind": rt.plural,
                 "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                             "message": f"namespace {namespace} is being terminated"}]},
            )

    def ensure_default_namespaces(self) -> None:
        ns_rt = self.resolve("", "v1", "namespaces")
        assert ns_rt is not None
        for name in DEFAULT_NAMESPACES:
            if self.live(ns_rt, None, name) is None:
                self.create(ns_rt, None, {"metadata": {"name": name}}, manager="kube-apiserver")

    def _finalize_namespace(self, namespace: str) -> None:
        ns_rt = self.resolve("", "v1", "namespaces")
        assert ns_rt is not None
        ns = self.live(ns_rt, None, namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if not self._namespace_empty(namespace):
            return
        if (ns.get("spec") or {}).get("finalizers"):
            new = copy.deepcopy(ns)
            new["spec"]["finalizers"] = []
            ns = self._commit(ns_rt, ns, new, "MODIFIED")
        if not ns["metadata"].get("finalizers"):
            self._remove(ns_rt, ns)

    def _delete_namespace(self, rt: ResourceType, live: dict[str, Any]) -> dict[str, Any]:
        name = live["metadata"]["name"]
        if not live["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(live)
            new["metadata"]["deletionTimestamp"] = now_rfc3339()
            new["status"] = {"phase": "Terminating"}
            live = self._commit(rt, live, new, "MODIFIED")
        for obj_rt in list(self.types()):
            if obj_rt.namespaced:
                for obj in list(self.iter_live(obj_rt, name)):
                    self._delete_object(obj_rt, obj, "Background")
        self._finalize_namespace(name)
        current = self.live(rt, None, name)
        return present(current if current is not None else live, rt)

    # ------------------------------------------------------------ CRDs

    def _register_crd(self, crd: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is not None:
            self._unregister_crd(old, keep_objects=True)
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group, plural = spec.get("group", ""), names.get("plural", "")
        if not group or not plural:
            return
        for version in spec.get("versions") or []:
            if version.get("storage"):
                self._crd_storage[(group, plural)] = version["name"]
        for version in spec.get("versions") or []:
            if not version.get("served", True):
                continue
            subs = set((version.get("subresources") or {}).keys())
            self.resources[kmock.resource(group, version["name"], plural)] = kmock.ResourceInfo(
                kind=names.get("kind"),
                singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                verbs={"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
                shortnames=set(names.get("shortNames") or []),
                categories=set(names.get("categories") or []),
                subresources=subs,
            )

    def _unregister_crd(self, crd: dict[str, Any], keep_objects: bool = False) -> None:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        if not keep_objects:
            storage = self.storage_version(group, plural)
            rt = self.resolve(group, storage, plural)
            if rt is not None:
                for obj in list(self.iter_live(rt)):
                    self._remove(rt, obj)
            self._crd_storage.pop((group, plural), None)
        for res in self.resource_keys():
            if res.group == group and res.plural == plural:
                del self.resources[res]

    # ------------------------------------------------------------ writes

    def _check_body(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON or YAML object")
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if (api_version and api_version != rt.api_version) or (kind and kind != rt.kind):
            raise ApiError(
                400,
                "BadRequest",
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})" if api_version != rt.api_version else
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})",
            )
        return body

    def _name_for_create(self, rt: ResourceType, meta: dict[str, Any]) -> str:
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["name"] = name
        if not name:
            raise ApiError(422, "Invalid", f"{rt.kind} \"\" is invalid: metadata.name: Required value: "
                           "name or generateName is required",
                           {"group": rt.group, "kind": rt.kind,
                            "causes": [{"reason": "FieldValueRequired", "field": "metadata.name",
                                        "message": "Required value: name or generateName is required"}]})
        return str(name)

    def _prepare_create(
        self, rt: ResourceType, namespace: str | None, obj: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None, str]:
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        name = self._name_for_create(rt, meta)
        ns: str | None = None
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not "
                               "match the namespace sent on the request")
            ns = namespace or body_ns or "default"
            meta["namespace"] = ns
            self.check_namespace(rt, ns, name)
        else:
            meta.pop("namespace", None)
        if self.live(rt, ns, name) is not None:
            raise ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', rt.details(name))
        for key in patching.SERVER_METADATA - {"managedFields"}:
            meta.pop(key, None)
        obj["apiVersion"], obj["kind"] = rt.storage_api_version, rt.kind
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta["generation"] = 1
        if rt.has_status:
            initial = kinds.initial_status(rt.kind, obj)
            obj.pop("status", None)
            if initial is not None:
                obj["status"] = initial
        if rt.kind == "CustomResourceDefinition" and self.crd_auto_establish:
            obj["status"] = kinds.established_status(obj, meta["creationTimestamp"])
        kinds.apply_defaults(rt.kind, obj, None, self.allocate_ip)
        return obj, ns, name

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        *,
        manager: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        obj = copy.deepcopy(self._check_body(rt, body))
        if isinstance(obj.get("metadata"), dict):
            obj["metadata"].pop("managedFields", None)
        obj, _, _ = self._prepare_create(rt, namespace, obj)
        patching.track_update(None, obj, manager=manager, api_version=rt.api_version, time=now_rfc3339())
        if dry_run:
            return present(obj, rt)
        return present(self._commit(rt, None, obj, "ADDED"), rt)

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        mutate: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        manager: str,
        subresource: str = "",
        dry_run: bool = False,
        apply: bool = False,
    ) -> dict[str, Any]:
        """The general write path of PUT, PATCH, apply and the controller API."""
        live = self.live(rt, namespace, name)
        if live is None:
            raise rt.not_found(name)
        candidate = mutate(copy.deepcopy(live))
        if not isinstance(candidate, dict):
            raise ApiError(422, "Invalid", "the patched object is not a map")
        raw_meta = candidate.get("metadata")
        cand_meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        wanted_rv = cand_meta.get("resourceVersion")
        if wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                rt.details(name),
            )
        if cand_meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({cand_meta.get('name')}) does "
                           f"not match the name on the URL ({name})")
        if subresource == "status":
            new = copy.deepcopy(live)
            if "status" in candidate:
                new["status"] = candidate["status"]
            else:
                new.pop("status", None)
            if apply:
                new["metadata"]["managedFields"] = cand_meta.get("managedFields", [])
        else:
            new = candidate
            new["metadata"] = cand_meta
            if rt.has_status:
                if "status" in live:
                    new["status"] = copy.deepcopy(live["status"])
                else:
                    new.pop("status", None)
        meta = new["metadata"]
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            if key in live["metadata"]:
                meta[key] = live["metadata"][key]
            else:
                meta.pop(key, None)
        if not apply:
            meta["managedFields"] = copy.deepcopy(live["metadata"].get("managedFields", []))
        new["apiVersion"], new["kind"] = rt.storage_api_version, rt.kind
        kinds.apply_defaults(rt.kind, new, live, self.allocate_ip)
        if _spec_part(new) != _spec_part(live):
            meta["generation"] = int(live["metadata"].get("generation", 1)) + 1
        if not apply:
            patching.track_update(live, new, manager=manager, api_version=rt.api_version,
                                  time=now_rfc3339(), subresource=subresource)
        if not meta.get("managedFields"):
            meta.pop("managedFields", None)
        if _without_times(new) == _without_times(live):
            return present(live, rt)
        if dry_run:
            return present(new, rt)
        stored = self._commit(rt, live, new, "MODIFIED")
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return present(self._remove(rt, stored), rt)
        return present(stored, rt)

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        config: Any,
        *,
        manager: str,
        force: bool,
        subresource: str = "",
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply; returns the object and whether it was created."""
        config = self._check_body(rt, config)
        if not config.get("apiVersion") or not config.get("kind"):
            raise ApiError(400, "BadRequest", "apiVersion and kind must be set in an applied configuration")
        meta = config.get("metadata") or {}
        if meta.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        include_status = subresource == "status" or not rt.has_status
        now = now_rfc3339()
        live = self.live(rt, namespace, name)
        if live is None:
            if subresource:
                raise rt.not_found(name)
            obj = patching.server_side_apply(None, config, manager=manager, force=force,
                                             api_version=rt.api_version, time=now,
                                             include_status=include_status)
            obj.setdefault("metadata", {})["name"] = name
            managed = obj["metadata"].get("managedFields")
            obj, _, _ = self._prepare_create(rt, namespace, obj)
            if managed:
                obj["metadata"]["managedFields"] = managed
            if dry_run:
                return present(obj, rt), True
            return present(self._commit(rt, None, obj, "ADDED"), rt), True

        def mutate(current: dict[str, Any]) -> dict[str, Any]:
            try:
                return patching.server_side_apply(
                    current, config, manager=manager, force=force, api_version=rt.api_version,
                    time=now, include_status=include_status, subresource=subresource)
            except patching.ApplyConflict as exc:
                raise ApiError(
                    409, "Conflict", str(exc),
                    {**rt.details(name), "causes": [
                        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
                         "field": patching.human_path(p)} for m, p in exc.conflicts]},
                ) from exc

        return self.update(rt, namespace, name, mutate, manager=manager, subresource=subresource,
                           dry_run=dry_run, apply=True), False

    # ------------------------------------------------------------ deletes

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        dry_run: bool = False,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        live = self.live(rt, namespace, name)
        if live is None:
            raise rt.not_found(name)
        pre = preconditions or {}
        meta = live["metadata"]
        if (pre.get("uid") and pre["uid"] != meta.get("uid")) or (
            pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion")
        ):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.qualified} "{name}": '
                           "the precondition does not match", rt.details(name))
        if propagation not in (None, "Background", "Foreground", "Orphan"):
            raise ApiError(400, "BadRequest", f"invalid propagationPolicy {propagation!r}")
        if dry_run:
            return present(live, rt)
        if rt.gr == ("", "namespaces"):
            return self._delete_namespace(rt, live)
        result = self._delete_object(rt, live, propagation or "Background")
        if result is not None:
            return present(result, rt)
        if rt.gr in (("", "pods"), ("", "services")) or rt.group not in BUILTIN_GROUPS:
            return present(live, rt)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": rt.details(name, meta.get("uid")),
        }

    def _delete_object(self, rt: ResourceType, live: dict[str, Any], propagation: str) -> dict[str, Any] | None:
        """Delete one object; returns it if it lingers (finalizers), None if it is gone."""
        meta = live["metadata"]
        if meta.get("deletionTimestamp"):
            return live
        uid = meta.get("uid", "")
        if propagation == "Orphan":
            for dep_rt, dep in self._dependents(uid):
                new = copy.deepcopy(dep)
                new["metadata"]["ownerReferences"] = [
                    r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self._commit(dep_rt, dep, new, "MODIFIED")
        finalizers = list(meta.get("finalizers") or [])
        dependents = self._dependents(uid) if propagation == "Foreground" else []
        if dependents:
            finalizers.append("foregroundDeletion")
        if not finalizers:
            self._remove(rt, live)
            return None
        new = copy.deepcopy(live)
        new["metadata"]["deletionTimestamp"] = now_rfc3339()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new["metadata"]["finalizers"] = finalizers
        stored = self._commit(rt, live, new, "MODIFIED")
        for dep_rt, dep in dependents:
            self._delete_object(dep_rt, dep, "Foreground")
        self._release_foreground(uid)
        return self.live(rt, stored["metadata"].get("namespace"), stored["metadata"]["name"])

    def _release_foreground(self, uid: str) -> None:
        found = self.by_uid(uid) if uid else None
        if found is None:
            return
        rt, owner = found
        if "foregroundDeletion" not in (owner["metadata"].get("finalizers") or []):
            return
        if self._dependents(uid):
            return
        new = copy.deepcopy(owner)
        new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != "foregroundDeletion"]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        stored = self._commit(rt, owner, new, "MODIFIED")
        if not stored["metadata"].get("finalizers"):
            self._remove(rt, stored)


BUILTIN_GROUPS = frozenset(
    {
        "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
        "storage.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "admissionregistration.k8s.io",
        "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "node.k8s.io", "scheduling.k8s.io",
        "certificates.k8s.io", "flowcontrol.apiserver.k8s.io", "authentication.k8s.io",
        "authorization.k8s.io",
    }
)
