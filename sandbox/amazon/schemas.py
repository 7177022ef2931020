"""Request-body validation against Amazon's official Swagger 2.0 models (vendored in models/).

A Swagger 2.0 ``definitions`` object is JSON Schema draft 4 plus vendor keys (``x-...``),
which validators ignore. A definition is validated by wrapping it as
``{"$ref": "#/definitions/<Name>", "definitions": <all definitions>}`` so that its inner
``$ref``s resolve inside the same model file. Used by the emulator to reject malformed
bodies (400 InvalidInput) and by tests to check what the connector sends.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

MODELS_DIR = Path(__file__).parent / "models"
MODEL_FILES = {
    "listings": "listingsItems_2021-08-01.json",
    "fbaInventory": "fbaInventory.json",
    "outbound": "fulfillmentOutbound_2020-07-01.json",
    "reports": "reports_2021-06-30.json",
}


@cache
def model(name: str) -> dict[str, Any]:
    """The parsed model file for ``name`` (a key of MODEL_FILES)."""
    return json.loads((MODELS_DIR / MODEL_FILES[name]).read_text(encoding="utf-8"))


@cache
def validator(model_name: str, definition: str) -> Draft4Validator:
    """A draft-4 validator for one definition of one model (date-time formats checked)."""
    definitions = model(model_name)["definitions"]
    if definition not in definitions:
        raise KeyError(f"{definition} is not defined in {MODEL_FILES[model_name]}")
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
    return Draft4Validator(schema, format_checker=FormatChecker())


def body_errors(model_name: str, definition: str, body: Any) -> list[str]:
    """Readable validation errors of ``body`` against a model definition (empty = valid)."""
    errors = sorted(validator(model_name, definition).iter_errors(body), key=lambda e: list(e.path))
    out = []
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        out.append(f"{where}: {error.message}")
    return out
