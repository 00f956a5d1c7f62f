"""Catalog status: every experiment rendered with its real charts, linted, applied and removed.

`scripts/verify-catalog` is the entry point; its output is docs/catalog-status.md. Split by
concern so each part can be read and tested alone:

* `core` — one experiment: render at defaults, lint, choose where to apply, the table row;
* `tier3` — a server-side dry run on a real API server, for experiments it can judge;
* `emulated` — a real apply and removal through the engine on the API emulator (tier 2);
* `markdown` — the document.
"""
