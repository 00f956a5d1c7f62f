"""Decoding of the few protobuf request bodies kubectl sends for built-in kinds.

Why: kubectl's typed generators (`kubectl create namespace|configmap|secret|serviceaccount|
deployment|job|cronjob|service`, `kubectl run`) POST `application/vnd.kubernetes.protobuf`
bodies. Decoding protobuf in general needs every kind's schema; the fields those generators set
are few, so their numbers (from k8s.io/api's generated.proto) are listed here and anything else in
the body is skipped. Other kinds' protobuf bodies get 415; every response is JSON, which
client-go accepts.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"

Schema = dict[int, tuple[str, Any]]

OBJECT_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    11: ("labels", "map"),
    12: ("annotations", "map"),
    14: ("finalizers", "strings"),
}
LABEL_SELECTOR: Schema = {
    1: ("matchLabels", "map"),
    2: ("matchExpressions", ("repeated", {1: ("key", "string"), 2: ("operator", "string"),
                                          3: ("values", "strings")})),
}
CONTAINER: Schema = {
    1: ("name", "string"),
    2: ("image", "string"),
    3: ("command", "strings"),
    4: ("args", "strings"),
    5: ("workingDir", "string"),
    6: ("ports", ("repeated", {1: ("name", "string"), 2: ("hostPort", "int"),
                               3: ("containerPort", "int"), 4: ("protocol", "string")})),
    7: ("env", ("repeated", {1: ("name", "string"), 2: ("value", "string")})),
    8: ("resources", {1: ("limits", "quantities"), 2: ("requests", "quantities")}),
    13: ("terminationMessagePath", "string"),
    14: ("imagePullPolicy", "string"),
    20: ("terminationMessagePolicy", "string"),
}
POD_SPEC: Schema = {
    2: ("containers", ("repeated", CONTAINER)),
    20: ("initContainers", ("repeated", CONTAINER)),
    3: ("restartPolicy", "string"),
    4: ("terminationGracePeriodSeconds", "int*"),
    6: ("dnsPolicy", "string"),
    7: ("nodeSelector", "map"),
    8: ("serviceAccountName", "string"),
    19: ("schedulerName", "string"),
}
POD_TEMPLATE: Schema = {1: ("metadata", OBJECT_META), 2: ("spec", POD_SPEC)}
JOB_SPEC: Schema = {
    1: ("parallelism", "int*"),
    2: ("completions", "int*"),
    7: ("backoffLimit", "int*"),
    6: ("template", POD_TEMPLATE),
    8: ("ttlSecondsAfterFinished", "int*"),
    10: ("suspend", "bool*"),
}
# Field numbers from k8s.io/api's and k8s.io/apimachinery's generated.proto files.
KINDS: dict[str, Schema] = {
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "int*"),
        2: ("preconditions", {1: ("uid", "string"), 2: ("resourceVersion", "string")}),
        3: ("orphanDependents", "bool*"),
        4: ("propagationPolicy", "string"),
        5: ("dryRun", "strings"),
    },
    "Namespace": {1: ("metadata", OBJECT_META), 2: ("spec", {1: ("finalizers", "strings")})},
    "ConfigMap": {
        1: ("metadata", OBJECT_META),
        2: ("data", "map"),
        3: ("binaryData", "bytesmap"),
        4: ("immutable", "bool*"),
    },
    "Secret": {
        1: ("metadata", OBJECT_META),
        2: ("data", "bytesmap"),
        3: ("type", "string"),
        4: ("stringData", "map"),
        5: ("immutable", "bool*"),
    },
    "ServiceAccount": {
        1: ("metadata", OBJECT_META),
        3: ("imagePullSecrets", ("repeated", {1: ("name", "string")})),
        4: ("automountServiceAccountToken", "bool*"),
    },
    "Pod": {1: ("metadata", OBJECT_META), 2: ("spec", POD_SPEC)},
    "Deployment": {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("replicas", "int*"), 2: ("selector", LABEL_SELECTOR),
                     3: ("template", POD_TEMPLATE), 4: ("strategy", {1: ("type", "string")})}),
    },
    "Service": {
        1: ("metadata", OBJECT_META),
        2: ("spec", {
            1: ("ports", ("repeated", {1: ("name", "string"), 2: ("protocol", "string"),
                                       3: ("port", "int"), 4: ("targetPort", "intorstr"),
                                       5: ("nodePort", "int")})),
            2: ("selector", "map"),
            3: ("clusterIP", "string"),
            4: ("type", "string"),
            10: ("externalName", "string"),
        }),
    },
    "Job": {1: ("metadata", OBJECT_META), 2: ("spec", JOB_SPEC)},
    "CronJob": {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("schedule", "string"), 3: ("concurrencyPolicy", "string"),
                     4: ("suspend", "bool*"),
                     5: ("jobTemplate", {1: ("metadata", OBJECT_META), 2: ("spec", JOB_SPEC)})}),
    },
}


class ProtobufError(ValueError):
    """A body that is not one of the supported protobuf kinds."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield number, buf[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")


def _scalar(kind: str, value: int | bytes) -> Any:
    """A decoded scalar, or None for the zero value of a non-pointer field (JSON omits it)."""
    if kind == "string" and isinstance(value, bytes):
        return value.decode() or None
    if kind in ("int", "int*") and isinstance(value, int):
        number = value - (1 << 64) if value >= 1 << 63 else value
        return number if number or kind == "int*" else None
    if kind in ("bool", "bool*") and isinstance(value, int):
        return bool(value) if value or kind == "bool*" else None
    if kind == "intorstr" and isinstance(value, bytes):
        parts = dict(_fields(value))
        text = parts.get(3, b"")
        return text.decode() if parts.get(1) == 1 and isinstance(text, bytes) else parts.get(2, 0)
    raise ProtobufError(f"unexpected encoding for a {kind} field")


def _message(buf: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, value in _fields(buf):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind in ("string", "int", "int*", "bool", "bool*", "intorstr"):
            scalar = _scalar(kind, value)
            if scalar is not None:
                out[name] = scalar
        elif kind == "strings" and isinstance(value, bytes):
            out.setdefault(name, []).append(value.decode())
        elif kind in ("map", "bytesmap", "quantities") and isinstance(value, bytes):
            entry = dict(_fields(value))
            key, item = entry.get(1, b""), entry.get(2, b"")
            assert isinstance(key, bytes) and isinstance(item, bytes)
            if kind == "bytesmap":
                text = base64.b64encode(item).decode()
            elif kind == "quantities":
                quantity = dict(_fields(item)).get(1, b"")
                text = quantity.decode() if isinstance(quantity, bytes) else ""
            else:
                text = item.decode()
            out.setdefault(name, {})[key.decode()] = text
        elif isinstance(kind, tuple) and isinstance(value, bytes):
            out.setdefault(name, []).append(_message(value, kind[1]))
        elif isinstance(kind, dict) and isinstance(value, bytes):
            out[name] = _message(value, kind)
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a `k8s\\x00`-framed `runtime.Unknown` protobuf body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf envelope")
    envelope = dict(_fields(body[len(MAGIC) :]))
    type_meta, raw = envelope.get(1, b""), envelope.get(2, b"")
    assert isinstance(type_meta, bytes) and isinstance(raw, bytes)
    meta = {n: v.decode() for n, v in _fields(type_meta) if isinstance(v, bytes)}
    api_version, kind = meta.get(1, ""), meta.get(2, "")
    if kind not in KINDS:
        raise ProtobufError(f"protobuf bodies of kind {kind!r} are not supported")
    return {"apiVersion": api_version, "kind": kind, **_message(raw, KINDS[kind])}
