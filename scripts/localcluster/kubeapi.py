"""A very small Kubernetes API client (stdlib only): GET/DELETE and watch with deadlines.

The script runs with the system Python, where the `kubernetes` package may not be installed;
it only needs to read a few objects, watch for Node readiness, and force-delete pods.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from .proc import ClusterError


class Api:
    def __init__(self, host: str, port: int, ca: str, cert: str, key: str) -> None:
        self.host, self.port = host, port
        self.context = ssl.create_default_context(cafile=ca)
        self.context.load_cert_chain(cert, key)

    def _connection(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, context=self.context, timeout=timeout
        )

    def request(
        self, method: str, path: str, body: Any = None, timeout: float = 10
    ) -> tuple[int, Any]:
        conn = self._connection(timeout)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Accept": "application/json"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return response.status, data

    def healthy(self, path: str = "/readyz") -> bool:
        try:
            status, _ = self.request("GET", path, timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200

    def _events(self, path: str, resource_version: str, seconds: int) -> Iterator[dict[str, Any]]:
        sep = "&" if "?" in path else "?"
        query = urllib.parse.urlencode(
            {"watch": "1", "resourceVersion": resource_version, "timeoutSeconds": str(seconds)}
        )
        conn = self._connection(seconds + 5)
        try:
            conn.request("GET", f"{path}{sep}{query}", headers={"Accept": "application/json"})
            response = conn.getresponse()
            if response.status != 200:
                raise ClusterError(f"watch {path}: HTTP {response.status}")
            while True:
                line = response.readline()
                if not line:
                    return
                yield json.loads(line)
        finally:
            conn.close()

    def wait_for(
        self, what: str, path: str, condition: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        """List `path`, then watch it until an object satisfies `condition` or time runs out."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            status, listing = self.request("GET", path)
            if status != 200:
                raise ClusterError(f"GET {path}: HTTP {status}: {listing}")
            for item in listing.get("items", []):
                last = item
                if condition(item):
                    return item
            remaining = int(deadline - time.monotonic())
            if remaining <= 0:
                break
            version = listing["metadata"]["resourceVersion"]
            for event in self._events(path, version, remaining):
                if event.get("type") == "ERROR":
                    break  # e.g. 410 Gone: list again
                obj = event.get("object", {})
                last = obj
                if event.get("type") != "DELETED" and condition(obj):
                    return obj
            if time.monotonic() >= deadline:
                break
        detail = json.dumps(last.get("status", {}))[:600] if last else "no such object yet"
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {detail}")
