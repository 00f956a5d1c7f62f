"""The engine: applying rendered objects to a cluster, waiting for them, removing them again.

It talks to clusters only through `illm_lab.kube` (never `kubernetes` directly) and reports
progress as events (`events.py`), never by printing. Modules, in the order a deploy uses them:
`inventory` (labels, hashes) → `order` (phases) → `apply` (server-side apply, skip unchanged,
`drift` detection) → `wait` (+ `readiness` rules) → `prune` (stale objects, ordered deletion);
`diff` is the dry-run view. The ledger (`illm_lab.ledger`) records what they touch.
"""
