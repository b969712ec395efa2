"""A checkpoint on a dataset: predictions, the paper's metrics and timing (``slic evaluate``)."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classify import PRECISION_CHOICES
from .dataset import SolarData, load_dataset
from .splits import split
from .errors import SlicError
from .inference import predict_proba, time_inference
from .metrics import Report, report
from .model import SlicNet, load_checkpoint, read_checkpoint


@dataclass
class Evaluation:
    """Predictions of a model on (a subset of) a dataset."""

    report: Report
    probs: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    data: SolarData
    model: SlicNet | None = None
    """The network that computed ``probs`` (int8 where asked: :func:`slic_lib.quantize.quantize`)."""
    precision: str = "float32"
    """Its arithmetic, resolved (``auto`` is ``bfloat16`` or ``float32`` here)."""

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(1)

    @property
    def misclassified(self) -> np.ndarray:
        """Positions (into ``probs``/``labels``) of the wrongly classified images."""
        return np.flatnonzero(self.preds != self.labels)


def validation_indices(model: SlicNet, data: SolarData, train_config: dict) -> np.ndarray:
    """The validation indices of the split the model was trained with.

    A split that came with the data (the Slic release's train/test files) is used when the
    checkpoint does not name one: the published weights were selected on it.
    """
    default = "fixed" if data.fixed_val is not None else "grouped"
    _, val = split(data, train_config.get("split", default), train_config.get("val_fraction", 0.1), train_config.get("seed", 0))
    return val


def evaluate(
    model: SlicNet | str | os.PathLike,
    data: SolarData | str | os.PathLike,
    subset: str = "val",
    batch_size: int = 64,
    device: str = "auto",
    progress: bool = False,
    precision: str = "float32",
) -> Evaluation:
    """Evaluate a model on a dataset's validation split (``subset="val"``) or all of it.

    The validation split is recomputed from the split settings stored in the checkpoint, so
    it is the one the model was selected on. ``precision`` is the network's arithmetic
    (:func:`slic_lib.inference.logits`): float32 by default, the reference the paper's metrics
    were computed in; ``auto``/``bfloat16`` as ``slic classify`` runs it; ``int8`` (a checkpoint
    with the scales ``slic calibrate`` stores, on a CPU) as ``slic classify --precision int8``
    runs it (:func:`slic_lib.classify.ready_model`).
    """
    from .classify import ready_model, resolve_precision

    precision = resolve_precision(precision, device)
    train_config: dict = {}
    if not isinstance(model, SlicNet):
        ckpt = read_checkpoint(model)
        train_config = ckpt.train_config
        model = ready_model(ckpt, "int8") if precision == "int8" else load_checkpoint(model)
    elif precision == "int8":
        raise SlicError("int8 needs a checkpoint with its stored scales (a path), not a network in memory.")
    data = data if isinstance(data, SolarData) else load_dataset(data)
    if tuple(model.class_names) != tuple(data.class_names):  # else another model's classes are scored under these names
        raise SlicError(f"the dataset's classes {list(data.class_names)} differ from the model's {list(model.class_names)}.")
    if data.preprocessing != model.preprocessing:
        raise SlicError(f"the dataset was preprocessed with {data.preprocessing} but the model expects {model.preprocessing}; rebuild the dataset.")
    if subset == "val":
        idx = validation_indices(model, data, train_config)
    elif subset == "all":
        idx = np.arange(len(data))
    else:
        raise SlicError(f"unknown subset {subset!r}; use 'val' or 'all'.")
    if len(idx) == 0:
        raise SlicError("the model's validation split of this dataset is empty (is it the dataset the model was trained on?); "
                        "use --subset all to score every image.")
    arithmetic, device = ("float32", "cpu") if precision == "int8" else (precision, device)  # an int8 network is already quantized
    probs = predict_proba(model, data.images[idx], batch_size, device, precision=arithmetic, progress=progress)
    labels = data.labels[idx]
    return Evaluation(report(labels, probs.argmax(1), data.class_names), probs, labels, idx, data, model, precision)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, help="dataset file from 'slic build'")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (slic train) or published sol_class_4.pth")
    parser.add_argument("--subset", choices=("val", "all"), default="val", help="the checkpoint's validation split, or every image")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="float32",
                        help="network arithmetic: float32 (default, the reference), or auto / bfloat16 / int8 as slic classify "
                             "runs it (int8: CPUs, a checkpoint calibrated by slic calibrate)")
    parser.add_argument("--json", type=Path, help="also write the metrics and timing to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, batch jobs)")


def run(args: argparse.Namespace) -> int:
    if args.json is not None:  # before the work, not after it
        if args.json.suffix.lower() != ".json":  # `--json model.pt` had written the metrics over the model
            raise SlicError(f"--json {args.json} does not end in .json; name the JSON file to write.")
        if args.json.is_dir():
            raise SlicError(f"--json {args.json} is a folder; name the JSON file to write.")
        if not args.json.parent.is_dir():
            raise SlicError(f"the folder of --json {args.json} does not exist.")
    result = evaluate(args.model, args.data, args.subset, device=args.device, progress=not args.no_progress, precision=args.precision)
    int8 = result.precision == "int8"
    timing = time_inference(result.model, result.data.images[result.indices], device="cpu" if int8 else args.device,
                            precision="float32" if int8 else result.precision, repeats=1)
    timing["precision"] = result.precision
    print(result.report)
    if args.subset == "val":
        print(f"scored {len(result.indices)} of the dataset's {len(result.data)} images: the validation split of the model's "
              "training settings (the one it was selected on, if this is its dataset; --subset all scores every image)")
    print(f"classified {timing['n_images']} images in {timing['seconds']:.2f} s on {timing['device']} in {timing['precision']}")
    if result.data.is_synthetic:
        print("note: these images are simulated (slic_lib.synthetic), not real observations.")
    if args.json:
        _write_json(args.json, {**result.report.to_dict(), "timing": timing, "synthetic_data": result.data.is_synthetic})
    return 0


def _write_json(path: Path, obj: dict) -> None:
    try:
        path.write_text(json.dumps(obj, indent=2))
    except OSError as exc:
        raise SlicError(f"cannot write {path} ({exc.strerror}); the metrics above are not saved.") from None

