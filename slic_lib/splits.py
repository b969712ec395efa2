"""Train/validation splits of a dataset.

``fixed``: the split that came with the data (the Slic release's train and test files).
``every-nth`` (the paper's): within each class in file-name (time) order, every Nth file goes
to validation. ``grouped`` (the default): whole observation sequences go to one side, so
near-identical frames a few seconds apart never sit on both sides and inflate validation
accuracy. Sequences are found from the headers: frames of one class folder less than
``max_gap`` apart in time, at the same pointing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .dataset import SolarData
from .errors import SlicError

SPLITS = ("grouped", "every-nth", "fixed")


def split_every_nth(labels: Sequence[int], n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The Slic release's split (``data.py --percent_split 10``; the paper says only "taken randomly
    from the training set"): within each class, in stored (file-name, i.e. time) order, every
    ``n``-th file goes to validation (90/10 for ``n=10``). Returns ``(train_idx, val_idx)``."""
    labels = np.asarray(labels)
    val = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        val.append(idx[n - 1 :: n])
    val_idx = np.sort(np.concatenate(val)) if val else np.array([], dtype=int)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx


def split_grouped(
    labels: Sequence[int], groups: Sequence[int], val_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Whole observation sequences to one side, about ``val_fraction`` of each class to validation.

    Groups are shuffled with ``seed`` and taken into validation until the class's share is
    reached, so every class appears on both sides when it has at least two groups.
    """
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    val_mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        in_class = labels == label
        gids = np.unique(groups[in_class])
        rng.shuffle(gids)
        target = val_fraction * in_class.sum()
        taken = 0
        for g in gids[:-1] if len(gids) > 1 else []:  # always leave one group for training
            if taken >= target:
                break
            members = in_class & (groups == g)
            val_mask |= members
            taken += int(members.sum())
    return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def balanced_sample(labels: Sequence[int] | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``n`` items drawn without replacement, as equal per class as the pool allows.

    Classes take turns (in a random order), each giving a random unused item, until ``n`` are
    drawn; a class that runs out leaves its turns to the others. Returned sorted.
    """
    labels = np.asarray(labels)
    if n > len(labels):
        raise SlicError(f"cannot draw {n} training images from a pool of {len(labels)}.")
    classes = rng.permutation(np.unique(labels))
    pools = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    picked: list[int] = []
    while len(picked) < n:
        for c in classes:
            if len(picked) < n and pools[c]:
                picked.append(int(pools[c].pop()))
    return np.sort(np.asarray(picked, dtype=np.int64))


def split(data: SolarData, kind: str = "grouped", val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices of a dataset, by the named split (see module docstring)."""
    if kind == "grouped":
        return split_grouped(data.labels, data.groups, val_fraction, seed)
    if kind == "every-nth":
        return split_every_nth(data.labels, max(2, round(1 / val_fraction)))
    if kind == "fixed":
        if data.fixed_val is None:
            raise SlicError("this dataset carries no fixed split; use --split grouped or every-nth.")
        return np.flatnonzero(~data.fixed_val), np.flatnonzero(data.fixed_val)
    raise SlicError(f"unknown split {kind!r}; choose one of {', '.join(SPLITS)}.")
