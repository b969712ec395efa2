"""Transfer learning: what each mode trains, the layer-wise learning rates, the learning curve,
the BBSO crop dataset and the simulated-AIA transfer, on tiny models and synthetic arrays."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY, pattern
from slic_lib import transfer
from slic_lib.classes import CLASSES
from slic_lib.dataset import SolarData
from slic_lib.errors import SlicError
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
    images, ys = [], []
    for k, label in enumerate(labels):
        for _ in range(n_per_class):
            images.append(preprocess_array(pattern([0, 3][k], rng, 32).astype(float), config))
            ys.append(label)
    n = len(ys)
    return SolarData(
        images=np.stack(images), labels=np.asarray(ys, dtype=np.int64), paths=np.array([f"img{i}" for i in range(n)]),
        times=np.array([""] * n), groups=np.arange(n), synthetic=np.ones(n, dtype=bool), class_names=tuple(class_names),
        preprocessing=config, skipped=[],
    )


def _state(model: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """Parameters and buffers (BatchNorm running statistics included) under a prefix."""
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith(prefix)}


def _changed(before: dict, after_model: torch.nn.Module, prefix: str) -> bool:
    after = _state(after_model, prefix)
    return any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks: one torch thread is faster, and far faster on a busy shared machine."""
    with transfer.cpu_threads(1):
        yield


def test_cpu_threads_restores_the_setting():
    before = torch.get_num_threads()
    with transfer.cpu_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with transfer.cpu_threads(None):
        assert torch.get_num_threads() == before


@pytest.fixture(scope="module")
def data() -> SolarData:
    return two_class_data(8)


def test_classifier_mode_trains_only_the_classifier(data):
    base = tiny_base()
    before = {name: _state(base, name + ".") for name, _ in transfer.conv_blocks(base)}
    head = _state(base, "classifier.")
    tuned, history = transfer.finetune(base, data, np.arange(len(data)), mode="classifier", epochs=2, batch_size=16, progress=False)
    for name in before:
        assert not _changed(before[name], tuned, name + "."), f"{name} (weights or BatchNorm statistics) changed"
    assert _changed(head, tuned, "classifier.")
    assert len(history) == 2
    # the caller's model is never modified
    assert not _changed(head, base, "classifier.")


def test_top_mode_trains_top_blocks_and_classifier_only(data):
    base = tiny_base()
    before = {name: _state(base, name + ".") for name, _ in transfer.conv_blocks(base)}
    tuned, _ = transfer.finetune(base, data, np.arange(len(data)), mode="top", top_blocks=2, epochs=2, batch_size=16, progress=False)
    changed = {name for name in before if _changed(before[name], tuned, name + ".")}
    assert changed == {"layer7", "layer8"}


def test_layerwise_learning_rates_decay_downwards():
    base = tiny_base()
    groups = transfer.parameter_groups(base, "top", lr=0.1, top_blocks=3, layer_decay=0.5)
    assert [g["name"] for g in groups] == ["classifier", "layer8", "layer7", "layer6"]
    assert [g["lr"] for g in groups] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    every = transfer.parameter_groups(base, "all", lr=1.0, layer_decay=0.5)
    assert [g["name"] for g in every][-1] == "layer1"
    assert every[-1]["lr"] == pytest.approx(0.5**8)
    assert len(transfer.parameter_groups(base, "classifier")) == 1
    # the groups cover exactly the trainable parameters, each once
    ids = [id(p) for g in every for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(base.parameters()))
    with pytest.raises(SlicError, match="top_blocks"):
        transfer.parameter_groups(base, "top", top_blocks=9)
    with pytest.raises(SlicError, match="mode"):
        transfer.parameter_groups(base, "everything")


def test_finetune_learns_and_keeps_the_five_way_head(data):
    base = tiny_base()
    idx = np.arange(len(data))
    zero = transfer.score(base, data, idx)
    tuned, _ = transfer.finetune(base, data, idx, mode="all", lr=1e-2, epochs=6, batch_size=8, augment=False, progress=False)
    after = transfer.score(tuned, data, idx)
    assert after["accuracy"] >= 0.9 > zero["balanced_accuracy"]
    assert tuned.config.n_classes == 5 and tuned.class_names == CLASSES
    assert tuned(torch.from_numpy(data.images[:3]).unsqueeze(1)).shape == (3, 5)
    conf = transfer.confusion_frame(tuned, data, idx)
    assert list(conf.index) == ["filaments", "quiet"] and list(conf.columns) == list(CLASSES)
    assert conf.to_numpy().sum() == len(data)


def test_two_class_data_maps_onto_the_model_classes():
    two = two_class_data(4, class_names=("filaments", "quiet"), labels=(0, 1))
    base = tiny_base()
    tuned, _ = transfer.finetune(base, two, np.arange(len(two)), epochs=1, batch_size=8, progress=False)
    assert tuned.config.n_classes == 5
    renamed = two_class_data(4, class_names=("filament", "quiet Sun"), labels=(0, 1))
    with pytest.raises(SlicError, match="class_map"):
        transfer.finetune(base, renamed, np.arange(8), epochs=1, progress=False)
    transfer.finetune(base, renamed, np.arange(8), epochs=1, progress=False, class_map={"filament": "filaments", "quiet Sun": "quiet"})


def test_preprocessing_mismatch_is_refused(data):
    base = tiny_base()
    base.preprocessing = PreprocessConfig(size=32, mode="slic-npz")
    with pytest.raises(SlicError, match="preprocess"):
        transfer.finetune(base, data, np.arange(4), epochs=1, progress=False)


def test_from_scratch_is_a_fresh_network(data):
    base = tiny_base()
    fresh, _ = transfer.from_scratch(base, data, np.arange(len(data)), epochs=1, batch_size=16, seed=3, progress=False)
    assert fresh.config == base.config and fresh.class_names == base.class_names
    w0, w1 = base.layer1[0].weight, fresh.layer1[0].weight
    assert not torch.allclose(w0, w1, atol=1e-3)
    # every block learns, BatchNorm statistics included
    assert not torch.allclose(fresh.layer1[1].running_mean, torch.zeros_like(fresh.layer1[1].running_mean))
    # fresh He initialisation, not the base's weights moved by one epoch
    torch.manual_seed(3)
    assert torch.allclose(SlicNet(base.config).layer1[0].weight, w1, atol=0.05)


def test_balanced_sample():
    labels = np.array([0] * 20 + [3] * 5)
    rng = np.random.default_rng(0)
    pick = transfer.balanced_sample(labels, 8, rng)
    assert len(set(pick)) == 8 and (labels[pick] == 0).sum() == 4
    pick = transfer.balanced_sample(labels, 14, rng)  # class 3 runs out: the rest from class 0
    assert (labels[pick] == 3).sum() == 5 and len(set(pick)) == 14
    with pytest.raises(SlicError):
        transfer.balanced_sample(labels, 26, rng)


def test_learning_curve_rows(data):
    base = tiny_base()
    test_idx = np.arange(0, len(data), 3)
    pool = np.setdiff1d(np.arange(len(data)), test_idx)
    curve = transfer.learning_curve(base, data, test_idx, pool, sizes=(2, 4, 100), modes=("zero-shot", "classifier", "top", "scratch"),
                                    repeats=2, steps=1, batch_size=4, progress=False)
    assert len(curve) == 4 * 2 * 2  # size 100 exceeds the pool of 10 and is left out
    assert set(curve["n_train"]) == {2, 4}
    assert not curve.duplicated(["mode", "n_train", "repeat"]).any()
    assert curve["accuracy"].between(0, 1).all() and (curve["n_test"] == len(test_idx)).all()
    zero = curve[curve["mode"] == "zero-shot"]["accuracy"]
    assert zero.nunique() == 1
    summary = transfer.curve_summary(curve)
    assert len(summary) == 4 * 2
    with pytest.raises(SlicError, match="overlap"):
        transfer.learning_curve(base, data, test_idx, test_idx, progress=False)
    with pytest.raises(SlicError, match="mode"):
        transfer.learning_curve(base, data, test_idx, pool, modes=("magic",), progress=False)


def _crop(day: int, label: str, value: np.ndarray, k: int):
    from slic_lib.realdata.bbso import Crop

    return Crop(
        data=value.astype(np.float32), label=label, time=datetime(2015, 8, day, 17, 0, tzinfo=timezone.utc), mask=np.zeros(value.shape, bool),
        origin=(10 * k, 0), side=value.shape[0], scale=1.0, centre_hpc=(0.0, 0.0), on_disc=True, source=Path(f"bbso_halph_fl_201508{day:02d}.jpg"),
        annotation_id=k if label == "filaments" else None,
    )


def test_crop_set_uses_the_model_preprocessing_and_splits_by_day():
    rng = np.random.default_rng(1)
    crops = [_crop(day, label, pattern(0 if label == "filaments" else 3, rng, 64), k)
             for k, (day, label) in enumerate([(1, "filaments"), (1, "quiet"), (5, "filaments"), (5, "quiet"), (9, "filaments"), (9, "quiet")])]
    crops.append(_crop(5, "quiet", np.ones((64, 64)), 99))  # constant: cannot be standardised
    base = tiny_base()
    cs = transfer.crop_set(crops, base)
    assert cs.data.preprocessing == base.preprocessing and cs.data.images.shape == (6, 32, 32)
    assert len(cs.data.skipped) == 1 and len(cs.crops) == 6
    assert cs.counts() == {"filaments": 3, "quiet": 3}
    assert not cs.data.is_synthetic
    np.testing.assert_allclose(cs.data.images[0], preprocess_array(crops[0].data.astype(float), base.preprocessing))
    train, test = cs.split()
    assert {cs.crops[i].day for i in test} == {"2015-08-09"}
    assert not {cs.crops[i].day for i in train} & {cs.crops[i].day for i in test}
    assert not set(cs.data.groups[train]) & set(cs.data.groups[test])
    with pytest.raises(SlicError):
        cs.split(["2015-08-03"])


def test_aia_transfer_table_is_marked_simulated():
    base = tiny_base()
    result = transfer.aia_transfer(base, names=("1600_sunspot", "304_prominence"), n_frames=2, n_test=3, size=64, steps=2, batch_size=4,
                                   halpha=(two_class_data(2), np.arange(4)), replay=(two_class_data(2, seed=1), np.arange(4)), progress=False)
    table = result.table
    assert list(table["kind"]) == ["1600_sunspot", "304_prominence"]
    assert list(table["expected"]) == ["sunspots", "prominences"]
    assert table["synthetic"].all() and (table["n_replay"] == 4).all()
    for col in ("accuracy_before", "accuracy_after", "accuracy_scratch"):
        assert table[col].between(0, 1).all()
    assert result.test.is_synthetic and len(result.test) == 6
    assert result.probs_after.shape == (6, 5)
    assert 0 <= result.halpha["accuracy_after"] <= 1
    assert "simulated" in result.to_dict()["note"]
    with pytest.raises(SlicError, match="AIA kind"):
        transfer.aia_transfer(base, names=("171_loops",), progress=False)


def test_settings_for_profiles():
    for name in ("smoke", "cpu", "paper"):
        s = transfer.settings_for(name)
        assert set(s["modes"]) <= set(transfer.CURVE_MODES) and s["repeats"] >= 1
    assert max(transfer.settings_for("smoke")["sizes"]) < max(transfer.settings_for("cpu")["sizes"])
    with pytest.raises(SlicError, match="profile"):
        transfer.settings_for("huge")


def test_plots_name_their_data(data):
    import matplotlib.pyplot as plt
    import pandas as pd

    curve = pd.DataFrame({"mode": ["zero-shot", "top"] * 2, "n_train": [4, 4, 8, 8], "repeat": 0, "accuracy": [0.5, 0.7, 0.5, 0.9],
                          "balanced_accuracy": [0.5, 0.7, 0.5, 0.9]})
    fig = transfer.plot_learning_curve(curve)
    assert "BBSO" in fig.axes[0].get_title()
    assert len(fig.axes[0].lines) >= 2
    assert "simulated" in transfer.plot_learning_curve(curve, title="x", synthetic=True).axes[0].get_title()
    plt.close("all")
