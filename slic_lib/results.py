"""Result files: what an experiment computed, kept so that every figure can be redrawn.

Slow computation writes its numbers (and the few images its figures show) here, under
``data/<profile>/results/``; figure functions read only these files (showyourwork's rule), so
a figure can be restyled and redrawn without recomputing anything::

    results.write_json("cpu", "adversarial", {...})        # adversarial.json
    results.write_table("cpu", "lr_sweep", frame)          # lr_sweep.csv
    results.write_arrays("cpu", "adversarial", probs=...)  # adversarial.npz

Every write is atomic (a temporary file in the same folder, then a rename), so a run killed
mid-write leaves the previous file whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import SlicError
from .paths import atomic_write, results_dir


def plain(obj: Any) -> Any:
    """A JSON-ready copy: numpy scalars and arrays to Python, tuples to lists, NaN to None, paths to str."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, np.generic):
        return plain(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _path(profile: str, name: str, suffix: str) -> Path:
    return results_dir(profile) / f"{name}{suffix}"


def _missing(path: Path) -> SlicError:
    return SlicError(f"result file {path} does not exist; run the notebook that computes it first (slic paper).")


def write_json(profile: str, name: str, obj: Any) -> Path:
    """Store ``obj`` (dicts, lists, numbers, strings, numpy values) as ``<name>.json``."""
    return atomic_write(_path(profile, name, ".json"), lambda fh: json.dump(plain(obj), fh, indent=2))


def read_json(profile: str, name: str) -> Any:
    path = _path(profile, name, ".json")
    if not path.exists():
        raise _missing(path)
    return json.loads(path.read_text())


def write_table(profile: str, name: str, frame) -> Path:
    """Store a pandas DataFrame as ``<name>.csv`` (without its index)."""
    return atomic_write(_path(profile, name, ".csv"), lambda fh: frame.to_csv(fh, index=False))


def read_table(profile: str, name: str):
    path = _path(profile, name, ".csv")
    if not path.exists():
        raise _missing(path)
    return pd.read_csv(path)


def write_arrays(profile: str, name: str, **arrays: Any) -> Path:
    """Store numpy arrays as ``<name>.npz`` (uncompressed: they are small and read often)."""
    return atomic_write(_path(profile, name, ".npz"), lambda fh: np.savez(fh, **arrays), mode="wb")


def read_arrays(profile: str, name: str) -> dict[str, np.ndarray]:
    path = _path(profile, name, ".npz")
    if not path.exists():
        raise _missing(path)
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def exists(profile: str, name: str, suffix: str = ".json") -> bool:
    return _path(profile, name, suffix).exists()


def remove(profile: str, *names: str) -> None:
    """Delete the result files of ``names`` (every suffix): a step that does not apply to this run
    must not leave an earlier run's result to be drawn again under this run's label."""
    for name in names:
        for suffix in (".json", ".csv", ".npz"):
            _path(profile, name, suffix).unlink(missing_ok=True)
