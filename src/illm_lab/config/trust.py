"""Which experiments may run local programs: `command` checks are opt-in, per experiment.

A `command` check runs a program on the user's machine with the user's rights when the experiment
is conducted or validated, so an experiment written by someone else must not run one unnoticed.
It runs when one of these says so, checked before anything is deployed:

- `--allow-commands` (CI, or a one-off), or `allowCommands: true` in the lab config;
- the experiment is in the catalog of the repository the user works in: the `experiments/`
  folder of the working directory or the nearest one above it (found as git finds `.git`) —
  what the user cloned and reads, not a folder named with `--experiments-dir`;
- the user trusted the experiment's folder with `lab trust PATH`, which records the folder's
  content hash (`catalog.fingerprint`, the one validation records carry): when any file of the
  experiment changes, the trust no longer holds and lab asks again, as direnv does.

The trust store is one JSON file in lab's state directory, private (0600) and written atomically.
`lab show` and `lab lint` list the programs an experiment would run.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from illm_lab.base import paths
from illm_lab.base.errors import InputError, UsageError
from illm_lab.base.files import read_text, write_atomic
from illm_lab.catalog.fingerprint import experiment_hash
from illm_lab.config import labconfig
from illm_lab.model.experiment import Experiment

FLAG = "--allow-commands"
STORE = "trust.json"


@dataclass(frozen=True)
class Trusted:
    """One folder the user trusted, as it was then."""

    folder: str
    hash: str
    at: str
    commands: list[str]

    @property
    def current(self) -> bool:
        folder = Path(self.folder)
        return folder.is_dir() and experiment_hash(folder) == self.hash


def _store() -> Path:
    return paths.state_dir() / STORE


def load() -> dict[str, Trusted]:
    """The trusted folders, by absolute path. An unreadable store is bad input naming the file
    (remove it to start over): trust is never guessed."""
    path = _store()
    if not path.is_file():
        return {}
    try:
        data = json.loads(read_text(path, what="trust store"))
        return {k: Trusted(k, str(v["hash"]), str(v["at"]), [str(c) for c in v.get("commands", [])])
                for k, v in (data.get("folders") or {}).items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"unreadable trust store ({type(exc).__name__}): remove it to start over",
                         where=str(path)) from None


def _save(trusted: dict[str, Trusted]) -> None:
    folders = {k: {"hash": t.hash, "at": t.at, "commands": t.commands} for k, t in sorted(trusted.items())}
    paths.ensure_private_dir(paths.state_dir())
    write_atomic(_store(), json.dumps({"version": 1, "folders": folders}, indent=1))


def _described(experiment: Experiment) -> list[str]:
    return [f"{name}: {' '.join(argv)[:200]}" for name, argv, _path in experiment.commands()]


def trust(folder: Path, experiment: Experiment) -> Trusted:
    """Record `folder` (an experiment's) as trusted as it is now."""
    key = str(folder.resolve())
    stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = Trusted(key, experiment_hash(folder.resolve()), stamp, _described(experiment))
    trusted = load()
    trusted[key] = entry
    _save(trusted)
    return entry


def revoke(folder: Path) -> bool:
    """Forget `folder`; whether it was trusted."""
    trusted = load()
    found = trusted.pop(str(folder.resolve()), None)
    if found is not None:
        _save(trusted)
    return found is not None


def home_catalog() -> Path | None:
    """The `experiments/` folder of the working directory or the nearest one above it."""
    try:
        here = Path.cwd()
    except OSError:
        return None
    for folder in (here, *here.parents):
        if (folder / "experiments").is_dir():
            return (folder / "experiments").resolve()
    return None


def reason_allowed(folder: Path, *, allowed: bool) -> str | None:
    """Why the experiment's command checks may run (None: they may not)."""
    if allowed:
        return FLAG
    if labconfig.load().config.allow_commands:
        return "allowCommands in the lab config"
    resolved = folder.resolve()
    home = home_catalog()
    if home is not None and resolved.parent == home:
        return f"in the catalog you work in ({home})"
    entry = load().get(str(resolved))
    if entry is not None and entry.current:
        return f"trusted with lab trust on {entry.at}"
    return None


def refusal(experiment: Experiment, folder: Path, *, allowed: bool) -> str | None:
    """Why the experiment may not run its command checks — the first one and its program named —
    or None when something above lets them run."""
    commands = experiment.commands()
    if not commands or reason_allowed(folder, allowed=allowed):
        return None
    name, argv, _path = commands[0]
    more = f" (and {len(commands) - 1} more command checks)" if len(commands) > 1 else ""
    entry = load().get(str(folder.resolve()))
    changed = ", and it changed since you trusted it" if entry is not None else ""
    return (
        f"check {name[:80]!r} runs the local program {argv[0][:120]!r} with your rights{more}"
        f"{changed}; read what it runs (lab show {experiment.name}), then `lab trust {folder}` to "
        f"trust this experiment as it is now, or pass {FLAG} to let it run once"
    )


def refuse_unless_allowed(experiment: Experiment, folder: Path, *, allowed: bool) -> None:
    """UsageError (exit 2) naming the experiment, its first command check and its program,
    unless something above lets the experiment's commands run."""
    why = refusal(experiment, folder, allowed=allowed)
    if why is not None:
        raise UsageError(f"{experiment.name}: {why}")


@dataclass(frozen=True)
class TrustRow:
    """A trusted folder as `lab trust` lists it, with whether the trust still holds (the
    folder's hash, computed once)."""

    folder: str
    trusted: str  # when
    current: bool
    commands: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "trusted": self.trusted, "current": self.current,
                "commands": self.commands}


@dataclass(frozen=True)
class TrustChange:
    """What `lab trust PATH` did to one experiment folder, with what it may now run."""

    folder: str
    action: str  # trusted | forgotten | was not trusted
    commands: list[str]
    experiment: str | None = None  # trusted: the experiment and the hash it was trusted at
    hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.experiment is None:
            return {"folder": self.folder, "action": self.action, "commands": self.commands}
        return {"folder": self.folder, "action": self.action, "experiment": self.experiment,
                "commands": self.commands, "hash": self.hash}


def as_rows(trusted: dict[str, Trusted]) -> list[TrustRow]:
    return [TrustRow(t.folder, t.at, t.current, t.commands) for t in trusted.values()]


def trust_paths(targets: list[Path], *, forget: bool = False) -> list[TrustChange]:
    """`lab trust PATH…`: trust (or, with `forget`, stop trusting) each experiment folder; a
    catalog folder stands for every experiment in it. What each would run is returned, so the
    user sees what they trusted."""
    from illm_lab import catalog

    out: list[TrustChange] = []
    for target in targets:
        if not target.is_dir():
            raise UsageError(f"{target}: not a folder (give an experiment's folder or a catalog)")
        folders = [target] if (target / "experiment.yaml").is_file() else catalog.discover(target)
        if not folders:
            raise UsageError(f"{target}: no experiment.yaml in it or in its subfolders")
        for folder in folders:
            if forget:
                out.append(TrustChange(str(folder.resolve()),
                                       "forgotten" if revoke(folder) else "was not trusted", []))
                continue
            entry = catalog.load(folder)
            trusted = trust(folder, entry.experiment)
            out.append(TrustChange(trusted.folder, "trusted", trusted.commands, entry.name,
                                   trusted.hash))
    return out
