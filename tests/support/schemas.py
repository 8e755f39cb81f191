"""Validate layerscope's JSON documents against the JSON Schemas shipped in the package (layerscope/schemas/).

The schema files are package data read as files; the validator is the `jsonschema` package, not layerscope.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["SCHEMA_FILES", "validate_document"]

#: The `schema` value of a document → the file of its JSON Schema.
SCHEMA_FILES = {
    "layerscope.analysis/v1": "analysis-v1.schema.json",
    "layerscope.calibration/v1": "calibration-v1.schema.json",
    "layerscope.recommendation/v1": "recommendation-v1.schema.json",
    "layerscope.report/v1": "report-v1.schema.json",
    "layerscope.files/v1": "files-v1.schema.json",
}


@cache
def _validator(name: str) -> Draft202012Validator:
    text = (resources.files("layerscope") / "schemas" / SCHEMA_FILES[name]).read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_document(doc: Any) -> None:
    """Raise jsonschema.ValidationError unless *doc* matches the shipped schema its `schema` field names;
    documents of other schemas pass through."""
    name = doc.get("schema") if isinstance(doc, dict) else None
    if name in SCHEMA_FILES:
        _validator(name).validate(doc)
