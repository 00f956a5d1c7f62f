"""What helps people write experiments and follow the roadmap, all offline: `lint` (with
`creators`, who may create a check target at run time), `scaffold` (`lab new`), `roadmap`
(progress from validation records) and `adr` (decision records)."""
