"""Confusion matrix, precision and recall (the paper's Eqs. 9-14) and inference timing.

The counts come from scikit-learn; :func:`outcome_counts` spells out Eqs. 9-12 from a
confusion matrix so the paper's definitions can be checked against scikit-learn's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np


def confusion(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Confusion matrix ``c[i, j]``: images of true class ``i`` classified as ``j`` (Table 1)."""
    from sklearn.metrics import confusion_matrix

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
    from sklearn.metrics import precision_recall_fscore_support

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
        head = " " * w + "".join(f"{c[:10]:>11}" for c in self.class_names)
        rows = [f"{c:<{w}}" + "".join(f"{v:>11d}" for v in row) for c, row in zip(self.class_names, self.confusion)]
        pr = [f"{c:<{w}}precision {p:.4f}  recall {r:.4f}" for c, p, r in zip(self.class_names, self.precision, self.recall)]
        return "\n".join(
            [f"accuracy {self.accuracy:.4%} ({self.n - self.n_errors}/{self.n})", "confusion matrix (rows: true, columns: predicted)", head, *rows, *pr]
        )


def report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> Report:
    """Confusion matrix, precision and recall of predictions."""
    n = len(class_names)
    p, r = precision_recall(y_true, y_pred, n)
    return Report(tuple(class_names), confusion(y_true, y_pred, n), p, r)


def time_inference(model, images: np.ndarray, device: str = "auto", precision: str = "float32", batch_size: int = 64, repeats: int = 3) -> dict:
    """Seconds to classify ``images`` (N, S, S) end to end on a device, median of ``repeats``.

    Includes moving the batches to the device and reading back the predictions, as a user
    classifying a validation set would see it; one untimed warm-up pass comes first.

    Parameters
    ----------
    precision
        ``"float32"`` or ``"bfloat16"`` (autocast; CUDA, or CPU where supported).
    """
    import torch

    from .train import resolve_device

    dev = resolve_device(device)
    model = model.to(dev).eval()
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    use_amp = precision == "bfloat16"

    def once() -> None:
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
            for start in range(0, len(x), batch_size):
                model(x[start : start + batch_size].to(dev)).argmax(1).cpu()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    once()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    seconds = float(np.median(times))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    return {"device": name, "precision": precision, "n_images": len(x), "seconds": seconds, "seconds_per_image": seconds / max(len(x), 1), "batch_size": batch_size}
