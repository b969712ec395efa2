"""``figures/<profile>/summary.json``: the headline numbers of one run, written by the notebooks.

Each notebook merges its results in with :func:`update`; ``slic paper`` checks at the end
that every key of :data:`REQUIRED` is there. A whole ``slic paper`` run starts a new summary
(:func:`start`), so that it holds this run's numbers alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .paths import atomic_write, figures_dir
from .results import plain

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


def start(profile: str) -> None:
    """Begin a run's summary: a complete last ``summary.json`` and its ``headline.md`` become ``*.previous.*``.

    Merging into the last run's summary let numbers outlive the run that made them: those of a
    notebook stopped before its checks (an interrupted ``make paper``) in a later run's headline
    that never ran that notebook, or a failed run on another dataset beside the old numbers.
    An incomplete summary (a run that failed or was stopped) is dropped instead, so two failed
    runs in a row do not push the last complete one out, and the two ``*.previous.*`` files
    always describe the same run.
    """
    summary, head = path(profile), path(profile).with_name("headline.md")
    if summary.exists() and not missing(profile):
        for p in (summary, head):
            previous = p.with_name(f"{p.stem}.previous{p.suffix}")
            if p.exists():
                os.replace(p, previous)
            else:
                previous.unlink(missing_ok=True)
    else:
        summary.unlink(missing_ok=True)


def update(profile: str, /, **values: Any) -> dict:
    """Merge ``values`` into the profile's summary, atomically; returns the new summary."""
    data = {**read(profile), **plain(values)}
    atomic_write(path(profile), lambda fh: json.dump(data, fh, indent=2))
    return data


def drop(profile: str, *keys: str) -> None:
    """Remove ``keys`` from the summary (a step that does not apply to this run must not leave an earlier run's numbers)."""
    data = read(profile)
    if any(k in data for k in keys):
        data = {k: v for k, v in data.items() if k not in keys}
        atomic_write(path(profile), lambda fh: json.dump(data, fh, indent=2))


def missing(profile: str) -> list[str]:
    """Required keys not yet in the summary."""
    data = read(profile)
    return [k for k in REQUIRED if k not in data]
