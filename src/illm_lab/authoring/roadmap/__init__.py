"""`lab roadmap`: the learning roadmap's progress, computed instead of hand-kept.

A status column written by hand goes stale the day after it is written, so the roadmap documents
hold no status at all. They name their experiments in a checklist under `## Experiments`, one
line each (a list item with a checkbox, then the name in backticks, then what it shows; the
mark `(planned)` right after the name for one not built yet), and the state of each experiment
is read from the repository:

- *validated* — `experiments/<name>/validation.yaml` (written by `lab conduct --record`) exists,
  its latest record passed at least one check and failed none, and it was written for the
  experiment as it is now: its `experimentHash` equals the hash of the folder's files;
- *stale* — that record passed, but the experiment changed since (another hash, or a record
  from before records carried one): it proves an older version, so it does not count;
- *built* — `experiments/<name>/experiment.yaml` exists, with no record that counts (none, a
  failed one, or one without a single check);
- *planned* — marked `(planned)` and not built yet;
- *missing* — named without the mark, but there is no such experiment (a broken promise).

A phase (or appendix) is *not started* while none of its experiments exists, *built* once one
does, *validated* when every experiment it names is validated, and *learner-completed* when the
learner's own tutorial progress (`lab tutorial`, passed in by the caller) says every checkpoint of
every tutorial among its experiments passed. Files that cannot be read or parsed are bad input
(exit 2) naming the file and line; inconsistencies that do not stop the count are returned as
warnings.

The package is cut by what each part reads or makes: `documents` (the roadmap's markdown
parsed), `records` (the experiment folders, validation records and tutorial checkpoints),
`states` (each experiment's and document's state, computed from both) and `views` (plain data
for the UI and JSON). Everything is re-exported here: callers write `from illm_lab.authoring
import roadmap` and never depend on the cut.
"""

from __future__ import annotations

from illm_lab.authoring.roadmap.documents import (
    CHECKLIST_SECTION,
    DOC_STATES,
    MANIFEST,
    README,
    RECORD_FILE,
    STATES,
    TECHNOLOGY_ADRS,
    DocState,
    Document,
    Item,
    Kind,
    Roadmap,
    State,
    load,
    parse_document,
    roadmap_dir,
)
from illm_lab.authoring.roadmap.records import (
    RecordSummary,
    TutorialProgress,
    experiment_folders,
    latest_record,
    tutorial_checkpoints,
)
from illm_lab.authoring.roadmap.states import DocumentStatus, ExperimentStatus, Progress, progress
from illm_lab.authoring.roadmap.views import (
    checklist_rows,
    detail,
    detail_title,
    find,
    metric_rows,
    metrics,
    phase_rows,
    summary,
    tutorial_text,
)

__all__ = [
    "CHECKLIST_SECTION", "DOC_STATES", "MANIFEST", "README", "RECORD_FILE", "STATES",
    "TECHNOLOGY_ADRS", "DocState", "Document", "DocumentStatus", "ExperimentStatus", "Item", "Kind",
    "Progress", "RecordSummary", "Roadmap", "State", "TutorialProgress", "checklist_rows", "detail",
    "detail_title", "experiment_folders", "find", "latest_record", "load", "metric_rows", "metrics",
    "parse_document", "phase_rows", "progress", "roadmap_dir", "summary", "tutorial_checkpoints",
    "tutorial_text",
]
