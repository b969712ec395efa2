"""Fine-tuning: what each mode trains, the layer-wise learning rates, scores and the learning
curve, on tiny models and stripe patterns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TINY, pattern
from slic_lib import finetune
from slic_lib.classes import CLASSES
from slic_lib.dataset import SolarData
from slic_lib.errors import SlicError
from slic_lib.inference import cpu_threads
from slic_lib.model import ModelConfig, SlicNet
from slic_lib.preprocess import PreprocessConfig, preprocess_array

FIL, QUIET = CLASSES.index("filaments"), CLASSES.index("quiet")


def tiny_base(seed: int = 0) -> SlicNet:
    torch.manual_seed(seed)
    return SlicNet(ModelConfig(**TINY)).eval()


def two_class_data(n_per_class: int = 12, seed: int = 0, class_names=CLASSES, labels=(FIL, QUIET)) -> SolarData:
    """Filament-like and quiet-like stripe patterns, labelled with two of the five classes."""
    rng = np.random.default_rng(seed)
    config = PreprocessConfig(size=32)
    images = [preprocess_array(pattern([0, 3][k], rng, 32).astype(float), config) for k in range(len(labels)) for _ in range(n_per_class)]
    ys = [label for label in labels for _ in range(n_per_class)]
    return SolarData.from_arrays(np.stack(images), ys, class_names, config, synthetic=True)


def _state(model: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """Parameters and buffers (BatchNorm running statistics included) under a prefix."""
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith(prefix)}


def _changed(before: dict, after_model: torch.nn.Module, prefix: str) -> bool:
    after = _state(after_model, prefix)
    return any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks: one torch thread is faster, and far faster on a busy shared machine."""
    with cpu_threads(1):
        yield


@pytest.fixture(scope="module")
def data() -> SolarData:
    return two_class_data(8)


def test_classifier_mode_trains_only_the_classifier(data):
    base = tiny_base()
    before = {name: _state(base, name + ".") for name, _ in finetune.conv_blocks(base)}
    head = _state(base, "classifier.")
    tuned, history = finetune.finetune(base, data, np.arange(len(data)), mode="classifier", epochs=2, batch_size=16, progress=False)
    for name in before:
        assert not _changed(before[name], tuned, name + "."), f"{name} (weights or BatchNorm statistics) changed"
    assert _changed(head, tuned, "classifier.")
    assert len(history) == 2
    assert not _changed(head, base, "classifier.")  # the caller's model is never modified
    assert all(p.requires_grad for p in tuned.parameters())  # nothing stays frozen after the fit


def test_top_mode_trains_top_blocks_and_classifier_only(data):
    base = tiny_base()
    before = {name: _state(base, name + ".") for name, _ in finetune.conv_blocks(base)}
    tuned, _ = finetune.finetune(base, data, np.arange(len(data)), mode="top", top_blocks=2, epochs=2, batch_size=16, progress=False)
    changed = {name for name in before if _changed(before[name], tuned, name + ".")}
    assert changed == {"layer7", "layer8"}


def test_layerwise_learning_rates_decay_downwards():
    base = tiny_base()
    groups = finetune.parameter_groups(base, "top", lr=0.1, top_blocks=3, layer_decay=0.5)
    assert [g["name"] for g in groups] == ["classifier", "layer8", "layer7", "layer6"]
    assert [g["lr"] for g in groups] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    every = finetune.parameter_groups(base, "all", lr=1.0, layer_decay=0.5)
    assert [g["name"] for g in every][-1] == "layer1"
    assert every[-1]["lr"] == pytest.approx(0.5**8)
    assert len(finetune.parameter_groups(base, "classifier")) == 1
    ids = [id(p) for g in every for p in g["params"]]  # every parameter exactly once
    assert len(ids) == len(set(ids)) == len(list(base.parameters()))
    with pytest.raises(SlicError, match="top_blocks"):
        finetune.parameter_groups(base, "top", top_blocks=9)
    with pytest.raises(SlicError, match="mode"):
        finetune.parameter_groups(base, "everything")


def test_finetune_learns_and_keeps_the_five_way_head(data):
    base = tiny_base()
    idx = np.arange(len(data))
    zero = finetune.score(base, data, idx)
    tuned, _ = finetune.finetune(base, data, idx, mode="all", lr=1e-2, epochs=6, batch_size=8, augment=False, progress=False)
    after = finetune.score(tuned, data, idx)
    assert after["accuracy"] >= 0.9 > zero["balanced_accuracy"]
    assert tuned.config.n_classes == 5 and tuned.class_names == CLASSES
    assert tuned(torch.from_numpy(data.images[:3]).unsqueeze(1)).shape == (3, 5)
    conf = finetune.confusion_frame(tuned, data, idx)
    assert list(conf.index) == ["filaments", "quiet"] and list(conf.columns) == list(CLASSES)
    assert conf.to_numpy().sum() == len(data)
    assert finetune.predictions(tuned, data, idx[:4]).shape == (4, 5)


def test_validation_keeps_the_best_epoch(data):
    base = tiny_base()
    idx = np.arange(len(data))
    tuned, history = finetune.finetune(base, data, idx, idx, mode="all", lr=1e-2, epochs=5, batch_size=8, augment=False, progress=False)
    best = max(history, key=lambda r: (r["val_accuracy"], -r["epoch"]))
    assert finetune.score(tuned, data, idx)["accuracy"] == pytest.approx(best["val_accuracy"])


def test_two_class_data_maps_onto_the_model_classes():
    two = two_class_data(4, class_names=("filaments", "quiet"), labels=(0, 1))
    base = tiny_base()
    tuned, _ = finetune.finetune(base, two, np.arange(len(two)), epochs=1, batch_size=8, progress=False)
    assert tuned.config.n_classes == 5
    renamed = two_class_data(4, class_names=("filament", "quiet Sun"), labels=(0, 1))
    with pytest.raises(SlicError, match="class_map"):
        finetune.finetune(base, renamed, np.arange(8), epochs=1, progress=False)
    mapped = {"filament": "filaments", "quiet Sun": "quiet"}
    finetune.finetune(base, renamed, np.arange(8), epochs=1, progress=False, class_map=mapped)
    assert finetune.targets(base, renamed, [0, 7], mapped).tolist() == [FIL, QUIET]


def test_preprocessing_mismatch_and_empty_sets_are_refused(data):
    base = tiny_base()
    with pytest.raises(SlicError, match="no training images"):
        finetune.finetune(base, data, [], epochs=1, progress=False)
    base.preprocessing = PreprocessConfig(size=32, mode="slic-npz")
    with pytest.raises(SlicError, match="preprocess"):
        finetune.finetune(base, data, np.arange(4), epochs=1, progress=False)
    with pytest.raises(SlicError, match="preprocessed"):
        finetune.predictions(base, data, [0])


def test_from_scratch_is_a_fresh_network(data):
    base = tiny_base()
    fresh, _ = finetune.from_scratch(base, data, np.arange(len(data)), epochs=1, batch_size=16, seed=3, progress=False)
    assert fresh.config == base.config and fresh.class_names == base.class_names
    w0, w1 = base.layer1[0].weight, fresh.layer1[0].weight
    assert not torch.allclose(w0, w1, atol=1e-3)
    # every block learns, BatchNorm statistics included
    assert not torch.allclose(fresh.layer1[1].running_mean, torch.zeros_like(fresh.layer1[1].running_mean))
    # fresh He initialisation, not the base's weights moved by one epoch
    torch.manual_seed(3)
    assert torch.allclose(SlicNet(base.config).layer1[0].weight, w1, atol=0.05)


def test_epochs_for_gives_at_least_the_steps():
    assert finetune.epochs_for(4, 16, 16) == 16  # one step per epoch
    assert finetune.epochs_for(64, 16, 16) == 4
    assert finetune.epochs_for(100, 16, 1) == 1


def test_learning_curve_rows(data):
    base = tiny_base()
    test_idx = np.arange(0, len(data), 3)
    pool = np.setdiff1d(np.arange(len(data)), test_idx)
    curve = finetune.learning_curve(base, data, test_idx, pool, sizes=(2, 4, 100), modes=("zero-shot", "classifier", "top", "scratch"),
                                    repeats=2, steps=1, batch_size=4, progress=False)
    assert len(curve) == 4 * 2 * 2  # size 100 exceeds the pool of 10 and is left out
    assert set(curve["n_train"]) == {2, 4}
    assert not curve.duplicated(["mode", "n_train", "repeat"]).any()
    assert curve["accuracy"].between(0, 1).all() and (curve["n_test"] == len(test_idx)).all()
    assert curve[curve["mode"] == "zero-shot"]["accuracy"].nunique() == 1
    assert len(finetune.curve_summary(curve)) == 4 * 2
    # side by side in worker processes: the same rows and numbers, each fit seeded and on one thread
    side_by_side = finetune.learning_curve(base, data, test_idx, pool, sizes=(2, 4, 100), modes=("zero-shot", "classifier", "top", "scratch"),
                                           repeats=2, steps=1, batch_size=4, progress=False, threads=1, workers=2)
    alone = finetune.learning_curve(base, data, test_idx, pool, sizes=(2, 4, 100), modes=("zero-shot", "classifier", "top", "scratch"),
                                    repeats=2, steps=1, batch_size=4, progress=False, threads=1)
    columns = ["mode", "n_train", "repeat", "accuracy", "balanced_accuracy", "n_test", "epochs"]
    pd.testing.assert_frame_equal(side_by_side[columns], alone[columns])
    with pytest.raises(SlicError, match="overlap"):
        finetune.learning_curve(base, data, test_idx, test_idx, progress=False)
    with pytest.raises(SlicError, match="mode"):
        finetune.learning_curve(base, data, test_idx, pool, modes=("magic",), progress=False)
