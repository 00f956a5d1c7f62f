"""Command checks are opt-in: a `command` check runs a local program with the user's rights when
the experiment is conducted or validated, so an experiment from someone else must not run one
unnoticed. `lab conduct`, `lab validate` and the tutorial commands refuse such an experiment,
before anything is deployed, unless `--allow-commands` is given or the lab config says
`allowCommands: true`; `lab show` and `lab lint` list the programs it would run.
"""

from __future__ import annotations

from illm_lab.base.errors import UsageError
from illm_lab.config import labconfig
from illm_lab.model.experiment import Experiment

FLAG = "--allow-commands"


def refuse_unless_allowed(experiment: Experiment, *, allowed: bool) -> None:
    """UsageError naming the first command check and its program, unless commands are allowed
    (by the flag, `allowed`, or by the lab config)."""
    commands = experiment.commands()
    if not commands or allowed or labconfig.load().config.allow_commands:
        return
    name, argv, _path = commands[0]
    more = f" (and {len(commands) - 1} more command checks)" if len(commands) > 1 else ""
    raise UsageError(
        f"{experiment.name}: check {name[:80]!r} runs the local program {argv[0][:120]!r} with your "
        f"rights{more}; pass {FLAG} to let it run (or set allowCommands: true in the lab config)"
    )
