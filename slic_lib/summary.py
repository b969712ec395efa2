"""``figures/<profile>/summary.json``: the headline numbers of one run, written by the notebooks.

Each notebook merges its results in with :func:`update`; ``slic paper`` checks at the end
that every key of :data:`REQUIRED` is there.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .paths import figures_dir

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


def _plain(obj: Any) -> Any:
    """JSON-ready copy: numpy scalars and arrays to Python, tuples to lists, NaN to None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def read(profile: str) -> dict:
    """The summary so far (empty when none)."""
    p = path(profile)
    return json.loads(p.read_text()) if p.exists() else {}


def update(profile: str, /, **values: Any) -> dict:
    """Merge ``values`` into the profile's summary, atomically; returns the new summary."""
    data = {**read(profile), **_plain(values)}
    p = path(profile)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".summary.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, p)
    return data


def missing(profile: str) -> list[str]:
    """Required keys not yet in the summary."""
    data = read(profile)
    return [k for k in REQUIRED if k not in data]
