"""`lab conduct`: an experiment from manifest to verdict and back to a clean cluster.

The pipeline lives in `pipeline.py` and emits events (`illm_lab.events`) that the UI, the
`--events` writer and the reporters consume; the result it fills in is
`reports.conduct.ConductReport` (one layer down, so the reporters read it as a type);
`interrupts.py` the Ctrl-C/SIGTERM policy; `checking.py` turns manifest checks into probes on
live clusters.
"""
