"""Every table the project writes: CSV for programs, Markdown (with its caption) for readers.

:func:`write` is the one way a table leaves the library::

    tables.write(metrics_frame(p, r, names), figures / "precision_recall",
                 "Precision and recall per class (Eqs. 13-14; simulated data, profile cpu)")

writes ``precision_recall.csv`` and ``precision_recall.md``; the Markdown starts with the
caption, then the table drawn by pandas' ``to_markdown`` (tabulate). Numbers are written
with four significant digits in Markdown and in full in CSV; missing values read "n/a".
A frame's index is written when it has a name (e.g. ``class``), and dropped when it is the
default 0, 1, 2, ...
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import atomic_write

MISSING = "n/a"


def _has_index(frame: pd.DataFrame) -> bool:
    return any(name is not None for name in frame.index.names)


def _cell(value: object, digits: int) -> str:
    """A number with ``digits`` significant digits (integers in full), "n/a" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.{digits}g}" if abs(v) < 10**digits else f"{v:.0f}"
    return str(value)


def markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a Markdown (GitHub pipe) table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; its index becomes the first column when it is named.
    digits : int
        Significant digits of non-integer numbers.

    Returns
    -------
    str
        The table, numbers right-aligned, text left-aligned, without a trailing newline.
    """
    index = _has_index(frame)
    shown = frame.reset_index() if index else frame
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c]) for c in shown.columns]
    cells = shown.apply(lambda col: col.map(lambda v: _cell(v, digits))).astype(str)
    return cells.to_markdown(index=False, disable_numparse=True, colalign=["right" if n else "left" for n in numeric])


def write(frame: pd.DataFrame, path_without_ext: str | os.PathLike, caption: str = "", digits: int = 4) -> tuple[Path, Path]:
    """Write ``frame`` as ``<path>.csv`` and ``<path>.md`` (caption, blank line, table).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (its index is written when named).
    path_without_ext : str or os.PathLike
        Path without suffix; the parent folder is created.
    caption : str
        First paragraph of the Markdown file: what the table shows and from which data
        (simulated data must be named as such).
    digits : int
        Significant digits in Markdown.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The CSV and Markdown files, each written atomically.
    """
    base = Path(path_without_ext)
    index = _has_index(frame)
    csv = atomic_write(base.with_name(f"{base.name}.csv"), lambda fh: frame.to_csv(fh, index=index))
    text = (f"{caption.strip()}\n\n" if caption.strip() else "") + markdown(frame, digits) + "\n"
    md = atomic_write(base.with_name(f"{base.name}.md"), lambda fh: fh.write(text))
    return csv, md


def confusion_frame(cm: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Table 1 as a DataFrame: true classes in the rows (index ``true \\ predicted``), predictions in the columns."""
    cm = np.asarray(cm)
    n = len(class_names)
    if cm.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {cm.shape} does not match {n} class names")
    return pd.DataFrame(cm.astype(int), index=pd.Index(list(class_names), name="true \\ predicted"), columns=list(class_names))


def confusion_markdown(cm: np.ndarray, class_names: Sequence[str]) -> str:
    """Table 1 as a Markdown table: true classes in rows, the network's classification in columns."""
    return markdown(confusion_frame(cm, class_names))


def metrics_frame(precision: Sequence[float], recall: Sequence[float], class_names: Sequence[str]) -> pd.DataFrame:
    """Precision and recall per class (the paper's Equations 13 and 14), indexed by ``class``.

    A class never predicted has an undefined precision (NaN, "n/a" in Markdown).
    """
    if not (len(precision) == len(recall) == len(class_names)):
        raise ValueError("precision, recall and class_names must have the same length")
    return pd.DataFrame({"precision": np.asarray(precision, float), "recall": np.asarray(recall, float)},
                        index=pd.Index(list(class_names), name="class"))
