"""`lab conduct`: an experiment from manifest to verdict and back to a clean cluster.

The pipeline lives in `pipeline.py` and emits events (`illm_lab.events`) that the UI, the
`--events` writer and the reporters consume; `report.py` holds the result and its JSON shape;
`interrupts.py` the Ctrl-C/SIGTERM policy; `checking.py` turns manifest checks into probes on
live clusters.
"""
