"""illm-lab: run, check and tear down Kubernetes learning experiments with one command."""

__version__ = "0.1.0"
