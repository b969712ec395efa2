"""Confusion matrix, precision and recall (the paper's Eqs. 9-14).

The counts come from scikit-learn; :func:`outcome_counts` spells out Eqs. 9-12 from a
confusion matrix so the paper's definitions can be checked against scikit-learn's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def confusion(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Confusion matrix ``c[i, j]``: images of true class ``i`` classified as ``j`` (Table 1)."""
    return confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))


def outcome_counts(cm: np.ndarray) -> dict[str, np.ndarray]:
    """True/false positives/negatives per class from a confusion matrix (Eqs. 9-12)."""
    cm = np.asarray(cm)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def precision_recall(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision (Eq. 13) and recall (Eq. 14); a class never predicted has precision 0."""
    p, r, _, _ = precision_recall_fscore_support(y_true, y_pred, labels=list(range(n_classes)), zero_division=0)
    return p, r


@dataclass
class Report:
    """Classification quality on one set of images."""

    class_names: tuple[str, ...]
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.n, 1))

    @property
    def n_errors(self) -> int:
        return self.n - int(np.trace(self.confusion))

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "confusion_matrix": self.confusion.tolist(),
            "precision": dict(zip(self.class_names, map(float, self.precision))),
            "recall": dict(zip(self.class_names, map(float, self.recall))),
        }

    def __str__(self) -> str:
        w = max(len(c) for c in self.class_names) + 2
        col = max(w, 8)  # columns wide enough for every class name ("prominences" was cut to "prominence")
        head = " " * w + "".join(f"{c:>{col}}" for c in self.class_names)
        rows = [f"{c:<{w}}" + "".join(f"{v:>{col}d}" for v in row) for c, row in zip(self.class_names, self.confusion)]
        pr = [f"{c:<{w}}precision {p:.4f}  recall {r:.4f}" for c, p, r in zip(self.class_names, self.precision, self.recall)]
        return "\n".join(
            [f"accuracy {self.accuracy:.4%} ({self.n - self.n_errors}/{self.n})", "confusion matrix (rows: true, columns: predicted)", head, *rows, *pr]
        )


def report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> Report:
    """Confusion matrix, precision and recall of predictions."""
    n = len(class_names)
    p, r = precision_recall(y_true, y_pred, n)
    return Report(tuple(class_names), confusion(y_true, y_pred, n), p, r)
