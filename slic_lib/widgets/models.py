"""Which network a demo uses: the selected model of a profile, else a small one trained on the spot.

The demos run with any profile's model. :func:`find_model` looks for the selected
checkpoint of the profile (``$SLIC_PROFILE``, else ``cpu``) where notebook 02 writes it,
:attr:`slic_lib.experiments.run.Run.best_model` (``data/models/<profile>/best.pt``), then for
the other profiles' ones, then for a demo model trained earlier. When there is none,
:func:`train_demo_model` trains a small network (the ``smoke`` profile's architecture) on
simulated H-alpha images in a few seconds and keeps it in ``data/models/demo/best.pt``, so
a student who has not run notebooks 01-02 still gets a working (if weaker) demo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..classes import CLASSES
from ..errors import SlicError
from ..inference import cpu_threads
from ..model import ModelConfig, SlicNet, model_from_checkpoint, read_checkpoint
from ..paths import ROOT, data_root, models_dir
from ..preprocess import PreprocessConfig, preprocess_array
from ..profiles import PROFILES, get_profile
from ..synthetic import render_sot
from ..train import TrainConfig, fit

DEMO_PROFILE = "demo"
"""Folder name under ``data/models/`` of the model :func:`train_demo_model` trains."""


@dataclass(frozen=True)
class DemoTraining:
    """How the fallback demo model is trained (about 15 s on one CPU core).

    Measured on the simulator as it changed on 2026-11-25 (one training seed each): with a rate
    of 1e-2 the validation accuracy swung between epochs and simulator versions (61-94 %); 3e-3
    gave 83 % (60 images per class) and 88 % (80 per class, 1.6 times slower).

    Parameters
    ----------
    per_class : int
        Simulated H-alpha images per class (half as many again are held out for validation).
    image_size : int
        Side of the simulated images in pixels.
    epochs, lr, batch_size : int, float, int
        SGD settings (:class:`slic_lib.train.TrainConfig`).
    seed : int
        Seeds the images and the training, so the model is the same every time.
    """

    per_class: int = 60
    image_size: int = 128
    epochs: int = 12
    lr: float = 3e-3
    batch_size: int = 16
    seed: int = 0


@dataclass
class DemoModel:
    """A network ready for the demos and a sentence saying where it came from."""

    model: SlicNet
    path: Path
    note: str
    trained_here: bool = False

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.model.class_names)


def _shown(path: Path) -> str:
    """A checkpoint's path as a student reads it: ``data/models/...`` or ``$SLIC_DATA/models/...``."""
    try:
        inside = path.resolve().relative_to(data_root())
    except ValueError:
        return str(path)
    return f"{'data' if data_root() == (ROOT / 'data').resolve() else '$SLIC_DATA'}/{inside}"


def candidates(profile: str | None = None) -> list[Path]:
    """Checkpoints a demo may use, best first: the profile's, the other profiles', the demo's."""
    first = get_profile(profile).name
    names = [first, *(p for p in ("cpu", "paper", "smoke") if p != first and p in PROFILES), DEMO_PROFILE]
    return [data_root() / "models" / n / "best.pt" for n in names]  # not models_dir: looking creates no folders


def find_model(profile: str | None = None) -> Path | None:
    """The first checkpoint of :func:`candidates` that exists, or None."""
    return next((p for p in candidates(profile) if p.is_file()), None)


def simulated_training_set(settings: DemoTraining, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Preprocessed simulated images and labels, ``(train_x, train_y, val_x, val_y)``, from a fixed seed."""
    rng = np.random.default_rng(settings.seed)
    config = PreprocessConfig(size=size)
    n_val = max(1, settings.per_class // 2)
    xs, ys = [], []
    for label, name in enumerate(CLASSES):
        for _ in range(settings.per_class + n_val):
            xs.append(preprocess_array(np.asarray(render_sot(name, rng, settings.image_size).data, float), config))
            ys.append(label)
    x, y = np.stack(xs), np.asarray(ys)
    val = np.zeros(len(y), bool)
    for label in range(len(CLASSES)):
        val[np.flatnonzero(y == label)[-n_val:]] = True
    return x[~val], y[~val], x[val], y[val]


def train_demo_model(
    out: str | Path | None = None,
    settings: DemoTraining = DemoTraining(),
    on_step: Callable[[int, int, str], None] | None = None,
) -> DemoModel:
    """Train the small fallback network on simulated H-alpha images and save it.

    Parameters
    ----------
    out : path, optional
        Checkpoint folder (``best.pt`` is written there); default ``data/models/demo``.
    settings : DemoTraining
        Data and optimisation settings.
    on_step : callable, optional
        Called as ``on_step(done, total, message)`` after the images are made and after
        every epoch (e.g. to move an ipywidgets progress bar).

    Returns
    -------
    DemoModel
        The best epoch's network (validation accuracy on held-out simulated images).
    """
    smoke = get_profile("smoke")
    out = Path(out) if out is not None else models_dir(DEMO_PROFILE)
    total = settings.epochs + 1
    with cpu_threads(1):
        xt, yt, xv, yv = simulated_training_set(settings, smoke.input_size)
        if on_step:
            on_step(1, total, f"simulated {len(yt) + len(yv)} H-alpha images")
        torch.manual_seed(settings.seed)
        model = SlicNet(ModelConfig(arch=smoke.arch, input_size=smoke.input_size, width=smoke.width, hidden=smoke.hidden))
        model.preprocessing = PreprocessConfig(size=smoke.input_size)
        config = TrainConfig(lr=settings.lr, epochs=settings.epochs, batch_size=settings.batch_size, seed=settings.seed,
                             augment=True, device="cpu")

        def epoch_done(row: dict) -> None:
            if on_step:
                on_step(int(row["epoch"]) + 1, total, f"epoch {row['epoch']}: validation accuracy {row['val_accuracy']:.0%}")

        result = fit(model, config, (xt, yt), (xv, yv), out_dir=out, resume=False, keep_best=True,
                     metrics={"synthetic_data": True, "data_source": "simulator (slic_lib.widgets demo model)"},
                     on_epoch=epoch_done, progress=False, desc="demo model")
    note = (f"No trained model was found, so a small demo network was trained here on {len(yt)} simulated H-alpha images "
            f"(validation accuracy {result.best_val_accuracy:.0%} on {len(yv)} held-out simulated images); "
            "run notebooks 01 and 02 for the real one.")
    return DemoModel(model.eval(), result.best_path, note, trained_here=True)


def load_demo_model(profile: str | None = None, train_if_missing: bool = True,
                    on_step: Callable[[int, int, str], None] | None = None) -> DemoModel:
    """The demos' network: the selected model of a profile if there is one, else a small trained one.

    Parameters
    ----------
    profile : str, optional
        Profile whose model is preferred (default ``$SLIC_PROFILE``, else ``cpu``).
    train_if_missing : bool
        Train :func:`train_demo_model` when no checkpoint exists; otherwise raise.
    on_step : callable, optional
        Training progress callback (see :func:`train_demo_model`).

    Raises
    ------
    SlicError
        When no checkpoint exists and ``train_if_missing`` is false.
    """
    path = find_model(profile)
    if path is None:
        if not train_if_missing:
            raise SlicError("no trained model was found; run notebooks 01 and 02 (or 'slic paper') first.")
        return train_demo_model(on_step=on_step)
    checkpoint = read_checkpoint(path)
    model = model_from_checkpoint(checkpoint)
    wanted = get_profile(profile).name
    where = path.parent.name
    acc = checkpoint.metrics.get("best_val_accuracy") if isinstance(checkpoint.metrics, dict) else None
    acc_text = f", validation accuracy {acc:.0%}" if isinstance(acc, (int, float)) else ""
    synthetic = " on simulated images" if checkpoint.metrics.get("synthetic_data") else ""
    note = f"Model: {_shown(path)} (profile {where!r}{synthetic}{acc_text})."
    if where != wanted:
        note += f" The {wanted!r} profile has no trained model yet, so this one is used."
    return DemoModel(model, path, note)


__all__ = ["DemoModel", "DemoTraining", "candidates", "find_model", "load_demo_model", "train_demo_model"]
