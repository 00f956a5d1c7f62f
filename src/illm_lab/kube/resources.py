"""Which resource serves an apiVersion/kind: discovery, one group-version at a time, cached.

kubectl and the dynamic client discover every API group before the first request (or keep a disk
cache to avoid it); we ask only for the group-versions the objects at hand use — usually two or
three requests — and ask again when a kind is missing, which is what happens right after a CRD
becomes Established in the same run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from illm_lab.kube import errors

if TYPE_CHECKING:
    from illm_lab.kube.transport import Transport


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (or of one object when `name` is given)."""
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


class Discovery:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._cache: dict[str, dict[str, Resource]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource for `kind` in `api_version`; raises UnknownKind if the server has none."""
        kinds = self._group_version(api_version, refresh=False)
        if kind not in kinds:
            kinds = self._group_version(api_version, refresh=True)
        if kind not in kinds:
            raise errors.UnknownKind(
                f"the server does not serve kind {kind} in {api_version} "
                "(is its CRD installed and Established?)"
            )
        return kinds[kind]

    def kinds(self, api_version: str) -> list[Resource]:
        """Every kind `api_version` serves (none if the server does not serve it)."""
        return list(self._group_version(api_version, refresh=False).values())

    def invalidate(self, api_version: str | None = None) -> None:
        with self._guard:
            if api_version is None:
                self._cache.clear()
            else:
                self._cache.pop(api_version, None)

    def _group_version(self, api_version: str, *, refresh: bool) -> dict[str, Resource]:
        with self._guard:
            lock = self._locks.setdefault(api_version, threading.Lock())
            cached = self._cache.get(api_version)
        if cached is not None and not refresh:
            return cached
        with lock:
            with self._guard:
                again = self._cache.get(api_version)
            if again is not None and again is not cached:
                return again  # another thread refreshed it while we waited
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                data = self._transport.request("GET", path).json() or {}
            except errors.NotFound:
                data = {}
            kinds: dict[str, Resource] = {}
            for item in data.get("resources") or []:
                name = str(item.get("name", ""))
                if not name or "/" in name:  # subresources such as deployments/status
                    continue
                kinds[str(item.get("kind"))] = Resource(
                    api_version=api_version, kind=str(item.get("kind")), plural=name,
                    namespaced=bool(item.get("namespaced")),
                    verbs=frozenset(str(v) for v in item.get("verbs") or []),
                )
            with self._guard:
                self._cache[api_version] = kinds
            return kinds
