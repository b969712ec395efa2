"""Transfer learning from the H-alpha network to real BBSO crops and simulated AIA images.

Section 5 of Armstrong & Fletcher (2019) proposes the trained network as the starting point
of new solar classifiers. This module does it, in the manner of Zoobot (Walmsley et al.):

``"classifier"``
    The feature extractor (every convolution block) is frozen, BatchNorm included (its
    running statistics stay those of the H-alpha training set: frozen blocks run in eval
    mode); only the fully-connected classifier learns.
``"top"``
    The classifier and the top ``top_blocks`` convolution blocks learn, with layer-wise
    learning-rate decay: the classifier gets ``lr``, the top block ``lr * layer_decay``, the
    next one down ``lr * layer_decay**2`` and so on (one SGD parameter group each, Nesterov
    momentum 0.9 as in the paper).
``"all"``
    As ``"top"`` with every block unfrozen.

``from_scratch`` trains the same architecture, freshly He-initialised, on the same images:
the comparison that says whether the H-alpha features help.

The real BBSO crops (:mod:`slic_lib.realdata.bbso`) carry two of the five labels
("filaments" and "quiet"). The fine-tuned network keeps its five-way head, so it remains a
Slic model that can still answer "flares", "prominences" or "sunspots"; accuracies are the
five-way argmax on crops whose true class is one of the two. Train and test crops come from
different observing days (:func:`slic_lib.realdata.bbso.split_by_day`).

The AIA part (:func:`aia_transfer`) uses the simulator's SDO/AIA 1600/1700 sunspot and 304
prominence stand-ins: every number from it is about *simulated* images and says so.

Per-profile sizes, epochs and repeats: :func:`settings_for`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .classes import CLASSES
from .dataset import SolarData
from .errors import SlicError
from .model import SlicNet, load_checkpoint
from .preprocess import BadFrameError, PreprocessConfig, preprocess_array

log = logging.getLogger(__name__)

FINETUNE_MODES = ("classifier", "top", "all")
"""What :func:`finetune` trains (see the module docstring)."""

CURVE_MODES = ("zero-shot", "classifier", "top", "all", "scratch")
"""Modes of :func:`learning_curve`: the base model unchanged, the three fine-tuning modes, and
the same network trained from a fresh initialisation."""

MOMENTUM = 0.9
"""SGD momentum (Nesterov), the paper's."""

REPAIRED_BELOW = 0.5
"""A simulated AIA kind "fails" zero-shot when fewer than this share of frames is right..."""
REPAIRED_AT = 0.8
"""...and counts as repaired when the fine-tuned model gets at least this share right."""

BBSO_SOURCE = "BBSO full-disc H-alpha, 1-9 August 2015 (filament-augmentation-engine)"


# --------------------------------------------------------------------------------------------
# Per-profile settings
# --------------------------------------------------------------------------------------------

_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": dict(
        crop_size=128, quiet_per_image=12, test_days=None,
        sizes=(4, 16), repeats=1, modes=("zero-shot", "classifier", "top", "scratch"), steps=16,
        lr=1e-2, scratch_lr=1e-3, top_blocks=2, layer_decay=0.5, batch_size=16,
        aia_kinds=("1600_sunspot", "1700_sunspot", "304_prominence"), aia_frames=4, aia_test=6, aia_size=128,
        aia_mode="top", aia_steps=16, aia_replay=16, threads=1,
    ),
    "cpu": dict(
        crop_size=128, quiet_per_image=24, test_days=None,
        sizes=(4, 8, 16, 32, 64), repeats=3, modes=("zero-shot", "classifier", "top", "scratch"), steps=40,
        lr=1e-2, scratch_lr=1e-3, top_blocks=2, layer_decay=0.5, batch_size=16,
        aia_kinds=("1600_sunspot", "1700_sunspot", "304_prominence"), aia_frames=8, aia_test=24, aia_size=256,
        aia_mode="top", aia_steps=60, aia_replay=100, threads=1,
    ),
    "paper": dict(
        crop_size=128, quiet_per_image=24, test_days=None,
        sizes=(4, 8, 16, 32, 64, 128), repeats=5, modes=("zero-shot", "classifier", "top", "all", "scratch"), steps=200,
        lr=1e-2, scratch_lr=1e-3, top_blocks=2, layer_decay=0.5, batch_size=32,
        aia_kinds=("1600_sunspot", "1700_sunspot", "304_prominence"), aia_frames=16, aia_test=64, aia_size=512,
        aia_mode="top", aia_steps=200, aia_replay=400, threads=None,
    ),
}


def settings_for(profile_name: str) -> dict[str, Any]:
    """Sizes, optimisation and repeats of notebook 06 for a run profile.

    Parameters
    ----------
    profile_name : {"smoke", "cpu", "paper"}
        ``smoke``: seconds on 2 CPU cores; ``cpu``: minutes; ``paper``: a GPU.

    Returns
    -------
    dict
        ``crop_size`` (BBSO crop side in pixels of about 1 arcsec, near the 50-200 arcsec field
        of view of the SOT images), ``quiet_per_image``, ``test_days`` (None: the last day),
        ``sizes``, ``repeats``, ``modes``, ``steps`` (optimiser steps per fit), ``lr``,
        ``scratch_lr``, ``top_blocks``, ``layer_decay``, ``batch_size``, and the ``aia_*``
        settings of :func:`aia_transfer` (``aia_replay``: H-alpha training images mixed in), and
        ``threads`` (torch CPU threads during the fits; 1 for the small CPU-profile models,
        which gain little from a second thread and lose a factor of ten when cores are shared).
    """
    if profile_name not in _SETTINGS:
        raise SlicError(f"no transfer-learning settings for profile {profile_name!r}; choose one of {', '.join(_SETTINGS)}.")
    return dict(_SETTINGS[profile_name])


def epochs_for(n_train: int, batch_size: int, steps: int) -> int:
    """Epochs that give at least ``steps`` optimiser steps on ``n_train`` images.

    A learning curve trains every size for about the same number of steps, so that a small
    training set is not also a short training.
    """
    per_epoch = max(1, math.ceil(n_train / batch_size))
    return max(1, math.ceil(steps / per_epoch))


# --------------------------------------------------------------------------------------------
# Layer groups, freezing, the training loop
# --------------------------------------------------------------------------------------------


def conv_blocks(model: SlicNet) -> list[tuple[str, nn.Module]]:
    """The distinct convolution blocks, bottom (``layer1``) to top.

    The ``slic`` variant applies ``layer8`` three times; it is one block (one set of weights).
    """
    return [(f"layer{i}", getattr(model, f"layer{i}")) for i in range(1, len(model.config.channels) + 1)]


def parameter_groups(model: SlicNet, mode: str = "classifier", lr: float = 1e-2, top_blocks: int = 2, layer_decay: float = 0.5) -> list[dict]:
    """SGD parameter groups with layer-wise learning-rate decay.

    Parameters
    ----------
    model : SlicNet
    mode : {"classifier", "top", "all"}
        Which blocks learn (see the module docstring).
    lr : float
        Learning rate of the classifier.
    top_blocks : int
        Convolution blocks unfrozen by ``mode="top"``.
    layer_decay : float
        Factor per block further down: the block at depth ``d`` below the classifier (the top
        block is ``d = 1``) learns at ``lr * layer_decay**d``.

    Returns
    -------
    list of dict
        ``{"name", "params", "lr"}`` per group, the classifier first, then the blocks top-down.
    """
    if mode not in FINETUNE_MODES:
        raise SlicError(f"unknown fine-tuning mode {mode!r}; choose one of {', '.join(FINETUNE_MODES)}.")
    if lr <= 0 or not 0 < layer_decay <= 1:
        raise SlicError("the learning rate must be positive and layer_decay in (0, 1].")
    blocks = conv_blocks(model)
    n = {"classifier": 0, "top": top_blocks, "all": len(blocks)}[mode]
    if mode == "top" and not 1 <= top_blocks <= len(blocks):
        raise SlicError(f"top_blocks must be between 1 and {len(blocks)} for this network, got {top_blocks}.")
    groups = [{"name": "classifier", "params": list(model.classifier.parameters()), "lr": lr}]
    unfrozen = blocks[len(blocks) - n :] if n else []
    for depth, (name, block) in enumerate(reversed(unfrozen), start=1):
        groups.append({"name": name, "params": list(block.parameters()), "lr": lr * layer_decay**depth})
    return groups


def _freeze_except(model: SlicNet, groups: list[dict]) -> set[str]:
    """Only the groups' parameters require gradients; returns the names of the frozen blocks."""
    trainable = {id(p) for g in groups for p in g["params"]}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable)
    return {name for name, block in conv_blocks(model) if not any(id(p) in trainable for p in block.parameters())}


def _train_mode(model: SlicNet, frozen: set[str]) -> None:
    """Training mode, but frozen blocks in eval mode so that their BatchNorm statistics stay."""
    model.train()
    for name, block in conv_blocks(model):
        if name in frozen:
            block.eval()


def _label_lookup(data: SolarData, class_names: Sequence[str], class_map: Mapping[str, str] | None) -> np.ndarray:
    """Model output index of each of the dataset's labels (by class name, or through ``class_map``)."""
    class_map = dict(class_map or {})
    lookup = []
    for name in data.class_names:
        target = class_map.get(name, name)
        if target not in class_names:
            raise SlicError(
                f"the data's class {name!r} is not one of the model's classes ({', '.join(class_names)}); pass class_map={{{name!r}: ...}}."
            )
        lookup.append(list(class_names).index(target))
    return np.asarray(lookup, dtype=np.int64)


def _targets(model: SlicNet, data: SolarData, idx: np.ndarray, class_map: Mapping[str, str] | None) -> np.ndarray:
    return _label_lookup(data, model.class_names, class_map)[data.labels[np.asarray(idx, dtype=np.int64)]]


def _check_inputs(model: SlicNet, data: SolarData, train_idx: np.ndarray) -> None:
    if data.preprocessing != model.preprocessing:
        raise SlicError(
            f"the images were preprocessed with {data.preprocessing} but the model expects {model.preprocessing}; "
            "preprocess them with the model's settings (slic_lib.transfer.crop_set does)."
        )
    if len(train_idx) == 0:
        raise SlicError("no training images were given.")


def _as_model(base: SlicNet | str | os.PathLike) -> SlicNet:
    """A private copy of the base model (a path is loaded), so the caller's model never changes."""
    if isinstance(base, SlicNet):
        model = copy.deepcopy(base)
        return model.cpu()
    return load_checkpoint(base)


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """Run torch's CPU operations on ``n`` threads inside the block (None: leave as is).

    Tiny networks gain nothing from intra-op threads, and on a shared, busy machine two
    OpenMP threads fighting for two cores ran the smoke profile's fits ten times slower than one.
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _accuracy(model: SlicNet, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(y), 2 * batch_size):
            xb = x[start : start + 2 * batch_size].to(device)
            correct += int((model(xb).argmax(1).cpu() == y[start : start + 2 * batch_size]).sum())
    return correct / max(len(y), 1)


def _fit(
    model: SlicNet,
    groups: list[dict],
    data: SolarData,
    train_idx: np.ndarray,
    val_idx: np.ndarray | None,
    epochs: int,
    batch_size: int,
    seed: int,
    class_map: Mapping[str, str] | None,
    augment: bool,
    device: str,
    progress: bool,
    desc: str,
) -> tuple[SlicNet, list[dict]]:
    """SGD (Nesterov momentum) over ``groups``; the rest of the network frozen.

    With ``val_idx`` the weights of the epoch with the best validation accuracy are kept
    (ties to the earlier epoch); without, the last epoch's.
    """
    from tqdm.auto import tqdm

    from .train import _epoch_seed, augment_batch, resolve_device, sgd_step

    if epochs < 1 or batch_size < 1:
        raise SlicError("epochs and batch size must be positive.")
    train_idx = np.asarray(train_idx, dtype=np.int64)
    _check_inputs(model, data, train_idx)
    dev = resolve_device(device)
    frozen = _freeze_except(model, groups)
    model.to(dev)
    optimizer = torch.optim.SGD(
        [{"params": g["params"], "lr": g["lr"], "name": g["name"]} for g in groups], lr=groups[0]["lr"], momentum=MOMENTUM, nesterov=True
    )
    x = torch.from_numpy(np.ascontiguousarray(data.images[train_idx], dtype=np.float32)).unsqueeze(1)
    y = torch.from_numpy(_targets(model, data, train_idx, class_map))
    if val_idx is not None and len(val_idx):
        val_idx = np.asarray(val_idx, dtype=np.int64)
        xv = torch.from_numpy(np.ascontiguousarray(data.images[val_idx], dtype=np.float32)).unsqueeze(1)
        yv = torch.from_numpy(_targets(model, data, val_idx, class_map))
    else:
        xv = yv = None
    history: list[dict] = []
    best_acc, best_state = -1.0, None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
        torch.manual_seed(_epoch_seed(seed, epoch))  # dropout
        perm = torch.randperm(len(y), generator=gen)
        starts = list(range(0, len(y), batch_size))
        if len(starts) > 1 and len(y) - starts[-1] == 1:
            starts.pop()  # a batch of one image gives BatchNorm nothing to normalise with
        _train_mode(model, frozen)
        loss_sum, correct, seen = 0.0, 0, 0
        for start in tqdm(starts, desc=f"{desc} epoch {epoch}/{epochs}", leave=False, disable=not progress):
            idx = perm[start : start + batch_size]
            xb, yb = x[idx], y[idx]
            if augment:
                xb = augment_batch(xb, gen)
            batch_loss, batch_correct = sgd_step(model, optimizer, xb.to(dev), yb.to(dev), dev)
            loss_sum += batch_loss
            correct += batch_correct
            seen += len(yb)
        row = {"epoch": epoch, "train_loss": loss_sum / max(seen, 1), "train_accuracy": correct / max(seen, 1),
               "seconds": time.perf_counter() - t0}
        if xv is not None:
            row["val_accuracy"] = _accuracy(model, xv, yv, batch_size, dev)
            if row["val_accuracy"] > best_acc:
                best_acc = row["val_accuracy"]
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        history.append(row)
    if best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    return model.cpu().eval(), history


# --------------------------------------------------------------------------------------------
# Fine-tuning and training from scratch
# --------------------------------------------------------------------------------------------


def finetune(
    base: SlicNet | str | os.PathLike,
    data: SolarData,
    train_idx: Sequence[int] | np.ndarray,
    val_idx: Sequence[int] | np.ndarray | None = None,
    mode: str = "classifier",
    top_blocks: int = 2,
    lr: float = 1e-2,
    layer_decay: float = 0.5,
    epochs: int = 30,
    batch_size: int = 16,
    seed: int = 0,
    class_map: Mapping[str, str] | None = None,
    augment: bool = True,
    device: str = "auto",
    progress: bool = True,
) -> tuple[SlicNet, list[dict]]:
    """Fine-tune a trained network on new images (Zoobot-style; see the module docstring).

    Parameters
    ----------
    base : SlicNet or path
        The trained network (a checkpoint path or a model; a model is copied, never changed).
    data : SolarData
        Images preprocessed with the base model's preprocessing (``base.preprocessing``).
    train_idx, val_idx : array of int
        Images to train on and, optionally, to select the best epoch on.
    mode : {"classifier", "top", "all"}
        Which layers learn.
    top_blocks : int
        Convolution blocks that learn in ``mode="top"``.
    lr : float
        Learning rate of the classifier; blocks below get ``lr * layer_decay**depth``.
    layer_decay : float
        Learning-rate factor per block further down.
    epochs, batch_size, seed
        Optimisation; SGD with Nesterov momentum 0.9, constant rates, as the paper.
    class_map : mapping, optional
        Data class name -> model class name, for data whose class names differ from the
        model's; by default the names must be among the model's. Data with a subset of the
        classes (BBSO: filaments and quiet) keep the model's five-way head.
    augment : bool
        Random flips and 90-degree turns of each training image.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
    progress : bool
        Show progress bars.

    Returns
    -------
    model : SlicNet
        The fine-tuned network (on the CPU, eval mode) with the base's classes and preprocessing.
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``train_accuracy``, ``seconds`` (and
        ``val_accuracy`` with ``val_idx``).
    """
    model = _as_model(base)
    groups = parameter_groups(model, mode, lr, top_blocks, layer_decay)
    torch.manual_seed(seed)
    return _fit(model, groups, data, np.asarray(train_idx), val_idx, epochs, batch_size, seed, class_map, augment, device, progress, f"fine-tune ({mode})")


def from_scratch(
    base: SlicNet | str | os.PathLike,
    data: SolarData,
    train_idx: Sequence[int] | np.ndarray,
    val_idx: Sequence[int] | np.ndarray | None = None,
    lr: float = 1e-3,
    epochs: int = 30,
    batch_size: int = 16,
    seed: int = 0,
    class_map: Mapping[str, str] | None = None,
    augment: bool = True,
    device: str = "auto",
    progress: bool = True,
) -> tuple[SlicNet, list[dict]]:
    """The base model's architecture, freshly He-initialised, trained on the same images.

    Parameters are those of :func:`finetune`; every layer learns at ``lr``. Only the base's
    architecture, classes and preprocessing are used, not its weights.
    """
    template = _as_model(base)
    torch.manual_seed(seed)
    model = SlicNet(template.config)
    model.class_names = template.class_names
    model.preprocessing = template.preprocessing
    groups = [{"name": "all", "params": list(model.parameters()), "lr": lr}]
    return _fit(model, groups, data, np.asarray(train_idx), val_idx, epochs, batch_size, seed, class_map, augment, device, progress, "from scratch")


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def predictions(model: SlicNet, data: SolarData, idx: Sequence[int] | np.ndarray, device: str = "auto") -> np.ndarray:
    """Class probabilities ``(len(idx), n_classes)`` of the model on the indexed images."""
    from .evaluate import predict_proba

    if data.preprocessing != model.preprocessing:
        raise SlicError(f"the images were preprocessed with {data.preprocessing} but the model expects {model.preprocessing}.")
    return predict_proba(model, data.images[np.asarray(idx, dtype=np.int64)], device=device)


def score(
    model: SlicNet, data: SolarData, idx: Sequence[int] | np.ndarray, class_map: Mapping[str, str] | None = None, device: str = "auto"
) -> dict[str, float]:
    """Accuracy (five-way argmax) and balanced accuracy (mean recall over the classes present).

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``n``.
    """
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) == 0:
        raise SlicError("no images to score.")
    truth = _targets(model, data, idx, class_map)
    pred = predictions(model, data, idx, device).argmax(1)
    recalls = [float(np.mean(pred[truth == c] == c)) for c in np.unique(truth)]
    return {"accuracy": float(np.mean(pred == truth)), "balanced_accuracy": float(np.mean(recalls)), "n": int(len(idx))}


def confusion_frame(
    model: SlicNet, data: SolarData, idx: Sequence[int] | np.ndarray, class_map: Mapping[str, str] | None = None, device: str = "auto"
):
    """Counts of true class (rows: the classes present) against predicted class (all the model's).

    Returns
    -------
    pandas.DataFrame
        Index: true class; columns: every model class.
    """
    import pandas as pd

    idx = np.asarray(idx, dtype=np.int64)
    truth = _targets(model, data, idx, class_map)
    pred = predictions(model, data, idx, device).argmax(1)
    names = list(model.class_names)
    rows = {names[c]: np.bincount(pred[truth == c], minlength=len(names)) for c in np.unique(truth)}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    frame.index.name = "true \\ predicted"
    return frame


# --------------------------------------------------------------------------------------------
# Real BBSO crops as a dataset
# --------------------------------------------------------------------------------------------


@dataclass
class CropSet:
    """BBSO crops and the same crops preprocessed as a :class:`~slic_lib.dataset.SolarData`.

    ``data`` row ``i`` is ``crops[i]``; ``data.groups`` is the observing day (its ordinal), so
    a grouped split never puts one day on both sides.
    """

    crops: list
    data: SolarData

    @property
    def days(self) -> list[str]:
        """Observing days present, ``YYYY-MM-DD``, in order."""
        return sorted({c.day for c in self.crops})

    def split(self, test_days: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Train and test indices with no day on both sides (default test day: the last).

        Uses :func:`slic_lib.realdata.bbso.split_by_day`.
        """
        from .realdata import bbso

        _, test = bbso.split_by_day(self.crops, test_days)
        in_test = {id(c) for c in test}
        mask = np.array([id(c) in in_test for c in self.crops], dtype=bool)
        return np.flatnonzero(~mask), np.flatnonzero(mask)

    def counts(self, idx: Sequence[int] | np.ndarray | None = None) -> dict[str, int]:
        """Crops per class (of the indexed crops, default all)."""
        labels = self.data.labels if idx is None else self.data.labels[np.asarray(idx, dtype=np.int64)]
        return {self.data.class_names[k]: int(v) for k, v in sorted(Counter(labels.tolist()).items())}


def _preprocessing_of(target: SlicNet | PreprocessConfig | str | os.PathLike) -> PreprocessConfig:
    if isinstance(target, PreprocessConfig):
        return target
    if isinstance(target, SlicNet):
        return target.preprocessing
    from .model import read_checkpoint

    return read_checkpoint(target).preprocessing


def crop_set(crops: Sequence, preprocessing: SlicNet | PreprocessConfig | str | os.PathLike, class_names: Sequence[str] = CLASSES) -> CropSet:
    """Preprocess BBSO crops with a model's preprocessing (:func:`~slic_lib.preprocess.preprocess_array`).

    Parameters
    ----------
    crops : sequence of :class:`slic_lib.realdata.bbso.Crop`
    preprocessing : SlicNet, PreprocessConfig or checkpoint path
        The base model (or its preprocessing): the crops become exactly what it was trained on.
    class_names : sequence of str
        Classes of the dataset (the model's five by default; the crops use two of them).

    Returns
    -------
    CropSet
        Crops that cannot be preprocessed (constant or empty) are left out and listed in
        ``data.skipped``.
    """
    config = _preprocessing_of(preprocessing)
    kept, images, skipped = [], [], []
    for crop in crops:
        name = f"{crop.source.name}#{crop.annotation_id if crop.annotation_id is not None else f'x{crop.origin[0]}y{crop.origin[1]}'}"
        try:
            images.append(preprocess_array(np.asarray(crop.data, dtype=np.float64), config))
        except BadFrameError as exc:
            skipped.append({"path": name, "reason": str(exc)})
            continue
        kept.append((crop, name))
    if not kept:
        raise SlicError("none of the BBSO crops could be preprocessed.")
    names = list(class_names)
    unknown = sorted({c.label for c, _ in kept} - set(names))
    if unknown:
        raise SlicError(f"crop label(s) {', '.join(unknown)} are not among the classes {', '.join(names)}.")
    data = SolarData(
        images=np.stack(images),
        labels=np.array([names.index(c.label) for c, _ in kept], dtype=np.int64),
        paths=np.array([n for _, n in kept]),
        times=np.array([c.time.isoformat() for c, _ in kept]),
        groups=np.array([c.time.date().toordinal() for c, _ in kept], dtype=np.int64),
        synthetic=np.zeros(len(kept), dtype=bool),
        class_names=tuple(names),
        preprocessing=config,
        skipped=skipped,
        source=BBSO_SOURCE,
    )
    return CropSet([c for c, _ in kept], data)


def load_bbso(
    preprocessing: SlicNet | PreprocessConfig | str | os.PathLike,
    crop_size: int = 128,
    quiet_per_image: int = 24,
    seed: int = 0,
    progress: bool = False,
) -> CropSet:
    """Cut the real BBSO filament and quiet-Sun crops and preprocess them for a model.

    Parameters
    ----------
    preprocessing : SlicNet, PreprocessConfig or checkpoint path
        The base model (or its preprocessing).
    crop_size : int
        Crop side in BBSO pixels (about 1 arcsec each): 128 is near the middle of the
        50-200 arcsec field of view of the (simulated) SOT training images.
    quiet_per_image : int
        Quiet-Sun crops wanted per annotated observation.
    seed : int
        Seed of the quiet-Sun crop positions.
    progress : bool
        Show progress bars.

    Raises
    ------
    SlicError
        When the BBSO data package is not installed (with the command that installs it).
    """
    from .realdata import bbso

    crops = bbso.crops(size=crop_size, quiet_per_image=quiet_per_image, rng=seed, progress=progress)
    return crop_set(crops, preprocessing)


# --------------------------------------------------------------------------------------------
# Learning curve
# --------------------------------------------------------------------------------------------


def balanced_sample(labels: Sequence[int] | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``n`` items drawn without replacement, as equal per class as the pool allows.

    Classes take turns (in a random order), each giving a random unused item, until ``n`` are
    drawn; a class that runs out leaves its turns to the others.
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


def learning_curve(
    base: SlicNet | str | os.PathLike,
    data: SolarData,
    test_idx: Sequence[int] | np.ndarray,
    train_pool_idx: Sequence[int] | np.ndarray,
    sizes: Sequence[int] = (4, 8, 16, 32, 64),
    modes: Sequence[str] = ("zero-shot", "classifier", "top", "scratch"),
    repeats: int = 3,
    seed: int = 0,
    steps: int = 60,
    lr: float = 1e-2,
    scratch_lr: float = 1e-3,
    top_blocks: int = 2,
    layer_decay: float = 0.5,
    batch_size: int = 16,
    class_map: Mapping[str, str] | None = None,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = True,
):
    """Accuracy on held-out images as the number of training images grows.

    For each size and repeat one class-balanced training set is drawn from the pool
    (:func:`balanced_sample`) and every mode trains on that same set (a paired comparison),
    for about ``steps`` optimiser steps (:func:`epochs_for`). ``"zero-shot"`` is the base
    model unchanged: the same accuracy on every row, drawn as the reference line.

    Parameters
    ----------
    base : SlicNet or path
    data : SolarData
        Images preprocessed with the base model's preprocessing.
    test_idx, train_pool_idx : array of int
        Held-out images (other observing days) and the images training sets are drawn from.
    sizes : sequence of int
        Training-set sizes; sizes larger than the pool are left out (logged).
    modes : sequence of str
        Any of :data:`CURVE_MODES`.
    repeats : int
        Training sets drawn per size.
    seed : int
        Seeds the draws and the training.
    steps, lr, scratch_lr, top_blocks, layer_decay, batch_size, class_map, device
        See :func:`finetune` and :func:`from_scratch`.
    threads : int, optional
        CPU threads for torch during the fits (:func:`cpu_threads`); None leaves torch's setting.
    progress : bool
        Show a progress bar over the fits.

    Returns
    -------
    pandas.DataFrame
        One row per (mode, n_train, repeat): ``mode``, ``n_train``, ``repeat``, ``accuracy``,
        ``balanced_accuracy``, ``n_test``, ``epochs``, ``seconds``.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    bad = [m for m in modes if m not in CURVE_MODES]
    if bad:
        raise SlicError(f"unknown learning-curve mode(s) {', '.join(bad)}; choose from {', '.join(CURVE_MODES)}.")
    if repeats < 1:
        raise SlicError("repeats must be at least 1.")
    test_idx = np.asarray(test_idx, dtype=np.int64)
    pool = np.asarray(train_pool_idx, dtype=np.int64)
    if np.intersect1d(test_idx, pool).size:
        raise SlicError("the test images and the training pool overlap.")
    usable = sorted({int(n) for n in sizes if 1 <= n <= len(pool)})
    if len(usable) < len(set(sizes)):
        log.info("left out training-set sizes larger than the pool of %d images: %s", len(pool), sorted(set(sizes) - set(usable)))
    if not usable:
        raise SlicError(f"no training-set size fits the pool of {len(pool)} images.")
    with cpu_threads(threads):
        model = _as_model(base)
        rows: list[dict] = []
        zero = score(model, data, test_idx, class_map, device) if "zero-shot" in modes else None
        trained = [m for m in modes if m != "zero-shot"]
        bar = tqdm(total=len(usable) * repeats * len(trained), desc="learning curve", disable=not progress)
        for n in usable:
            for r in range(repeats):
                rng = np.random.default_rng([seed, n, r])
                train_idx = pool[balanced_sample(data.labels[pool], n, rng)]
                fit_seed = int(rng.integers(2**31))
                epochs = epochs_for(n, batch_size, steps)
                for mode in modes:
                    t0 = time.perf_counter()
                    if mode == "zero-shot":
                        s, ep = zero, 0
                    else:
                        if mode == "scratch":
                            fitted, _ = from_scratch(model, data, train_idx, None, scratch_lr, epochs, batch_size, fit_seed, class_map, device=device, progress=False)
                        else:
                            fitted, _ = finetune(model, data, train_idx, None, mode, top_blocks, lr, layer_decay, epochs, batch_size, fit_seed, class_map,
                                                 device=device, progress=False)
                        s, ep = score(fitted, data, test_idx, class_map, device), epochs
                        bar.update()
                    rows.append({"mode": mode, "n_train": n, "repeat": r, "accuracy": s["accuracy"], "balanced_accuracy": s["balanced_accuracy"],
                                 "n_test": s["n"], "epochs": ep, "seconds": time.perf_counter() - t0})
        bar.close()
    return pd.DataFrame(rows)


def curve_summary(curve):
    """Mean and standard deviation of accuracy per (mode, n_train) of a learning curve."""
    out = curve.groupby(["mode", "n_train"], sort=False)[["accuracy", "balanced_accuracy"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    return out.reset_index()


# --------------------------------------------------------------------------------------------
# (c) The same transfer to the simulated AIA stand-ins
# --------------------------------------------------------------------------------------------


def aia_frames(
    kinds: Sequence[str], n_per_kind: int, seed: int | Sequence[int], size: int, preprocessing: SlicNet | PreprocessConfig | str | os.PathLike,
) -> tuple[SolarData, np.ndarray]:
    """Simulated SDO/AIA frames (:func:`slic_lib.synthetic.render_aia`), each an independent scene.

    Returns
    -------
    data : SolarData
        Preprocessed with the given model's preprocessing; labelled with the five classes;
        ``synthetic`` is True everywhere.
    kinds : ndarray of str
        The AIA kind of every frame (e.g. ``"1600_sunspot"``).
    """
    from .synthetic import AIA_KINDS, render_aia

    unknown = [k for k in kinds if k not in AIA_KINDS]
    if unknown:
        raise SlicError(f"unknown simulated AIA kind(s) {', '.join(unknown)}; choose from {', '.join(AIA_KINDS)}.")
    if n_per_kind < 1:
        raise SlicError("at least one frame per AIA kind is needed.")
    config = _preprocessing_of(preprocessing)
    streams = np.random.SeedSequence(seed).spawn(len(kinds))
    images, labels, names, times, kind_of = [], [], [], [], []
    for kind, stream in zip(kinds, streams):
        rng = np.random.default_rng(stream)
        for i in range(n_per_kind):
            sim = render_aia(kind, rng, size)
            images.append(preprocess_array(np.asarray(sim.data, dtype=np.float64), config))
            labels.append(CLASSES.index(sim.class_name))
            names.append(f"simulated AIA {kind} #{i}")
            times.append(sim.date_obs.isoformat())
            kind_of.append(kind)
    n = len(labels)
    data = SolarData(
        images=np.stack(images), labels=np.asarray(labels, dtype=np.int64), paths=np.asarray(names), times=np.asarray(times),
        groups=np.arange(n, dtype=np.int64), synthetic=np.ones(n, dtype=bool), class_names=CLASSES, preprocessing=config,
        skipped=[], source="slic_lib.synthetic.render_aia (simulated SDO/AIA)",
    )
    return data, np.asarray(kind_of)


def halpha_sets(
    dataset_path: str | os.PathLike, model_path: str | os.PathLike, n_replay: int, seed: int = 0
) -> tuple[tuple[SolarData, np.ndarray], tuple[SolarData, np.ndarray]] | tuple[None, None]:
    """The base model's own H-alpha data: its validation images, and up to ``n_replay`` of its
    training images (class-balanced) to mix into a fine-tuning set.

    The split is recomputed from the settings stored in the checkpoint, as
    :func:`slic_lib.evaluate.validation_indices` does. Returns ``(None, None)`` when the
    dataset file is absent.
    """
    from pathlib import Path

    from .dataset import load_dataset, split
    from .model import read_checkpoint

    if not Path(dataset_path).is_file():
        return None, None
    data = load_dataset(dataset_path)
    cfg = read_checkpoint(model_path).train_config
    train, val = split(data, cfg.get("split", "grouped"), cfg.get("val_fraction", 0.1), cfg.get("seed", 0))
    n = min(n_replay, len(train))
    replay = train[balanced_sample(data.labels[train], n, np.random.default_rng(seed))] if n else train[:0]
    return (data, val), (data, replay)


def _concat(a: SolarData, b: SolarData) -> SolarData:
    """Two datasets with the same classes and preprocessing as one."""
    if a.class_names != b.class_names or a.preprocessing != b.preprocessing:
        raise SlicError("datasets with different classes or preprocessing cannot be combined.")
    return SolarData(
        np.concatenate([a.images, b.images]), np.concatenate([a.labels, b.labels]), np.concatenate([a.paths, b.paths]),
        np.concatenate([a.times, b.times]), np.concatenate([a.groups, b.groups + a.groups.max() + 1]),
        np.concatenate([a.synthetic, b.synthetic]), a.class_names, a.preprocessing, a.skipped + b.skipped, f"{a.source} + {b.source}",
    )


@dataclass
class AIATransfer:
    """Outcome of :func:`aia_transfer` (simulated AIA images)."""

    table: Any
    """pandas.DataFrame, one row per AIA kind (see :func:`aia_transfer`)."""
    model: SlicNet
    """The fine-tuned network."""
    test: SolarData
    """The held-out simulated frames."""
    test_kinds: np.ndarray
    probs_before: np.ndarray
    probs_after: np.ndarray
    history: list[dict] = field(default_factory=list)
    halpha: dict | None = None
    """H-alpha accuracy of the base and fine-tuned models (forgetting), when H-alpha data were given."""

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "synthetic": True,
            "note": "simulated SDO/AIA stand-ins (slic_lib.synthetic), not real AIA observations",
            "kinds": self.table.to_dict("records"),
            "halpha": self.halpha,
        }


def _most_common(names: Iterable[str]) -> str:
    counts = Counter(names)
    return counts.most_common(1)[0][0] if counts else ""


def aia_transfer(
    base: SlicNet | str | os.PathLike,
    names: Sequence[str] = ("1600_sunspot", "1700_sunspot", "304_prominence"),
    n_frames: int = 8,
    seed: int = 0,
    n_test: int = 24,
    size: int = 256,
    mode: str = "top",
    top_blocks: int = 2,
    lr: float = 1e-2,
    layer_decay: float = 0.5,
    steps: int = 60,
    batch_size: int = 16,
    scratch: bool = True,
    scratch_lr: float = 1e-3,
    halpha: tuple[SolarData, Sequence[int] | np.ndarray] | None = None,
    replay: tuple[SolarData, Sequence[int] | np.ndarray] | None = None,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = True,
) -> AIATransfer:
    """Fine-tune on a few simulated AIA frames; accuracy on held-out frames before and after.

    The paper's network, trained on H-alpha, calls AIA 1600/1700 sunspots flares or
    prominences and 304 prominences flares. Here the base model is fine-tuned on
    ``n_frames`` simulated frames of each kind together (one model for all kinds) and scored
    on ``n_test`` other frames per kind, rendered from an independent seed stream.

    Parameters
    ----------
    base : SlicNet or path
    names : sequence of str
        Simulated AIA kinds (:data:`slic_lib.synthetic.AIA_KINDS`).
    n_frames, n_test : int
        Training and held-out frames per kind.
    seed : int
        Training frames come from ``SeedSequence([seed, 0])``, test frames from ``[seed, 1]``.
    size : int
        Side of the rendered frames (0.6 arcsec pixels), before preprocessing.
    mode, top_blocks, lr, layer_decay, batch_size
        See :func:`finetune`; ``steps`` sets the epochs (:func:`epochs_for`).
    scratch, scratch_lr : bool, float
        Also train the architecture from scratch (at ``scratch_lr``) on the same frames, for comparison.
    halpha : (SolarData, indices), optional
        H-alpha images (the run's validation set) to measure what fine-tuning costs on the
        original task.
    replay : (SolarData, indices), optional
        H-alpha training images mixed into the fine-tuning set ("rehearsal"), so that the
        model must learn the AIA frames without giving up the five H-alpha classes; without
        them it only has to tell the given AIA kinds apart.
    device, progress
        As for :func:`finetune`.
    threads : int, optional
        CPU threads for torch (:func:`cpu_threads`).

    Returns
    -------
    AIATransfer
        ``table`` has one row per kind: ``kind``, ``wavelength``, ``expected``, ``n_train``,
        ``n_replay`` (H-alpha images mixed in), ``n_test``, ``accuracy_before``, ``accuracy_after`` (and ``accuracy_scratch``),
        ``predicted_before`` / ``predicted_after`` (most frequent answer), ``failed_before``
        (zero-shot accuracy below :data:`REPAIRED_BELOW`), ``repaired`` (a failure that the
        fine-tuned model gets right at least :data:`REPAIRED_AT` of the time), ``synthetic``.
    """
    import pandas as pd

    with cpu_threads(threads):
        model = _as_model(base)
        train, _ = aia_frames(names, n_frames, [seed, 0], size, model)
        n_replay = 0
        if replay is not None:
            r_data, r_idx = replay
            n_replay = len(r_idx)
            train = _concat(train, r_data.subset(np.asarray(r_idx, dtype=np.int64)))
        test, test_kinds = aia_frames(names, n_test, [seed, 1], size, model)
        all_test = np.arange(len(test))
        before = predictions(model, test, all_test, device)
        epochs = epochs_for(len(train), batch_size, steps)
        tuned, history = finetune(model, train, np.arange(len(train)), None, mode, top_blocks, lr, layer_decay, epochs, batch_size, seed,
                                  device=device, progress=progress)
        after = predictions(tuned, test, all_test, device)
        from_zero = None
        if scratch:
            fresh, _ = from_scratch(model, train, np.arange(len(train)), None, scratch_lr, epochs, batch_size, seed, device=device, progress=progress)
            from_zero = predictions(fresh, test, all_test, device)
    classes = list(model.class_names)
    rows = []
    for kind in names:
        sel = test_kinds == kind
        truth = test.labels[sel]
        row = {
            "kind": kind,
            "wavelength": int(kind.split("_")[0]),
            "expected": classes[int(truth[0])],
            "n_train": n_frames,
            "n_replay": n_replay,
            "n_test": int(sel.sum()),
            "accuracy_before": float(np.mean(before[sel].argmax(1) == truth)),
            "accuracy_after": float(np.mean(after[sel].argmax(1) == truth)),
        }
        if from_zero is not None:
            row["accuracy_scratch"] = float(np.mean(from_zero[sel].argmax(1) == truth))
        row["predicted_before"] = _most_common(classes[i] for i in before[sel].argmax(1))
        row["predicted_after"] = _most_common(classes[i] for i in after[sel].argmax(1))
        row["failed_before"] = row["accuracy_before"] < REPAIRED_BELOW
        row["repaired"] = bool(row["failed_before"] and row["accuracy_after"] >= REPAIRED_AT)
        row["synthetic"] = True
        rows.append(row)
    forgetting = None
    if halpha is not None:
        h_data, h_idx = halpha
        forgetting = {
            "n": int(len(h_idx)),
            "accuracy_before": score(model, h_data, h_idx, device=device)["accuracy"],
            "accuracy_after": score(tuned, h_data, h_idx, device=device)["accuracy"],
            "synthetic": bool(h_data.is_synthetic),
        }
    return AIATransfer(pd.DataFrame(rows), tuned, test, test_kinds, before, after, history, forgetting)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

_MODE_STYLE = {
    "zero-shot": dict(color="0.4", linestyle="--", marker=""),
    "classifier": dict(color="tab:blue", marker="o"),
    "top": dict(color="tab:orange", marker="s"),
    "all": dict(color="tab:purple", marker="^"),
    "scratch": dict(color="tab:red", marker="x"),
}


def plot_learning_curve(curve, metric: str = "accuracy", title: str | None = None, synthetic: bool = False, base_synthetic: bool = False):
    """Held-out accuracy against the number of training crops, one line per mode (mean +- std).

    Parameters
    ----------
    curve : pandas.DataFrame
        From :func:`learning_curve`.
    metric : {"accuracy", "balanced_accuracy"}
    title : str, optional
        Default: a title naming the real BBSO data.
    synthetic : bool
        Say "simulated" in the title (for curves on simulated images).
    base_synthetic : bool
        Say that the base model was trained on simulated H-alpha images.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    stats = curve.groupby(["mode", "n_train"], sort=False)[metric].agg(["mean", "std"]).reset_index()
    for mode in dict.fromkeys(curve["mode"]):
        s = stats[stats["mode"] == mode].sort_values("n_train")
        style = _MODE_STYLE.get(mode, {})
        ax.errorbar(s["n_train"], s["mean"], yerr=s["std"].fillna(0), label=mode, capsize=3, **style)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(curve["n_train"].unique()))
    ax.set_xticklabels([str(n) for n in sorted(curve["n_train"].unique())])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training crops (class-balanced)")
    ax.set_ylabel(metric.replace("_", " ") + " on held-out days")
    ax.grid(alpha=0.3)
    ax.legend(title="mode", fontsize=8)
    default = "Transfer to real BBSO H-alpha crops (filaments vs quiet Sun)"
    text = title or default
    if synthetic and "simulated" not in text.lower():
        text += " (simulated data)"
    if base_synthetic:
        text += "\nbase model trained on simulated H-alpha images"
    ax.set_title(text, fontsize=10)
    fig.tight_layout()
    return fig


def plot_aia_transfer(result: AIATransfer, title: str | None = None):
    """Per simulated AIA kind: held-out accuracy zero-shot, after fine-tuning (and from scratch)."""
    import matplotlib.pyplot as plt

    table = result.table
    cols = [c for c in ("accuracy_before", "accuracy_after", "accuracy_scratch") if c in table]
    labels = {"accuracy_before": "zero-shot (H-alpha model)", "accuracy_after": "fine-tuned", "accuracy_scratch": "from scratch"}
    colours = {"accuracy_before": "0.6", "accuracy_after": "tab:orange", "accuracy_scratch": "tab:red"}
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    x = np.arange(len(table))
    width = 0.8 / len(cols)
    for i, c in enumerate(cols):
        ax.bar(x + (i - (len(cols) - 1) / 2) * width, table[c], width, label=labels[c], color=colours[c])
    ax.set_xticks(x)
    ax.set_xticklabels([f"AIA {w} \u00c5\n({e})" for w, e in zip(table["wavelength"], table["expected"])])
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("accuracy on held-out frames")
    ax.legend(fontsize=8, ncol=len(cols), loc="upper center")
    n_train = int(table["n_train"].iloc[0]) if len(table) else 0
    n_replay = int(table["n_replay"].iloc[0]) if len(table) and "n_replay" in table else 0
    replay = f" (+{n_replay} H-alpha images)" if n_replay else ""
    ax.set_title(title or f"Simulated SDO/AIA: fine-tuned on {n_train} frames per kind{replay}", fontsize=10)
    fig.tight_layout()
    return fig
