"""Deploying a rendering and removing it again: `deployment` (apply waves, hooks, waits, prune,
diff and removal, built on `engine/`), every step recorded in the run ledger (`ledger/`)."""
