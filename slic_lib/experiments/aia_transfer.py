"""Fine-tuning the H-alpha model on a few simulated SDO/AIA frames (notebook 06, step (c)).

The paper's network fails on AIA 1600/1700 sunspots and 304 prominences; here it is
fine-tuned on a few *simulated* frames of each kind (:func:`aia_frames`), with some of its
own H-alpha training images replayed (:func:`halpha_sets`) so that it does not forget them,
and scored on held-out simulated frames before and after (:func:`aia_transfer`). Every number
from it is about simulated images and says so (:data:`AIA_NOTE`). The notebook step that
writes its result files is :func:`slic_lib.experiments.transfer.aia`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..classes import CLASSES
from ..dataset import SolarData, load_dataset
from ..errors import SlicError
from ..finetune import base_model, epochs_for, finetune, from_scratch, predictions, score
from ..inference import cpu_threads
from ..model import SlicNet, read_checkpoint
from ..preprocess import PreprocessConfig, preprocess_array
from ..splits import balanced_sample, split
from ..synthetic import AIA_KINDS, render_aia

REPAIRED_BELOW = 0.5
"""A simulated AIA kind "fails" zero-shot when fewer than this share of frames is right..."""
REPAIRED_AT = 0.8
"""...and counts as repaired when the fine-tuned model gets at least this share right."""

AIA_NOTE = "simulated SDO/AIA stand-ins (slic_lib.synthetic), not real AIA observations"


def aia_frames(kinds: Sequence[str], n_per_kind: int, seed: int | Sequence[int], size: int, preprocessing: SlicNet | PreprocessConfig) -> tuple[SolarData, np.ndarray]:
    """Simulated SDO/AIA frames (:func:`slic_lib.synthetic.render_aia`), each an independent scene.

    Returns
    -------
    data : SolarData
        Preprocessed with the given model's preprocessing; labelled with the five classes;
        marked simulated.
    kinds : ndarray of str
        The AIA kind of every frame (e.g. ``"1600_sunspot"``).
    """
    unknown = [k for k in kinds if k not in AIA_KINDS]
    if unknown:
        raise SlicError(f"unknown simulated AIA kind(s) {', '.join(unknown)}; choose from {', '.join(AIA_KINDS)}.")
    if n_per_kind < 1:
        raise SlicError("at least one frame per AIA kind is needed.")
    config = preprocessing.preprocessing if isinstance(preprocessing, SlicNet) else preprocessing
    images, labels, names, times, kind_of = [], [], [], [], []
    for kind, stream in zip(kinds, np.random.SeedSequence(seed).spawn(len(kinds))):
        rng = np.random.default_rng(stream)
        for i in range(n_per_kind):
            sim = render_aia(kind, rng, size)
            images.append(preprocess_array(np.asarray(sim.data, dtype=np.float64), config))
            labels.append(CLASSES.index(sim.class_name))
            names.append(f"simulated AIA {kind} #{i}")
            times.append(sim.date_obs.isoformat())
            kind_of.append(kind)
    data = SolarData.from_arrays(np.stack(images), labels, CLASSES, config, paths=names, times=times, synthetic=True,
                                 source="slic_lib.synthetic.render_aia (simulated SDO/AIA)")
    return data, np.asarray(kind_of)


def halpha_sets(dataset_path: str | os.PathLike, model_path: str | os.PathLike, n_replay: int, seed: int = 0):
    """The base model's own H-alpha data: its validation images, and up to ``n_replay`` of its
    training images (class-balanced) to mix into a fine-tuning set.

    The split is recomputed from the settings stored in the checkpoint. Returns
    ``((data, val_idx), (data, replay_idx))``, or ``(None, None)`` when the dataset file is absent.
    """
    if not Path(dataset_path).is_file():
        return None, None
    data = load_dataset(dataset_path)
    cfg = read_checkpoint(model_path).train_config
    train, val = split(data, cfg.get("split", "grouped"), cfg.get("val_fraction", 0.1), cfg.get("seed", 0))
    n = min(n_replay, len(train))
    replay = train[balanced_sample(data.labels[train], n, np.random.default_rng(seed))] if n else train[:0]
    return (data, val), (data, replay)


@dataclass
class AIATransfer:
    """Outcome of :func:`aia_transfer` (simulated AIA images)."""

    table: pd.DataFrame
    """One row per AIA kind (see :func:`aia_transfer`)."""
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
        return {"synthetic": True, "note": AIA_NOTE, "kinds": self.table.to_dict("records"), "halpha": self.halpha}


def _most_common(names) -> str:
    counts = Counter(names)
    return counts.most_common(1)[0][0] if counts else ""


def aia_transfer(
    base: SlicNet | str | os.PathLike, names: Sequence[str] = ("1600_sunspot", "1700_sunspot", "304_prominence"), n_frames: int = 8,
    seed: int = 0, n_test: int = 24, size: int = 256, mode: str = "top", top_blocks: int = 2, lr: float = 1e-2, layer_decay: float = 0.5,
    steps: int = 60, batch_size: int = 16, scratch: bool = True, scratch_lr: float = 1e-3, halpha: tuple | None = None,
    replay: tuple | None = None, device: str = "auto", threads: int | None = None, progress: bool = True,
) -> AIATransfer:
    """Fine-tune on a few simulated AIA frames; accuracy on held-out frames before and after.

    The base model is fine-tuned on ``n_frames`` simulated frames of each kind together (one
    model for all kinds) and scored on ``n_test`` other frames per kind.

    Parameters
    ----------
    base : SlicNet or path
        The H-alpha model.
    names : sequence of str
        Simulated AIA kinds (:data:`slic_lib.synthetic.AIA_KINDS`).
    n_frames, n_test : int
        Training and held-out frames per kind.
    seed : int
        Training frames come from ``SeedSequence([seed, 0])``, test frames from ``[seed, 1]``.
    size : int
        Side of the rendered frames (0.6 arcsec pixels), before preprocessing.
    mode, top_blocks, lr, layer_decay, batch_size, device
        See :func:`slic_lib.finetune.finetune`; ``steps`` sets the epochs (:func:`~slic_lib.finetune.epochs_for`).
    scratch, scratch_lr : bool, float
        Also train the architecture from scratch (at ``scratch_lr``) on the same frames.
    halpha : (SolarData, indices), optional
        H-alpha images (the run's validation set): what fine-tuning costs on the original task.
    replay : (SolarData, indices), optional
        H-alpha training images mixed into the fine-tuning set ("rehearsal"), so the model must
        learn the AIA frames without giving up the five H-alpha classes.
    threads, progress
        CPU threads for torch (:func:`slic_lib.inference.cpu_threads`); progress bars.

    Returns
    -------
    AIATransfer
        ``table`` has one row per kind: ``kind``, ``wavelength``, ``expected``, ``n_train``,
        ``n_replay``, ``n_test``, ``accuracy_before``, ``accuracy_after`` (and
        ``accuracy_scratch``), ``predicted_before`` / ``predicted_after`` (most frequent answer),
        ``failed_before`` (zero-shot accuracy below :data:`REPAIRED_BELOW`), ``repaired`` (a
        failure fine-tuning gets right at least :data:`REPAIRED_AT` of the time), ``synthetic``.
    """
    with cpu_threads(threads):
        model = base_model(base)
        train, _ = aia_frames(names, n_frames, [seed, 0], size, model)
        n_replay = 0
        if replay is not None:
            r_data, r_idx = replay
            n_replay = len(r_idx)
            train = train.concat(r_data.subset(r_idx))
        test, test_kinds = aia_frames(names, n_test, [seed, 1], size, model)
        everything = np.arange(len(train))
        before = predictions(model, test, np.arange(len(test)), device)
        epochs = epochs_for(len(train), batch_size, steps)
        tuned, history = finetune(model, train, everything, None, mode, top_blocks, lr, layer_decay, epochs, batch_size, seed,
                                  device=device, progress=progress)
        after = predictions(tuned, test, np.arange(len(test)), device)
        from_zero = None
        if scratch:
            fresh, _ = from_scratch(model, train, everything, None, scratch_lr, epochs, batch_size, seed, device=device, progress=progress)
            from_zero = predictions(fresh, test, np.arange(len(test)), device)
    classes = list(model.class_names)
    rows = []
    for kind in names:
        sel = test_kinds == kind
        truth = test.labels[sel]
        row = {"kind": kind, "wavelength": int(kind.split("_")[0]), "expected": classes[int(truth[0])], "n_train": n_frames,
               "n_replay": n_replay, "n_test": int(sel.sum()), "accuracy_before": float(np.mean(before[sel].argmax(1) == truth)),
               "accuracy_after": float(np.mean(after[sel].argmax(1) == truth))}
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
        forgetting = {"n": int(len(h_idx)), "accuracy_before": score(model, h_data, h_idx, device=device)["accuracy"],
                      "accuracy_after": score(tuned, h_data, h_idx, device=device)["accuracy"], "synthetic": bool(h_data.is_synthetic)}
    return AIATransfer(pd.DataFrame(rows), tuned, test, test_kinds, before, after, history, forgetting)
