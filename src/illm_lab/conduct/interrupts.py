"""Ctrl-C and SIGTERM during a conduct.

The first signal stops new work: it raises KeyboardInterrupt in the main thread, which the
pipeline turns into "interrupted" and then tears down (or keeps, per flag). While teardown itself
runs, a first signal is only noted, so cleanup is not cut short by an impatient key press. A
second signal exits at once with 130: the ledger is written atomically after every step, so what
it says is consistent and `lab down` finishes the job.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

from illm_lab.base.errors import EXIT_INTERRUPTED

# Everything a run imports lazily. An interrupt raised in the middle of an import leaves a
# half-initialised module behind (Python even wraps it into an unrelated RuntimeError), so a
# run imports all of it before it installs its handlers; later lazy imports are then lookups.
_RUN_PACKAGES = ("illm_lab.conduct", "illm_lab.engine", "illm_lab.kube", "illm_lab.checks",
                 "illm_lab.charts", "illm_lab.clusters", "illm_lab.reports", "illm_lab.tools",
                 "illm_lab.deploy")
_RUN_MODULES = ("illm_lab.authoring.lint", "illm_lab.authoring.creators", "jsonschema",
                "kubernetes_validate", "urllib.request")


def preload() -> None:
    for name in _RUN_PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            importlib.import_module(info.name)
    for name in _RUN_MODULES:
        importlib.import_module(name)


class Interrupts:
    """One per `lab conduct`, shared by its `--parallel` workers.

    Shielding is per thread: each worker shields its own teardown, so one worker finishing its
    teardown never un-shields another whose teardown has just begun.
    """

    def __init__(self) -> None:
        self.count = 0
        self.stop = threading.Event()
        self._previous: dict[int, Any] = {}
        self._local = threading.local()

    @property
    def shielded(self) -> bool:
        """True while the calling thread runs its teardown."""
        return bool(getattr(self._local, "shielded", False))

    @shielded.setter
    def shielded(self, value: bool) -> None:
        self._local.shielded = value

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        self.stop.set()
        if self.count > 1:
            os._exit(EXIT_INTERRUPTED)
        if not self.shielded:
            raise KeyboardInterrupt

    def __enter__(self) -> Interrupts:
        preload()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    @property
    def interrupted(self) -> bool:
        return self.count > 0
