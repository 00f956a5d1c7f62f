"""Turning a rendering into files or a YAML stream (secrets masked unless asked otherwise)."""

from __future__ import annotations

import base64
import errno
import os
import stat
from pathlib import Path

from illm_lab.base.errors import UsageError
from illm_lab.base.yamlio import dump, dump_all
from illm_lab.rendering.render import Rendering, mask_secrets


def _secret_values(rendering: Rendering) -> list[str]:
    """Values of `secret: true` params, and their base64 form (what `| b64encode` puts in a
    ConfigMap or a Secret's `data`), longest first."""
    declared = rendering.experiment.spec.params
    plain = [str(rendering.params[n]) for n, p in declared.items()
             if p.secret and rendering.params.get(n) not in (None, "")]
    encoded = [base64.b64encode(v.encode()).decode() for v in plain]
    return sorted({*plain, *encoded}, key=len, reverse=True)


TEXT_MASK = "<masked>"  # stays a plain YAML scalar where a bare *** would read as an alias


def _scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, TEXT_MASK)
    return text


def render_stream(rendering: Rendering, *, show_secrets: bool = False) -> str:
    """One YAML stream: namespaces, then each component's objects (Helm values as a comment)."""
    parts: list[str] = []
    for role, nss in sorted(rendering.namespaces.items()):
        if nss:
            parts.append(f"# cluster: {role} — namespaces\n" + dump_all(nss))
    workflow = [rendering.workflow] if rendering.workflow else []
    for comp in rendering.components + workflow:
        header = f"# component: {comp.name} (cluster: {comp.cluster}, {comp.source})\n"
        if comp.source == "helm":
            values = dump(comp.values or {})
            body = "".join(f"# {line}\n" for line in values.splitlines())
            parts.append(header + "# helm values:\n" + body)
        else:
            objs = comp.objects if show_secrets else [mask_secrets(o) for o in comp.objects]
            parts.append(header + (dump_all(objs) if objs else ""))
    text = "".join(parts)
    return text if show_secrets else _scrub(text, _secret_values(rendering))


def write_rendering(rendering: Rendering, out: Path, *, show_secrets: bool = False) -> list[Path]:
    """One file per component (and one for namespaces) under `out`; Helm values as values.yaml.
    Files are created 0600 (never readable by others, even for a moment): with --show-secrets
    they hold Secret data. Every file is opened relative to `out` without following symlinks:
    a link planted in `out` is refused, never written through."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"--out {out}: cannot create the folder: {reason}") from None
    secrets = [] if show_secrets else _secret_values(rendering)
    written: list[Path] = []

    def write(name: str, text: str) -> None:
        path = out / name
        if "/" in name or name in (".", ".."):
            raise UsageError(f"--out {out}: refusing to write {name!r}: not a plain file name")
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP or _is_symlink(name, dir_fd):
                raise UsageError(f"--out {path}: is a symlink; refusing to write through it "
                                 "(remove it or choose another folder)") from None
            raise UsageError(f"--out {path}: cannot write: {exc.strerror or type(exc).__name__}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(f"--out {path}: exists and is not a regular file; refusing to write")
            os.fchmod(fd, 0o600)  # an existing file keeps its mode on open
            os.ftruncate(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_scrub(text, secrets))
        written.append(path)

    try:
        files = _files(rendering, show_secrets=show_secrets)
        links = [name for name, _text in files if _is_symlink(name, dir_fd)]
        if links:  # refused before anything is written (O_NOFOLLOW still guards a later swap)
            raise UsageError(f"--out {out}: {', '.join(links)} "
                             f"{'is a symlink' if len(links) == 1 else 'are symlinks'}; refusing to "
                             "write through it (remove it or choose another folder)")
        for name, text in files:
            write(name, text)
    finally:
        os.close(dir_fd)
    return written


def _is_symlink(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _files(rendering: Rendering, *, show_secrets: bool) -> list[tuple[str, str]]:
    """(file name, text) of every file `write_rendering` writes, in order."""
    files: list[tuple[str, str]] = []
    for role, nss in sorted(rendering.namespaces.items()):
        if nss:
            files.append((f"00-namespaces-{role}.yaml", dump_all(nss)))
    workflow = [rendering.workflow] if rendering.workflow else []
    for i, comp in enumerate(rendering.components + workflow, start=1):
        if comp.source == "helm":
            files.append((f"{i:02d}-{comp.name}.values.yaml", dump(comp.values or {})))
        else:
            objs = comp.objects if show_secrets else [mask_secrets(o) for o in comp.objects]
            files.append((f"{i:02d}-{comp.name}.yaml", dump_all(objs)))
    return files
