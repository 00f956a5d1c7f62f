"""The JSON Schema of experiment.yaml, generated from the models (a committed copy lives in
schema/experiment.schema.json for editors; a test keeps it in sync)."""

from __future__ import annotations

import json
from typing import Any

from illm_lab.model.experiment import API_VERSION, Experiment

SCHEMA_ID = "https://illm.io/lab/schema/experiment.schema.json"


def experiment_schema() -> dict[str, Any]:
    schema = Experiment.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"illm-lab Experiment ({API_VERSION})",
        **schema,
    }


def schema_json() -> str:
    return json.dumps(experiment_schema(), indent=2, sort_keys=True) + "\n"
