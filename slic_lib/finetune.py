"""Fine-tuning a trained network on new images, in the manner of Zoobot (Walmsley et al.).

Section 5 of Armstrong & Fletcher (2019) proposes the trained network as the starting point
of new solar classifiers. Three modes, all trained by the project's one engine
(:func:`slic_lib.train.fit`):

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

:func:`from_scratch` trains the same architecture, freshly He-initialised, on the same
images: the comparison that says whether the H-alpha features help. :func:`learning_curve`
measures all of them against the number of training images.

Data may carry fewer classes than the model (the real BBSO crops are "filaments" and
"quiet"): the fine-tuned network keeps its five-way head, so it remains a Slic model, and
scores are the five-way argmax on images whose true class is one of theirs. Every score goes
through :func:`slic_lib.inference.predict_proba`.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from torch import nn
from .progress import tqdm

from .dataset import SolarData
from .splits import balanced_sample
from .errors import SlicError
from .inference import cpu_threads, predict_proba
from .model import SlicNet, load_checkpoint
from .paper import MOMENTUM
from .processes import worker_started
from .train import TrainConfig, fit

log = logging.getLogger(__name__)

FINETUNE_MODES = ("classifier", "top", "all")
"""What :func:`finetune` trains (see the module docstring)."""

CURVE_MODES = ("zero-shot", "classifier", "top", "all", "scratch")
"""Modes of :func:`learning_curve`: the base model unchanged, the three fine-tuning modes, and
the same network trained from a fresh initialisation."""

Indices = Sequence[int] | np.ndarray


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
        The network whose parameters are grouped.
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
    if mode == "top" and not 1 <= top_blocks <= len(blocks):
        raise SlicError(f"top_blocks must be between 1 and {len(blocks)} for this network, got {top_blocks}.")
    n = {"classifier": 0, "top": top_blocks, "all": len(blocks)}[mode]
    groups = [{"name": "classifier", "params": list(model.classifier.parameters()), "lr": lr}]
    unfrozen = blocks[len(blocks) - n :] if n else []
    for depth, (name, block) in enumerate(reversed(unfrozen), start=1):
        groups.append({"name": name, "params": list(block.parameters()), "lr": lr * layer_decay**depth})
    return groups


def epochs_for(n_train: int, batch_size: int, steps: int) -> int:
    """Epochs that give at least ``steps`` optimiser steps on ``n_train`` images.

    A learning curve trains every size for about the same number of steps, so that a small
    training set is not also a short training.
    """
    per_epoch = max(1, math.ceil(n_train / batch_size))
    return max(1, math.ceil(steps / per_epoch))


def base_model(base: SlicNet | str | os.PathLike) -> SlicNet:
    """A private copy of a model on the CPU (a checkpoint path is loaded), so the caller's never changes."""
    return copy.deepcopy(base).cpu() if isinstance(base, SlicNet) else load_checkpoint(base)


def targets(model: SlicNet, data: SolarData, idx: Indices, class_map: Mapping[str, str] | None = None) -> np.ndarray:
    """The model's output index of each indexed image's class (by name, or through ``class_map``)."""
    class_map = dict(class_map or {})
    lookup = []
    for name in data.class_names:
        target = class_map.get(name, name)
        if target not in model.class_names:
            raise SlicError(
                f"the data's class {name!r} is not one of the model's classes ({', '.join(model.class_names)}); pass class_map={{{name!r}: ...}}."
            )
        lookup.append(list(model.class_names).index(target))
    return np.asarray(lookup, dtype=np.int64)[data.labels[np.asarray(idx, dtype=np.int64)]]


def _check_preprocessing(model: SlicNet, data: SolarData) -> None:
    if data.preprocessing != model.preprocessing:
        raise SlicError(
            f"the images were preprocessed with {data.preprocessing} but the model expects {model.preprocessing}; "
            "preprocess them with the model's settings (slic_lib.realdata.bbso_dataset.crop_set does)."
        )


def _tune(
    model: SlicNet, groups: list[dict], data: SolarData, train_idx: Indices, val_idx: Indices | None, epochs: int, batch_size: int,
    seed: int, class_map: Mapping[str, str] | None, augment: bool, device: str, progress: bool, desc: str,
) -> tuple[SlicNet, list[dict]]:
    """Fit ``groups`` of ``model`` on the indexed images (the rest frozen); the best epoch's
    weights with ``val_idx`` (ties to the earlier epoch), else the last epoch's."""
    train_idx = np.asarray(train_idx, dtype=np.int64)
    _check_preprocessing(model, data)
    if len(train_idx) == 0:
        raise SlicError("no training images were given.")
    config = TrainConfig(lr=groups[0]["lr"], epochs=epochs, batch_size=batch_size, momentum=MOMENTUM, nesterov=True, seed=seed,
                         augment=augment, amp=False, device=device)
    val = None
    if val_idx is not None and len(val_idx):
        val_idx = np.asarray(val_idx, dtype=np.int64)
        val = (data.images[val_idx], targets(model, data, val_idx, class_map))
    # "all" batches: a few dozen images, none left out (see slic_lib.train.fit)
    result = fit(model, config, (data.images[train_idx], targets(model, data, train_idx, class_map)), val, groups=groups, batches="all",
                 keep_best=True, progress=progress, desc=desc)
    return model.cpu().eval(), result.history


def finetune(
    base: SlicNet | str | os.PathLike, data: SolarData, train_idx: Indices, val_idx: Indices | None = None, mode: str = "classifier",
    top_blocks: int = 2, lr: float = 1e-2, layer_decay: float = 0.5, epochs: int = 30, batch_size: int = 16, seed: int = 0,
    class_map: Mapping[str, str] | None = None, augment: bool = True, device: str = "auto", progress: bool = True,
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
        model's; by default the names must be among the model's.
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
        Per epoch, as :func:`slic_lib.train.fit` gives it (``val_accuracy`` with ``val_idx``).
    """
    model = base_model(base)
    groups = parameter_groups(model, mode, lr, top_blocks, layer_decay)
    torch.manual_seed(seed)
    return _tune(model, groups, data, train_idx, val_idx, epochs, batch_size, seed, class_map, augment, device, progress, f"fine-tune ({mode})")


def from_scratch(
    base: SlicNet | str | os.PathLike, data: SolarData, train_idx: Indices, val_idx: Indices | None = None, lr: float = 1e-3,
    epochs: int = 30, batch_size: int = 16, seed: int = 0, class_map: Mapping[str, str] | None = None, augment: bool = True,
    device: str = "auto", progress: bool = True,
) -> tuple[SlicNet, list[dict]]:
    """The base model's architecture, freshly He-initialised, trained on the same images.

    Parameters are those of :func:`finetune`; every layer learns at ``lr``. Only the base's
    architecture, classes and preprocessing are used, not its weights.
    """
    template = base_model(base)
    torch.manual_seed(seed)
    model = SlicNet(template.config)
    model.class_names = template.class_names
    model.preprocessing = template.preprocessing
    groups = [{"name": "all", "params": list(model.parameters()), "lr": lr}]
    return _tune(model, groups, data, train_idx, val_idx, epochs, batch_size, seed, class_map, augment, device, progress, "from scratch")


def predictions(model: SlicNet, data: SolarData, idx: Indices, device: str = "auto") -> np.ndarray:
    """Class probabilities ``(len(idx), n_classes)`` of the model on the indexed images."""
    if data.preprocessing != model.preprocessing:
        raise SlicError(f"the images were preprocessed with {data.preprocessing} but the model expects {model.preprocessing}.")
    return predict_proba(model, data.images[np.asarray(idx, dtype=np.int64)], device=device)


def score(model: SlicNet, data: SolarData, idx: Indices, class_map: Mapping[str, str] | None = None, device: str = "auto") -> dict[str, float]:
    """Accuracy (five-way argmax) and balanced accuracy (mean recall over the classes present).

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``n``.
    """
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) == 0:
        raise SlicError("no images to score.")
    truth = targets(model, data, idx, class_map)
    pred = predictions(model, data, idx, device).argmax(1)
    recalls = [float(np.mean(pred[truth == c] == c)) for c in np.unique(truth)]
    return {"accuracy": float(np.mean(pred == truth)), "balanced_accuracy": float(np.mean(recalls)), "n": int(len(idx))}


def confusion_frame(model: SlicNet, data: SolarData, idx: Indices, class_map: Mapping[str, str] | None = None, device: str = "auto") -> pd.DataFrame:
    """Counts of true class (rows: the classes present) against predicted class (all the model's).

    Returns
    -------
    pandas.DataFrame
        Index: true class; columns: every model class.
    """
    idx = np.asarray(idx, dtype=np.int64)
    truth = targets(model, data, idx, class_map)
    pred = predictions(model, data, idx, device).argmax(1)
    names = list(model.class_names)
    rows = {names[c]: np.bincount(pred[truth == c], minlength=len(names)) for c in np.unique(truth)}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    frame.index.name = "true \\ predicted"
    return frame


def _fit_and_score_in_worker(parent: int, *args, **kwargs) -> tuple[dict, int, float]:
    """:func:`_fit_and_score` in a joblib worker, which ends with its parent (:func:`slic_lib.processes.worker_started`)."""
    worker_started(parent)
    return _fit_and_score(*args, **kwargs)


def _fit_and_score(model: SlicNet, data: SolarData, mode: str, train_idx: np.ndarray, fit_seed: int, epochs: int, *, test_idx: np.ndarray,
                   lr: float, scratch_lr: float, top_blocks: int, layer_decay: float, batch_size: int, class_map: Mapping[str, str] | None,
                   device: str, threads: int | None) -> tuple[dict, int, float]:
    """One fit of :func:`learning_curve` and its score on the test images: (score, epochs, seconds)."""
    t0 = time.perf_counter()
    with cpu_threads(threads):
        if mode == "scratch":
            fitted, _ = from_scratch(model, data, train_idx, None, scratch_lr, epochs, batch_size, fit_seed, class_map, device=device, progress=False)
        else:
            fitted, _ = finetune(model, data, train_idx, None, mode, top_blocks, lr, layer_decay, epochs, batch_size, fit_seed, class_map,
                                 device=device, progress=False)
        return score(fitted, data, test_idx, class_map, device), epochs, time.perf_counter() - t0


def learning_curve(
    base: SlicNet | str | os.PathLike, data: SolarData, test_idx: Indices, train_pool_idx: Indices, sizes: Sequence[int] = (4, 8, 16, 32, 64),
    modes: Sequence[str] = ("zero-shot", "classifier", "top", "scratch"), repeats: int = 3, seed: int = 0, steps: int = 60, lr: float = 1e-2,
    scratch_lr: float = 1e-3, top_blocks: int = 2, layer_decay: float = 0.5, batch_size: int = 16, class_map: Mapping[str, str] | None = None,
    device: str = "auto", threads: int | None = None, progress: bool = True, workers: int = 1,
) -> pd.DataFrame:
    """Accuracy on held-out images as the number of training images grows.

    For each size and repeat one class-balanced training set is drawn from the pool
    (:func:`slic_lib.dataset.balanced_sample`) and every mode trains on that same set (a
    paired comparison), for about ``steps`` optimiser steps (:func:`epochs_for`).
    ``"zero-shot"`` is the base model unchanged: the same accuracy on every row.

    Parameters
    ----------
    base : SlicNet or path
        The trained network.
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
        CPU threads for torch during the fits (:func:`slic_lib.inference.cpu_threads`).
    progress : bool
        Show a progress bar over the fits.
    workers : int
        Fits side by side in joblib worker processes (1: one after another). Each fit is
        seeded and runs on ``threads`` threads either way, so the accuracies are the same;
        ``seconds`` is each fit's own wall time.

    Returns
    -------
    pandas.DataFrame
        One row per (mode, n_train, repeat): ``mode``, ``n_train``, ``repeat``, ``accuracy``,
        ``balanced_accuracy``, ``n_test``, ``epochs``, ``seconds``.
    """
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
    model = base_model(base)
    with cpu_threads(threads):
        zero = score(model, data, test_idx, class_map, device) if "zero-shot" in modes else None
    fits = []  # (n, repeat, mode, train_idx, fit seed, epochs), in the order of the rows
    for n in usable:
        for r in range(repeats):
            rng = np.random.default_rng([seed, n, r])
            train_idx = pool[balanced_sample(data.labels[pool], n, rng)]
            fit_seed = int(rng.integers(2**31))
            epochs = epochs_for(n, batch_size, steps)
            fits += [(n, r, mode, train_idx, fit_seed, epochs) for mode in modes if mode != "zero-shot"]
    settings = dict(test_idx=test_idx, lr=lr, scratch_lr=scratch_lr, top_blocks=top_blocks, layer_decay=layer_decay,
                    batch_size=batch_size, class_map=class_map, device=device, threads=threads)
    bar = tqdm(total=len(fits), desc="learning curve" + (f" ({workers} processes)" if workers > 1 else ""), disable=not progress)
    if workers > 1 and len(fits) > 1:
        # each fit is seeded and runs on `threads` threads wherever it runs: the same numbers as one after another
        scores = Parallel(n_jobs=min(workers, len(fits)), backend="loky", return_as="generator")(
            delayed(_fit_and_score_in_worker)(os.getpid(), model, data, *job[2:], **settings) for job in fits)
    else:
        scores = (_fit_and_score(model, data, *job[2:], **settings) for job in fits)
    done = {}
    for job, result in zip(fits, scores):
        done[job[:3]] = result
        bar.update()
    bar.close()
    rows: list[dict] = []
    for n in usable:
        for r in range(repeats):
            for mode in modes:
                s, ep, seconds = (zero, 0, 0.0) if mode == "zero-shot" else done[(n, r, mode)]
                rows.append({"mode": mode, "n_train": n, "repeat": r, "accuracy": s["accuracy"], "balanced_accuracy": s["balanced_accuracy"],
                             "n_test": s["n"], "epochs": ep, "seconds": seconds})
    return pd.DataFrame(rows)


def curve_summary(curve: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of accuracy per (mode, n_train) of a learning curve."""
    out = curve.groupby(["mode", "n_train"], sort=False)[["accuracy", "balanced_accuracy"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    return out.reset_index()
