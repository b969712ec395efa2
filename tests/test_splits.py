"""Train/validation splits: the paper's every-10th file, whole sequences, the release's own."""

import numpy as np
import pytest

from slic_lib.dataset import convert_slic_npz, load_dataset
from slic_lib.errors import SlicError
from slic_lib.splits import balanced_sample, split, split_every_nth, split_grouped


def test_every_nth_split_is_the_papers():
    labels = np.repeat([0, 1], 20)
    train, val = split_every_nth(labels, 10)
    assert val.tolist() == [9, 19, 29, 39]
    assert len(train) == 36 and not set(train) & set(val)


def test_grouped_split_never_splits_a_sequence():
    labels = np.repeat(np.arange(5), 40)
    groups = np.repeat(np.arange(50), 4)
    train, val = split_grouped(labels, groups, 0.1, seed=3)
    assert not set(groups[train]) & set(groups[val])
    assert set(labels[val]) == set(range(5))  # every class validated
    assert 0.08 < len(val) / len(labels) < 0.2
    # whereas the paper's split puts frames of one sequence on both sides
    t2, v2 = split_every_nth(labels, 10)
    assert set(groups[t2]) & set(groups[v2])


def test_fixed_split_round_trips_through_the_dataset_file(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("train.npz", 4), ("test.npz", 2)):
        labels = rng.integers(0, 5, n)
        np.savez(tmp_path / name, data=np.concatenate([labels[:, None], rng.integers(0, 256, (n, 32 * 32))], axis=1))
    data = load_dataset(convert_slic_npz(tmp_path / "train.npz", tmp_path / "r.h5", val_npz=tmp_path / "test.npz"))
    assert data.fixed_val.tolist() == [False] * 4 + [True] * 2 and data.paths[-1] == "test.npz#1"
    assert split(data, "fixed")[1].tolist() == [4, 5]


def test_balanced_sample():
    labels = np.array([0] * 20 + [3] * 5)
    rng = np.random.default_rng(0)
    pick = balanced_sample(labels, 8, rng)
    assert len(set(pick)) == 8 and (labels[pick] == 0).sum() == 4
    pick = balanced_sample(labels, 14, rng)  # class 3 runs out: the rest from class 0
    assert (labels[pick] == 3).sum() == 5 and len(set(pick)) == 14
    with pytest.raises(SlicError):
        balanced_sample(labels, 26, rng)
