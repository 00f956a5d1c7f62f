"""Pydantic models of lab's inputs and records. No I/O happens here.

Nothing is imported here, so that `illm_lab.model.phases` stays free of pydantic.
"""
