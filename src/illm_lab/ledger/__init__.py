"""The run ledger: the crash-safe record of what every run did, from which teardown works
(`lab down` after a crash or Ctrl-C) and which `lab status` reads. See `store` for the format."""

from illm_lab.ledger.store import Ledger, Outstanding, Run, Unreadable

__all__ = ["Ledger", "Outstanding", "Run", "Unreadable"]
