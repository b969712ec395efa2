"""Calibrated confidence and an out-of-distribution flag for the catalogue (``slic calibrate``).

A softmax always sums to one: shown an SDO/AIA 304 frame, a network trained on H-alpha
images still names a class, often with high "probability". Two measurements on the model's
own validation split make its outputs honest:

Temperature scaling (Guo et al. 2017)
    One scalar ``T`` divides the logits; it is fitted (L-BFGS on ``log T``) to minimise the
    negative log-likelihood of the validation labels, so ``confidence = max softmax(z / T)``
    matches the validation accuracy instead of over-stating it. The predicted class is unchanged.
    A split whose every image is right holds no error to fit against: ``T`` stays 1
    (:func:`fit_temperature`), and the confidences are the network's own.
Mahalanobis distance (Lee et al. 2018)
    The network's last feature maps, averaged over the image, summarise what it saw. Their
    class means and one shared covariance (Ledoit-Wolf shrinkage, as validation sets are small)
    are estimated on the model's training split; ``ood_score`` is the squared Mahalanobis
    distance to the nearest class mean. The threshold is the ``quantile`` (default 99 %) of the
    validation images' scores (images the statistics were not estimated on), so about 1 % of
    in-distribution images are flagged, and anything above is flagged out of distribution
    (``ood_flag``). The energy score ``-T logsumexp(z / T)`` (Liu et al. 2020) is kept as a
    function for comparison; on the simulated data it did not separate AIA frames.
The band of the header (:func:`outside_band`)
    Neither score separates the simulator's AIA frames from its H-alpha ones (the paper's
    very finding: the features of an AIA 304 prominence look like an H-alpha one's), so a
    frame whose ``WAVELNTH`` lies outside H-alpha is flagged as well, calibrated or not.

The result, a :class:`Calibration`, is stored in the checkpoint's ``metrics["calibration"]``
(``slic paper`` does it for the selected model; ``slic calibrate`` for any checkpoint and
dataset). A model without one (the published ``sol_class_4.pth``) is used at ``T = 1`` with
no OOD flag, and the catalogue says ``uncalibrated``.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import SlicError

SCORE = "mahalanobis"
DEFAULT_QUANTILE = 0.99


@dataclass(frozen=True)
class Calibration:
    """Temperature and OOD threshold fitted on a model's validation split.

    Attributes
    ----------
    temperature : float
        Divides the logits before the softmax.
    threshold : float
        Score above which an image is flagged out of distribution.
    quantile : float
        Fraction of the validation images whose score is at or below ``threshold``.
    n_images : int
        Validation images used.
    accuracy : float
        Validation accuracy (unchanged by the temperature).
    nll_before, nll_after : float
        Validation negative log-likelihood at ``T = 1`` and at ``temperature``.
    ece_before, ece_after : float
        Expected calibration error (15 bins) at ``T = 1`` and at ``temperature``.
    means : list
        Class means of the pooled features ``(n_classes, n_features)``.
    precision : list
        Inverse of the shared feature covariance ``(n_features, n_features)``.
    score : str
        The OOD score's name (``"mahalanobis"``).
    """

    temperature: float
    threshold: float
    quantile: float
    n_images: int
    accuracy: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    means: Any = None
    precision: Any = None
    score: str = SCORE

    def to_dict(self) -> dict[str, Any]:
        """Plain types and float32 tensors (what a checkpoint read with ``weights_only`` holds)."""
        d = {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in asdict(self).items()}
        d["means"] = torch.as_tensor(np.asarray(self.means, dtype=np.float32))
        d["precision"] = torch.as_tensor(np.asarray(self.precision, dtype=np.float32))
        return d

    def summary(self) -> dict[str, Any]:
        """The scalar fields (for JSON provenance records)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("means", "precision")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Calibration":
        kw = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k in ("means", "precision"):
            kw[k] = np.asarray(kw[k].numpy() if isinstance(kw.get(k), torch.Tensor) else kw.get(k), dtype=np.float64)
        return cls(**kw)

    def distance(self, features: Any) -> np.ndarray:
        """Squared Mahalanobis distance of pooled features to the nearest class mean."""
        return mahalanobis(features, self.means, self.precision)


def _tensor(x: Any) -> torch.Tensor:
    return x.detach().float().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=torch.float32)


def fit_temperature(logits: Any, labels: Any, max_iter: int = 100) -> float:
    """The temperature that minimises the NLL of ``labels`` under ``softmax(logits / T)``; 1 where none does.

    When every validation image is classified right, the NLL falls without end as ``T -> 0``:
    the split shows no error to weigh confidence against, and the fit ran to its bound (0.05),
    which turned every answer, wrong ones on real images included, into a certainty. Then
    the temperature stays 1 (the network's own probabilities).
    """
    z, y = _tensor(logits), torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(z) == 0:
        raise SlicError("cannot calibrate on an empty validation split.")
    if bool((z.argmax(1) == y).all()):
        return 1.0
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp().clamp(0.05, 100.0))
    return t if np.isfinite(t) else 1.0


def energy(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """Energy score ``-T logsumexp(z / T)`` per image (higher: less like the training data)."""
    z = _tensor(logits)
    return (-temperature * torch.logsumexp(z / temperature, dim=1)).numpy().astype(np.float64)


def _nll(z: torch.Tensor, y: torch.Tensor, t: float) -> float:
    return float(torch.nn.functional.cross_entropy(z / t, y))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Mean |accuracy - confidence| over confidence bins, weighted by the images in each."""
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


def mahalanobis(features: Any, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of each row of ``features`` to the nearest of ``means``."""
    f = _tensor(features).numpy().astype(np.float64)
    if len(f) == 0:
        return np.zeros(0)
    d = f[:, None, :] - np.asarray(means)[None]
    return np.einsum("nci,ij,ncj->nc", d, np.asarray(precision), d).min(1)


def fit_gaussians(features: Any, labels: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class means and the precision of one shared covariance (Ledoit-Wolf) of pooled features."""
    from sklearn.covariance import LedoitWolf

    f = _tensor(features).numpy().astype(np.float64)
    y = np.asarray(labels)
    means = np.stack([f[y == c].mean(0) if (y == c).any() else f.mean(0) for c in range(n_classes)])
    lw = LedoitWolf().fit(f - means[y])
    return means, lw.precision_


def calibrate_outputs(logits: Any, labels: Any, features: Any, train_features: Any, train_labels: Any,
                      quantile: float = DEFAULT_QUANTILE) -> Calibration:
    """Fit the temperature on validation logits, the feature Gaussians on training features,
    and the OOD threshold on the validation features' distances."""
    if not 0 < quantile < 1:
        raise SlicError(f"the OOD quantile must lie between 0 and 1, not {quantile}.")
    z, y = _tensor(logits), torch.as_tensor(np.asarray(labels), dtype=torch.long)
    t = fit_temperature(z, y)
    means, precision = fit_gaussians(train_features, train_labels, z.shape[1])
    scores = mahalanobis(features, means, precision)
    y_np = y.numpy()
    p1, pt = torch.softmax(z, 1).numpy(), torch.softmax(z / t, 1).numpy()
    return Calibration(
        temperature=t,
        threshold=float(np.quantile(scores, quantile)),
        quantile=quantile,
        n_images=len(y_np),
        accuracy=float(np.mean(p1.argmax(1) == y_np)),
        nll_before=_nll(z, y, 1.0),
        nll_after=_nll(z, y, t),
        ece_before=expected_calibration_error(p1, y_np),
        ece_after=expected_calibration_error(pt, y_np),
        means=means,
        precision=precision,
    )


def calibrate(model, images: Any, labels: Any, train_images: Any, train_labels: Any,
              quantile: float = DEFAULT_QUANTILE, batch_size: int = 64, device: str | None = None,
              max_train: int = 4000, seed: int = 0) -> Calibration:
    """Calibrate a model: validation images ``(N, S, S)`` and labels, and its training images.

    The training images only give the feature statistics (at most ``max_train`` of them, drawn
    with ``seed``); the temperature and the threshold come from the validation images.
    """
    if len(train_images) > max_train:
        idx = np.sort(np.random.default_rng(seed).choice(len(train_images), max_train, replace=False))
        train_images, train_labels = train_images[idx], np.asarray(train_labels)[idx]
    z, f = logits_and_features(model, images, batch_size, device)
    _, f_train = logits_and_features(model, train_images, batch_size, device)
    return calibrate_outputs(z, labels, f, f_train, train_labels, quantile)


def scores(logits: Any, features: Any, calibration: Calibration | None) -> dict[str, Any]:
    """Per-image ``probs``, ``confidence``, ``ood_score`` and ``ood_flag`` from a forward pass.

    Without a calibration: ``T = 1``, and ``ood_score`` and ``ood_flag`` are None (unknown).
    """
    z = _tensor(logits)
    t = calibration.temperature if calibration else 1.0
    probs = torch.softmax(z / t, 1).numpy()
    conf = probs.max(1) if len(probs) else np.zeros(0)
    if calibration is None:
        return {"probs": probs, "confidence": conf, "ood_score": None, "ood_flag": None}
    d = calibration.distance(features)
    return {"probs": probs, "confidence": conf, "ood_score": d, "ood_flag": d > calibration.threshold}


TRAINED_BAND_ANGSTROM = (6540.0, 6590.0)
"""The band every slic model is trained for: H-alpha (6562.8 A) with room for the line's wings
and a tunable filter's offsets. A frame whose header puts it elsewhere is out of distribution
whatever the network's features say."""


def outside_band(wavelength: float | None, unit: str | None, band: tuple[float, float] = TRAINED_BAND_ANGSTROM) -> bool | None:
    """Whether a header's wavelength lies outside ``band`` (angstrom); None when the header is silent.

    The simulator's AIA frames are not flagged by the Mahalanobis score of the cpu-profile
    model (median 1197 for its 109 AIA 1600/1700/304 frames, four times the 306 of its SOT
    validation images, but none above the threshold of 4600), as the paper's network was fooled
    by them: the features alone do not tell an AIA 304 prominence from an H-alpha one. The
    header can. ``unit`` is parsed by astropy (``Angstrom``, ``nm``, ...). Without one, headers
    disagree: ``WAVELNTH`` is in angstrom for SDO and most archives but in nm for DKIST
    (``656.28``), so the wavelength counts as outside only if it is outside the band read either
    way (no solar channel lies at 654-659 A).
    """
    if wavelength is None or not np.isfinite(wavelength):
        return None
    import astropy.units as u

    try:
        units = [u.Unit(unit)] if unit else [u.AA, u.nm]
        values = [(float(wavelength) * q).to_value(u.AA, equivalencies=u.spectral()) for q in units]
    except (ValueError, TypeError, u.UnitsError):
        return None
    return not any(band[0] <= v <= band[1] for v in values)


def from_checkpoint(checkpoint) -> Calibration | None:
    """The calibration stored in a :class:`~slic_lib.model.Checkpoint`'s metrics, if any."""
    d = (checkpoint.metrics or {}).get("calibration")
    return Calibration.from_dict(d) if d else None


def _refuse_published(ckpt, path) -> None:
    if ckpt.published:
        raise SlicError(f"{path} is a bare published state_dict, which has no place for a calibration; write a calibrated "
                        "slic_lib checkpoint of it with 'slic calibrate MODEL DATASET --out NEW.pt' (DATASET: the release's, "
                        "which notebook 01 writes with data_source='slic-release').")


def store(path: str | os.PathLike, calibration: Calibration, int8: dict | None = None) -> Path:
    """Write ``calibration`` (and int8 scales, :func:`slic_lib.quantize.calibrate`) into the
    checkpoint at ``path`` (atomically, weights untouched)."""
    from .model import read_checkpoint, save_checkpoint

    ckpt = read_checkpoint(path)
    _refuse_published(ckpt, path)
    return save_checkpoint(_with(ckpt, calibration, int8), path)


def _with(ckpt, calibration: Calibration, int8: dict | None):
    ckpt.metrics = {**ckpt.metrics, "calibration": calibration.to_dict()}
    if int8 is not None:
        ckpt.metrics["int8"] = int8
    return ckpt


def calibrate_int8(model, train_images: Any, val_images: Any) -> dict | None:
    """int8 scales from training images, with the share of validation images whose int8 label
    equals the float32 one (``agreement``); None where the CPU has no int8 engine."""
    from . import quantize

    if not quantize.supported():
        return None
    int8 = quantize.calibrate(model, train_images)
    int8["agreement"], int8["n_agreement"] = quantize.agreement(model, int8, val_images), int(len(val_images))
    return int8


def calibrate_checkpoint(path: str | os.PathLike, dataset: str | os.PathLike, quantile: float = DEFAULT_QUANTILE,
                         device: str | None = None, out: str | os.PathLike | None = None,
                         force: bool = False) -> tuple[Calibration, dict | None]:
    """Calibrate the checkpoint at ``path`` on its own validation split of ``dataset`` and store it.

    Returns the calibration and the int8 scales (:func:`calibrate_int8`; None without an int8
    engine), both stored in the checkpoint: in place, or in a copy at ``out``. The split is
    rebuilt from the checkpoint's training settings (``split``, ``val_fraction``, ``seed``), so
    the images are the ones the model was selected on, never its training images.

    The published ``sol_class_4.pth`` is a bare state_dict with no place for either: with
    ``out``, it is written there as a ``slic_lib`` checkpoint (weights unchanged, its source
    and SHA-256 recorded), calibrated on the paper's own validation images, the fixed split of
    the release's dataset (:func:`slic_lib.dataset.convert_slic_npz`).

    A checkpoint records a fingerprint of its training and validation images
    (:func:`slic_lib.train.data_fingerprint`); a dataset whose split does not match it is
    refused unless ``force``: its "validation" images may be the model's training images.
    """
    from .dataset import load_dataset
    from .model import model_from_checkpoint, read_checkpoint, save_checkpoint
    from .splits import split

    ckpt = read_checkpoint(path)
    if out is None:
        _refuse_published(ckpt, path)  # before the work, not after it
    else:
        out = _writable_out(out)
        if out.exists() and Path(dataset).exists() and out.samefile(dataset):  # it had written the checkpoint over the dataset
            raise SlicError(f"--out {out} is the dataset; give the checkpoint file to write, e.g. {out.with_suffix('.pt')}.")
        if out.suffix.lower() not in (".pt", ".pth"):
            raise SlicError(f"--out {out} does not end in .pt or .pth; give the checkpoint file to write.")
    data = load_dataset(dataset)
    if tuple(data.class_names) != tuple(ckpt.class_names):
        raise SlicError(f"the dataset's classes {list(data.class_names)} differ from the model's {list(ckpt.class_names)}.")
    if data.preprocessing != ckpt.preprocessing:
        raise SlicError(f"the dataset was preprocessed with {data.preprocessing} but the model expects {ckpt.preprocessing}; "
                        "calibrate on the dataset the model was trained on.")
    if ckpt.published:
        if data.fixed_val is None:
            raise SlicError("the published network was selected on the release's solar_test_data.npz: calibrate it on the "
                            "release's dataset (notebook 01 writes it with data_source='slic-release'), whose fixed split "
                            "holds those images; this dataset has no fixed split.")
        from .catalogue import sha256

        ckpt.train_config = {"split": "fixed"}
        ckpt.metrics = {"converted_from": {"path": str(Path(path).resolve()), "sha256": sha256(Path(path)),
                                           "trained_by": "Armstrong & Fletcher (2019), the Slic release"}}
        ckpt.published = False
    tc = ckpt.train_config or {}
    train, val = split(data, tc.get("split", "grouped"), tc.get("val_fraction", 0.1), tc.get("seed", 0))
    if len(val) == 0:
        raise SlicError("the model's validation split of this dataset is empty; nothing to calibrate on.")
    trained_on = (ckpt.metrics or {}).get("data_fingerprint")  # None: older or converted checkpoints, not compared
    if trained_on is not None and not force:
        from .train import data_fingerprint

        if data_fingerprint((data.images[train], data.labels[train]), (data.images[val], data.labels[val])) != trained_on:
            raise SlicError(f"{dataset} is not the dataset {path} was trained on (its split differs from the images the checkpoint "
                            "records), so its validation images may be the model's training images; calibrate on the dataset the "
                            "model was trained on, or pass --force to calibrate on this one anyway.")
    if len(np.unique(data.labels[val])) < 2:
        raise SlicError(f"the model's validation split of this dataset holds one class only ({len(val)} images); a calibration "
                        "needs validation images of several classes (the dataset the model was trained on).")
    model = model_from_checkpoint(ckpt)
    cal = calibrate(model, data.images[val], data.labels[val], data.images[train], data.labels[train], quantile, device=device)
    int8 = calibrate_int8(model, data.images[train], data.images[val])
    if out is None:
        store(path, cal, int8)
    else:
        save_checkpoint(_with(ckpt, cal, int8), out)
    return cal, int8


def _writable_out(out: str | os.PathLike) -> Path:
    out = Path(out)
    if out.is_dir():
        raise SlicError(f"--out {out} is a folder; give the checkpoint file to write, e.g. {out / 'calibrated.pt'}.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SlicError(f"cannot make the folder of --out {out} ({exc.strerror}).") from None
    if not os.access(out.parent, os.W_OK):
        raise SlicError(f"cannot write --out {out}: its folder is not writable.")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``slic calibrate``."""
    parser.add_argument("model", type=Path, help="checkpoint to calibrate (rewritten in place, weights unchanged; "
                        "the published sol_class_4.pth needs --out)")
    parser.add_argument("dataset", type=Path, help="the dataset file the model was trained on (its validation split is used)")
    parser.add_argument("--quantile", type=float, default=DEFAULT_QUANTILE,
                        help="share of validation images below the OOD threshold (default 0.99)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the calibrated checkpoint here instead of in place (a slic_lib checkpoint, also of "
                             "the published state_dict, which can then run with --precision int8)")
    parser.add_argument("--force", action="store_true",
                        help="calibrate even on a dataset whose split is not the one the model was trained and selected on")


def run(args: argparse.Namespace) -> int:
    """Run ``slic calibrate``."""
    cal, int8 = calibrate_checkpoint(args.model, args.dataset, args.quantile, args.device, args.out, force=args.force)
    written = args.model if args.out is None else args.out
    if cal.accuracy == 1.0:
        print(f"note: every one of the {cal.n_images} validation images is classified right, so they cannot show how far to trust "
              "a confidence: the temperature stays 1 (a validation split with errors, e.g. of harder or real images, would fit one)")
    print(f"calibrated {args.model}{'' if args.out is None else f' into {args.out}'} on {cal.n_images} validation images: temperature {cal.temperature:.3f} "
          f"(NLL {cal.nll_before:.3f} -> {cal.nll_after:.3f}, ECE {cal.ece_before:.3f} -> {cal.ece_after:.3f}); "
          f"OOD when the Mahalanobis score > {cal.threshold:.1f} (the {cal.quantile:.0%} quantile of validation scores)")
    if int8:
        print(f"int8 scales from {int8['n_images']} training images; int8 labels equal float32 ones on "
              f"{int8['agreement']:.1%} of {int8['n_agreement']} validation images "
              f"('slic classify --model {shlex.quote(str(written))} --precision int8')")  # pasteable, spaces and all
    return 0


class WithFeatures(torch.nn.Module):
    """A SlicNet whose output is its logits followed by its spatially averaged last feature maps.

    Passed to :func:`slic_lib.inference.logits`, it gives both in one forward pass on the
    project's one prediction loop (same device, precision and batching).
    """

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        self.n_classes = model.config.n_classes
        self.config = model.config
        # a new Module is in train mode: take the network's own, or leaving eval_mode would put
        # a shared network (one per Dask worker, used by its threads) back in train mode
        self.train(model.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = []
        for _, module in self.model.stages():
            x = module(x)
            if isinstance(module, torch.nn.MaxPool2d):
                pooled.append((x.dequantize() if x.is_quantized else x.float()).mean((2, 3)))
        z = self.model.classifier(torch.flatten(x, 1))
        return torch.cat([z.float(), *pooled], 1)


def logits_and_features(model, images, batch_size=64, device=None, precision="float32"):
    from .inference import logits as run_logits

    out = run_logits(WithFeatures(model), images, batch_size, device, precision)
    k = model.config.n_classes
    return out[:, :k], out[:, k:]
