"""Pydantic models of lab's inputs and records. No I/O happens here."""

from illm_lab.model.experiment import API_VERSION, Experiment

__all__ = ["API_VERSION", "Experiment"]
