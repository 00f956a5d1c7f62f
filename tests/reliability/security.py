"""Security probes: template sandbox escapes, secrets in outputs, file modes, shell use, and
command checks that must not run a local program unless allowed.

An escape attempt *succeeds* if the rendered output (or any message) carries a canary that only
the process environment or a file outside the experiment folder holds, or if a side effect it
asks for (creating a file) happens. Each attempt is run with `lab render`; refusing it with an
error (exit 2) and rendering it harmlessly (exit 0, no canary) are both fine.
"""

from __future__ import annotations

import ast
import os
import stat
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.reliability.fixture import SECRET
from tests.reliability.harness import LabRun, lab_env, run_lab, tier2
from tests.support.catalogs import write_experiment

ENV_CANARY = "lab-env-canary-7d41b0"
FILE_CANARY = "lab-file-canary-2e9fa3"
SIDE_EFFECT = "sandbox-side-effect"

# (id, template). `{outside}` is a file outside the experiment folder holding FILE_CANARY;
# `{touch}` a path that must not be created.
ESCAPES: list[tuple[str, str]] = [
    ("class-mro-subclasses", "x: {{ ''.__class__.__mro__[1].__subclasses__() }}\n"),
    ("params-class", "x: {{ params.__class__.__init__.__globals__ }}\n"),
    ("dict-base-subclasses", "x: {{ {}.__class__.__base__.__subclasses__() }}\n"),
    ("lipsum-globals-os", "x: {{ lipsum.__globals__['os'].environ['LAB_CANARY'] }}\n"),
    ("lipsum-globals-popen", "x: {{ lipsum.__globals__.os.popen('touch {touch}').read() }}\n"),
    ("cycler-init-globals", "x: {{ cycler.__init__.__globals__.os.environ }}\n"),
    ("joiner-init-globals", "x: {{ joiner.__init__.__globals__.os.popen('id').read() }}\n"),
    ("namespace-init", "x: {{ namespace.__init__.__globals__ }}\n"),
    ("range-self", "x: {{ range.__self__.__import__('os').environ }}\n"),
    ("self-context", "x: {{ self._TemplateReference__context }}\n"),
    ("self-globals", "x: {{ self.__init__.__globals__.__builtins__ }}\n"),
    ("attr-filter-class", "x: {{ params | attr('__class__') | attr('__mro__') }}\n"),
    ("attr-filter-globals", "x: {{ lipsum | attr('__globals__') }}\n"),
    ("format-attribute", "x: {{ '{0.__class__.__mro__}'.format(params) }}\n"),
    ("format-map", "x: {{ '{a.__class__}'.format_map({'a': params}) }}\n"),
    ("percent-format", "x: {{ '%s' % params.__class__.__mro__ }}\n"),
    ("getattr-string", "x: {{ params['__class__'] }}\n"),
    ("func-code", "x: {{ lipsum.__code__.co_consts }}\n"),
    ("func-builtins", "x: {{ lipsum.__builtins__ }}\n"),
    ("dict-mutation", "x: {{ params.update({'replicas': 9}) }}{{ params.replicas }}\n"),
    ("list-append", "x: {{ experiment.tags.append('owned') }}\n"),
    ("setattr-namespace", "{% set ns = namespace(a=1) %}{% set ns.__class__ = 1 %}x: 1\n"),
    ("env-name", "x: {{ env }}{{ environ }}\n"),
    ("env-lookup", "x: {{ lookup('env', 'LAB_CANARY') }}\n"),
    ("os-name", "x: {{ os.environ.LAB_CANARY }}\n"),
    ("config-name", "x: {{ config.items() }}\n"),
    ("request-name", "x: {{ request.environ }}\n"),
    ("include-absolute", "{% include '{outside}' %}\n"),
    ("include-parent", "{% include '../../../outside.txt' %}\n"),
    ("include-parent-deep", "{% include '../' * 20 + 'etc/passwd' %}\n"),
    ("import-outside", "{% import '../../../outside.txt' as m %}\n"),
    ("extends-outside", "{% extends '../../../outside.txt' %}\n"),
    ("include-symlink", "{% include 'manifests/link.txt' %}\n"),
    ("include-dynamic", "{% include params.image %}\n"),
    ("from-import", "{% from '../../../outside.txt' import x %}\n"),
    ("source-file", "x: {{ self.__dict__ }}\n"),
    ("loader-get-source", "x: {{ self._TemplateReference__context.environment.loader.get_source(None, '{outside}') }}\n"),
    ("environment-globals", "x: {{ self._TemplateReference__context.environment.globals }}\n"),
    ("undefined-class", "x: {{ nothing.__class__ }}\n"),
    ("macro-globals", "{% macro m() %}{% endmacro %}x: {{ m.__globals__ }}\n"),
    ("loop-internals", "{% for i in [1] %}x: {{ loop.__class__.__init__.__globals__ }}{% endfor %}\n"),
    ("str-translate-bomb", "x: {{ 'a'.__class__.__subclasses__() }}\n"),
    ("b64-filter-object", "x: {{ params.__class__ | b64encode }}\n"),
    ("tojson-object", "x: {{ lipsum | tojson }}\n"),
]


@dataclass
class EscapeResult:
    id: str
    exit_code: int
    succeeded: bool
    crashed: bool
    detail: str


def escape_trial(ident: str, template: str, workspace: Path) -> EscapeResult:
    """Render `template` as the demo experiment's manifest, with canaries in place."""
    root = workspace / "experiments"
    folder = write_experiment(root, "demo")
    outside = workspace / "outside.txt"
    outside.write_text(f"secret: {FILE_CANARY}\n")
    (folder / "manifests" / "link.txt").symlink_to(outside)
    touch = workspace / SIDE_EFFECT
    text = template.replace("{outside}", str(outside)).replace("{touch}", str(touch))
    (folder / "manifests" / "app.yaml.j2").write_text(text)
    env = {
        "LAB_STATE_DIR": str(workspace / "state"), "LAB_CACHE_DIR": str(workspace / "cache"),
        "LAB_CONFIG": str(workspace / "config.yaml"), "LAB_CANARY": ENV_CANARY, "NO_COLOR": "1",
    }
    run = run_lab(["--experiments-dir", str(root), "render", "demo"], env=env)
    leaked = [c for c in (ENV_CANARY, FILE_CANARY) if c in run.output]
    succeeded = bool(leaked) or touch.exists() or "uid=" in run.stdout
    detail = f"leaked {leaked}" if leaked else (run.error_lines[0] if run.error_lines else "rendered harmlessly")
    return EscapeResult(ident, run.exit_code, succeeded, run.crashed, detail[:300])


# ---------------------------------------------------------------- shell use


@dataclass(frozen=True)
class ShellUse:
    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}"


_SHELL_FUNCTIONS = {
    ("os", "system"), ("os", "popen"), ("os", "execlp"), ("os", "spawnlp"),
    ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"), ("pty", "spawn"),
}


def shell_uses(root: Path) -> list[ShellUse]:
    """Every call under `root` that runs a shell: `shell=` anything but False, `_shell=`/`_tty_in`
    options of `sh`, and os.system/os.popen/subprocess.getoutput-style helpers."""
    found: list[ShellUse] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg in ("shell", "_shell") and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value in (False, None)
                ):
                    found.append(ShellUse(str(path), node.lineno, f"{kw.arg}={ast.unparse(kw.value)}"))
            func = node.func
            if (
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in _SHELL_FUNCTIONS
            ):
                found.append(ShellUse(str(path), node.lineno, f"{func.value.id}.{func.attr}()"))
    return found


# ---------------------------------------------------------------- secrets in outputs


def occurrences(needles: Iterable[str], texts: dict[str, str]) -> list[str]:
    """`where: needle` for every needle found in any named text."""
    return [f"{where}: {needle}" for where, text in texts.items() for needle in needles if needle in text]


def files_text(root: Path) -> Iterator[tuple[str, str]]:
    """(path, content) of every file under `root`, read leniently."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes().decode("utf-8", "replace")


def run_texts(run: LabRun, label: str) -> dict[str, str]:
    return {f"{label} stdout": run.stdout, f"{label} stderr": run.stderr}


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


# ---------------------------------------------------------------- a whole conduct, scanned


@dataclass
class TokenScan:
    requests_with_token: int
    exits: dict[str, int]
    places: int  # outputs and files scanned
    occurrences: list[str]
    events_mode: int


def _token_kubeconfig(server: str, path: Path, token: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "tok",
        "clusters": [{"name": "tok", "cluster": {"server": server}}],
        "contexts": [{"name": "tok", "context": {"cluster": "tok", "user": "tok"}}],
        "users": [{"name": "tok", "user": {"token": token}}],
    }))
    path.chmod(0o600)
    return path


def token_scan(workdir: Path) -> TokenScan:
    """Conduct the fixture (passing, then failing a check) against the emulator with a bearer
    token, run the commands around it, and scan stdout, stderr, the JSON report, the JUnit file,
    the events file and the whole state directory (ledger, locks) for the token and for the
    value of the fixture's `secret: true` param."""
    token = f"lab-token-{uuid.uuid4().hex}"
    with tier2(workdir) as stack:
        assert stack.emulator is not None
        kubeconfig = _token_kubeconfig(stack.emulator.url, workdir / "token.kubeconfig", token)
        state = workdir / "lab"
        env = lab_env(state)
        junit, events = workdir / "report.xml", workdir / "events.jsonl"
        events.write_text("")
        events.chmod(0o644)  # an existing events file must become private too
        base = ["--experiments-dir", str(stack.catalog)]
        kube = ["--kubeconfig", str(kubeconfig)]
        runs = {
            "conduct": run_lab(["-v", *base, "conduct", "relia", "--ci", "-o", "json", *kube,
                                "--junit", str(junit), "--events", str(events)], env=env),
            "conduct-failing": run_lab(["-v", *base, "conduct", "relia", "--ci", *kube, "--set", "greeting=bye",
                                        "--check-timeout", "1s", "-o", "json"], env=env),
            "apply": run_lab([*base, "apply", "relia", *kube, "-o", "json"], env=env),
            "diff": run_lab([*base, "diff", "relia", *kube], env=env),
            "validate": run_lab([*base, "validate", "relia", *kube, "-o", "json"], env=env),
            "status": run_lab(["status", "-o", "json"], env=env),
            "down": run_lab([*base, "down", "relia"], env=env),
            "bad-context": run_lab([*base, "apply", "relia", *kube, "--context", "nope"], env=env),
        }
        sent = [r for r in stack.emulator.requests if r.headers.get("Authorization") == f"Bearer {token}"]
    texts: dict[str, str] = {}
    for label, run in runs.items():
        texts.update(run_texts(run, label))
    texts["junit"] = junit.read_text() if junit.exists() else ""
    texts["events"] = events.read_text()
    texts.update(files_text(state))
    return TokenScan(
        requests_with_token=len(sent), exits={k: r.exit_code for k, r in runs.items()}, places=len(texts),
        occurrences=occurrences([token, SECRET], texts), events_mode=mode(events),
    )


# ---------------------------------------------------------------- credential files


def exposed(root: Path) -> list[str]:
    """Files under `root` others could read, and folders others could enter."""
    bad = []
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)) and st.st_mode & 0o077:
            bad.append(f"{path} {oct(st.st_mode & 0o777)}")
    return bad


@dataclass
class Privacy:
    exits: dict[str, int]
    files: int
    kubeconfigs: list[str]
    exposed: list[str]


def state_privacy(workdir: Path) -> Privacy:
    """Conduct the fixture on a cluster lab creates (fake `kind` writing a kubeconfig for the
    emulator), keep it, check every file of the state dir; `lab down`, check again."""
    from tests.support.fakeclusters import make_fakes

    old = os.umask(0o022)
    try:
        with tier2(workdir) as stack:
            assert stack.emulator is not None and stack.emulator.kubeconfig is not None
            fakes = make_fakes(workdir, stack.emulator.kubeconfig).install()
            manifest = stack.catalog / "relia" / "experiment.yaml"
            manifest.write_text(manifest.read_text().replace(
                "spec:\n", "spec:\n  clusters:\n    target: {provider: kind}\n", 1))
            state = workdir / "lab"
            env = {**lab_env(state), "PATH": str(fakes.bindir)}
            base = ["--experiments-dir", str(stack.catalog)]
            kept = run_lab([*base, "conduct", "relia", "--ci", "--keep"], env=env)
            root = state / "state"
            found = exposed(root) if root.exists() else [f"{root} missing"]
            kubeconfigs = [str(p) for p in root.rglob("kubeconfig")]
            files = sum(1 for p in root.rglob("*") if p.is_file())
            down = run_lab([*base, "down", "relia"], env=env)
            found += exposed(root)
    finally:
        os.umask(old)
    return Privacy({"conduct --keep": kept.exit_code, "down": down.exit_code}, files, kubeconfigs,
                   sorted(set(found)))


# ---------------------------------------------------------------- command checks are opt-in


@dataclass
class CommandGate:
    exits: dict[str, int]  # command -> exit code
    refused: int  # runs without --allow-commands that exited 2 naming the check and the program
    ran_unasked: int  # runs without the flag after which the check's program had run
    runs_recorded: int  # ledger runs the refused commands opened (nothing may be deployed)
    ran_with_flag: bool  # the same check does run with --allow-commands (the gate is the cause)
    ran_trusted: bool  # after `lab trust FOLDER` it runs without the flag
    refused_changed: bool  # one file of the trusted experiment changed: refused again, not run


def command_gate(workdir: Path) -> CommandGate:
    """The fixture with a `command` check that creates a marker file, in a catalog the user does
    not work in: `lab conduct` and `lab validate` without `--allow-commands` against the emulator
    must refuse before anything happens; `lab conduct --allow-commands` then runs it; after `lab
    trust` it runs without the flag, and once one of its files changes it is refused again."""
    marker = workdir / "command-ran"
    with tier2(workdir) as stack:
        assert stack.emulator is not None
        manifest = stack.catalog / "relia" / "experiment.yaml"
        manifest.write_text(manifest.read_text().replace(
            "  checks:\n", f"  checks:\n    - {{name: local marker, command: {{run: [touch, '{marker}']}}}}\n", 1))
        state = workdir / "lab"
        env = lab_env(state)
        base = ["--experiments-dir", str(stack.catalog)]
        kube = ["--kubeconfig", str(stack.emulator.kubeconfig)]
        unasked: dict[str, LabRun] = {}
        ran = 0
        for label, args in (("conduct", ["conduct", "relia", "--ci"]), ("validate", ["validate", "relia"])):
            unasked[label] = run_lab([*base, *args, *kube], env=env)
            ran += marker.exists()
        recorded = len(list((state / "state" / "runs").glob("*.json")))
        allowed = run_lab([*base, "conduct", "relia", "--ci", "--allow-commands", *kube], env=env)
        ran_with_flag = marker.exists()
        marker.unlink(missing_ok=True)
        run_lab([*base, "trust", str(manifest.parent)], env=env)
        trusted = run_lab([*base, "conduct", "relia", "--ci", *kube], env=env)
        ran_trusted = trusted.exit_code == 0 and marker.exists()
        marker.unlink(missing_ok=True)
        manifest.write_text(manifest.read_text() + "# changed after it was trusted\n")
        changed = run_lab([*base, "conduct", "relia", "--ci", *kube], env=env)
        refused_changed = (changed.exit_code == 2 and "changed since you trusted it" in changed.stderr
                           and not marker.exists())
    refused = sum(
        r.exit_code == 2 and "check 'local marker' runs the local program 'touch'" in r.stderr
        for r in unasked.values()
    )
    return CommandGate(
        exits={**{k: r.exit_code for k, r in unasked.items()}, "conduct --allow-commands": allowed.exit_code},
        refused=refused, ran_unasked=ran, runs_recorded=recorded, ran_with_flag=ran_with_flag,
        ran_trusted=ran_trusted, refused_changed=refused_changed,
    )

