"""The parts of the `kubernetes` package lab uses, imported once, here.

`import kubernetes` runs the package's `__init__`, which imports its dynamic client, which imports
`kubernetes_validate` when it is installed — and it is (lint uses it to validate rendered objects
offline). That validator and its JSON-schema stack cost about 0.16 s, more than half of the
package's import time, for a dynamic-client feature lab never uses. So the package is imported
with `kubernetes_validate` hidden for that one import (the dynamic client then records it as
absent); afterwards the module can be imported normally by whoever needs it, lint included.
Measured in docs/benchmarks.md (P2): every `lab apply` or `lab diff` process pays this import.
"""

from __future__ import annotations

import sys
from typing import Any


def _import_without_validator() -> Any:
    hidden = "kubernetes_validate" not in sys.modules
    if hidden:
        sys.modules["kubernetes_validate"] = None  # type: ignore[assignment]  # makes it ImportError
    try:
        import kubernetes
        import kubernetes.config.config_exception
        import kubernetes.config.kube_config
    finally:
        if hidden:
            sys.modules.pop("kubernetes_validate", None)
    return kubernetes


_k8s = _import_without_validator()

ApiClient = _k8s.client.ApiClient
Configuration = _k8s.client.Configuration
ConfigException = _k8s.config.config_exception.ConfigException
KubeConfigLoader = _k8s.config.kube_config.KubeConfigLoader
KubeConfigMerger = _k8s.config.kube_config.KubeConfigMerger
