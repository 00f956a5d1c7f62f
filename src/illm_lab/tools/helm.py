"""The helm binary: `helm pull`, `helm template` and `helm version`, nothing else.

lab uses helm as a packager and template engine only — it never runs `helm install`: the
rendered objects are applied by lab's own engine so charts and plain manifests share one apply
path, one inventory and one teardown (adrs/0003-helm-template-and-own-apply.md).

helm keeps an index cache for `--repo` pulls; we point `HELM_CACHE_HOME` into lab's cache dir so
a pull never writes into the user's helm cache, but leave helm's config dir alone, because that
is where a user's `helm registry login` credentials for private OCI registries live.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from illm_lab.base import paths
from illm_lab.base.errors import ToolError
from illm_lab.tools.run import Result, run

BINARY = "helm"
INSTALL_HINT = "install helm 3.8 or later (https://helm.sh/docs/intro/install/); `lab doctor` checks it"
PULL_TIMEOUT = 300.0
TEMPLATE_TIMEOUT = 300.0


def _env() -> dict[str, str]:
    return {"HELM_CACHE_HOME": str(paths.cache_dir() / "helm")}


def _helm(args: Sequence[str], *, timeout: float, secrets: Sequence[str] = ()) -> Result:
    return run([BINARY, *args], timeout=timeout, env=_env(), secrets=secrets, hint=INSTALL_HINT)


def version(timeout: float = 30.0) -> str:
    """`helm version --short`, e.g. `v3.19.0+g3d8990f`."""
    return _helm(["version", "--short"], timeout=timeout).stdout.strip()


def pull_argv(chart: str, *, version: str, repo: str | None, destination: Path) -> list[str]:
    """Arguments of `helm pull` for a classic repository (`repo` + chart name) or an OCI reference
    (`chart` = `oci://...`, no repo). The version is always exact: ranges are refused upstream."""
    args = ["pull", chart, "--version", version, "--destination", str(destination)]
    if repo is not None:
        args += ["--repo", repo]
    return args


def pull(chart: str, *, version: str, repo: str | None = None, into: Path,
         timeout: float = PULL_TIMEOUT) -> Path:
    """Download one chart archive into the empty folder `into` and return the archive's path."""
    into.mkdir(parents=True, exist_ok=True)
    _helm(pull_argv(chart, version=version, repo=repo, destination=into), timeout=timeout)
    archives = sorted(into.glob("*.tgz"))
    if len(archives) != 1:
        found = ", ".join(a.name for a in archives) or "nothing"
        raise ToolError(f"helm pull {chart} {version} left {found} in {into}, expected one .tgz")
    return archives[0]


def template_argv(
    chart: Path,
    *,
    release: str,
    namespace: str,
    values_file: Path | None,
    kube_version: str | None,
    api_versions: Sequence[str],
) -> list[str]:
    """Arguments of `helm template`: CRDs included (we apply them first), test hooks skipped."""
    args = ["template", release, str(chart), "--namespace", namespace, "--include-crds",
            "--skip-tests"]
    if values_file is not None:
        args += ["--values", str(values_file)]
    if kube_version:
        args += ["--kube-version", kube_version]
    for api in api_versions:
        args += ["--api-versions", api]
    return args


def template(
    chart: Path,
    *,
    release: str,
    namespace: str,
    values: str | None = None,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    secrets: Sequence[str] = (),
    timeout: float = TEMPLATE_TIMEOUT,
) -> str:
    """Render `chart` (a folder or a .tgz) and return helm's multi-document YAML output.

    `values` is the YAML text of the values; it may hold secrets, so it goes to a file created
    0600 inside a private temporary folder that is removed as soon as helm returns.
    """
    with tempfile.TemporaryDirectory(prefix="lab-helm-") as tmp:
        values_file: Path | None = None
        if values is not None:
            values_file = Path(tmp) / "values.yaml"
            fd = os.open(values_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(values)
        argv = template_argv(chart, release=release, namespace=namespace, values_file=values_file,
                             kube_version=kube_version, api_versions=api_versions)
        return _helm(argv, timeout=timeout, secrets=secrets).stdout


def package(chart_dir: Path, *, into: Path, timeout: float = PULL_TIMEOUT) -> Path:
    """`helm package` a chart folder into the empty folder `into`; the archive's path."""
    into.mkdir(parents=True, exist_ok=True)
    _helm(["package", str(chart_dir), "--destination", str(into)], timeout=timeout)
    archives = sorted(into.glob("*.tgz"))
    if len(archives) != 1:
        raise ToolError(f"helm package {chart_dir} left {len(archives)} archives in {into}")
    return archives[0]
