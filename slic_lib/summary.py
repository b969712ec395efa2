"""``figures/<profile>/summary.json``: the headline numbers of one run, written by the notebooks.

Each notebook merges its results in with :func:`update`; ``slic paper`` checks at the end
that every key of :data:`REQUIRED` is there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .paths import figures_dir
from .results import atomic_write, plain

REQUIRED = (
    "profile",
    "data_source",
    "synthetic_data",
    "validation_accuracy",
    "best_learning_rate",
    "best_epoch",
    "confusion_matrix",
    "precision",
    "recall",
    "inference_seconds",
    "resolution_test",
    "adversarial",
)


def path(profile: str) -> Path:
    return figures_dir(profile) / "summary.json"


def read(profile: str) -> dict:
    """The summary so far (empty when none)."""
    p = path(profile)
    return json.loads(p.read_text()) if p.exists() else {}


def update(profile: str, /, **values: Any) -> dict:
    """Merge ``values`` into the profile's summary, atomically; returns the new summary."""
    data = {**read(profile), **plain(values)}
    atomic_write(path(profile), lambda fh: json.dump(data, fh, indent=2))
    return data


def missing(profile: str) -> list[str]:
    """Required keys not yet in the summary."""
    data = read(profile)
    return [k for k in REQUIRED if k not in data]
