"""The paper's analysis as library functions: one per notebook, so notebooks stay thin.

A :class:`Run` ties a profile and a data source to folders::

    data/<profile>/             simulated FITS (sim/, aia/), dataset.h5
    data/models/<profile>/      sweep/lr_<rate>/{last,best}.pt and best.pt, the selected model
    figures/<profile>/          PNG + PDF figures, CSV + Markdown tables, summary.json

Every step skips work whose output is already there and complete (a re-run after an
interruption continues), and every result records whether it came from simulated data.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import summary
from ..classes import CLASSES
from ..dataset import BuildReport, SolarData, build_dataset, convert_slic_npz, load_dataset, split
from ..errors import SlicError
from ..model import ModelConfig, SlicNet, load_checkpoint, read_checkpoint, save_checkpoint
from ..paths import data_root, figures_dir, models_dir
from ..preprocess import PreprocessConfig, image_array, preprocess_array
from ..profiles import Profile, get_profile

log = logging.getLogger(__name__)

#: The paper's AIA tests: simulator sequence name -> (Fido observation name, paper figure)
ADVERSARIAL = {
    "AR11638_1600": ("ar11638-1600", "Figure 4"),
    "AR11638_1700": ("ar11638-1700", "section 4.2.1"),
    "AR12665_1600": ("ar12665-1600", "Figure 8"),
    "AR12665_1700": ("ar12665-1700", "section 4.2.1"),
    "AR12674_1600": ("ar12674-1600", "Figure 9"),
    "AR12674_1700": ("ar12674-1700", "section 4.2.1"),
    "prominence_20120831_304": ("prominence-2012-08-31-304", "Figure 6"),
    "prominence_20130101_NE_304": ("prominence-2013-01-01-ne-304", "Figure 6"),
    "prominence_20130101_SE_304": ("prominence-2013-01-01-se-304", "Figure 6"),
}
#: The resolution test's co-temporal pair (section 4.2.1, Figure 5)
RESOLUTION_PAIR = {"sot": ("AR11108_SOT_halpha", "ar11108-sot-halpha"), "aia": ("AR11108_1600", "ar11108-1600")}

PAPER_GPU_SECONDS = 4.66
PAPER_CPU_SECONDS = 895.0
PAPER_N_VALIDATION = 1318


@dataclass
class Run:
    """One profile on one data source, and where its files go."""

    profile: Profile
    data_source: str
    aia_source: str = "simulator"  # where the AIA (and co-temporal SOT) test observations come from

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def synthetic(self) -> bool:
        """True when the H-alpha data come from the simulator: results must say so."""
        return self.data_source == "simulator"

    @property
    def data_dir(self) -> Path:
        return data_root() / self.name

    @property
    def dataset_path(self) -> Path:
        return self.data_dir / "dataset.h5"

    @property
    def models(self) -> Path:
        return models_dir(self.name)

    @property
    def best_model(self) -> Path:
        return self.models / "best.pt"

    @property
    def figures(self) -> Path:
        return figures_dir(self.name)

    @property
    def label(self) -> str:
        return "simulated data" if self.synthetic else f"data: {self.data_source}"

    def save(self, fig, name: str) -> list[Path]:
        """Save a figure as PNG and PDF in the run's figure folder."""
        from ..plotting import save_figure

        return save_figure(fig, self.figures / name)

    def table(self, df, name: str, caption: str = "") -> Path:
        """Write a table as CSV and Markdown (with a caption that names the data source)."""
        df.to_csv(self.figures / f"{name}.csv", index=False)
        note = f"{caption} ({self.label}, profile {self.name})".strip()
        md = f"{note}\n\n{df.to_markdown(index=False) if _has_tabulate() else df.to_string(index=False)}\n"
        path = self.figures / f"{name}.md"
        path.write_text(md)
        return path


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def start(profile: str | None = None, data_source: str | None = None, aia_source: str | None = None) -> Run:
    """Resolve a notebook's parameters.

    Parameters
    ----------
    profile
        Papermill's ``-p profile``, else ``$SLIC_PROFILE``, else ``cpu``.
    data_source
        H-alpha training data: ``simulator``, ``slic-release`` or a folder of class folders of
        FITS files; else ``$SLIC_DATA_SOURCE``, else the profile's default.
    aia_source
        The AIA test observations of notebooks 04-05: ``simulator`` (default) or ``fido``.
    """
    prof = get_profile(profile)
    source = data_source or os.environ.get("SLIC_DATA_SOURCE") or prof.data_source
    if source not in ("simulator", "slic-release") and not Path(source).is_dir():
        raise SlicError(f"unknown data source {source!r}: use simulator, slic-release or a folder of class folders of FITS files.")
    aia = aia_source or os.environ.get("SLIC_AIA_SOURCE") or "simulator"
    if aia not in ("simulator", "fido"):
        raise SlicError(f"unknown AIA source {aia!r}: use simulator or fido.")
    run = Run(prof, source, aia)
    run.figures  # create the folders
    return run


# --------------------------------------------------------------------------------------------
# 01: data curation
# --------------------------------------------------------------------------------------------


@dataclass
class Curation:
    report: BuildReport | None
    data: SolarData
    image_dir: Path | None


def _complete(marker: Path, params: dict) -> bool:
    return marker.exists() and json.loads(marker.read_text()) == params


def simulate_training_data(run: Run, progress: bool = True) -> Path:
    """Simulated SOT class folders for the run (kept when already complete with these settings)."""
    from .. import synthetic

    p = run.profile
    out = run.data_dir / "sim"
    params = {"per_class": p.per_class, "seed": p.seed, "size": p.image_size, "frames_per_sequence": p.frames_per_sequence}
    marker = out / ".complete.json"
    if not _complete(marker, params):
        if out.exists():
            shutil.rmtree(out)
        synthetic.generate(out, p.per_class, seed=p.seed, size=p.image_size, frames_per_sequence=p.frames_per_sequence, progress=progress)
        marker.write_text(json.dumps(params))
    return out


def curate(run: Run, progress: bool = True) -> Curation:
    """Notebook 01: get the H-alpha images and build the dataset file."""
    p = run.profile
    config = PreprocessConfig(size=p.input_size)
    report, image_dir = None, None
    if run.data_source == "slic-release":
        from ..fetch import fetch

        files = fetch("slic-release", progress=progress)
        convert_slic_npz(files["solar_train_data.npz"], run.dataset_path, val_npz=files["solar_test_data.npz"])
    else:
        image_dir = simulate_training_data(run, progress) if run.synthetic else Path(run.data_source)
        report = build_dataset(image_dir, run.dataset_path, config, progress=progress, source=run.data_source)
    data = load_dataset(run.dataset_path)
    counts = {c: int((data.labels == i).sum()) for i, c in enumerate(data.class_names)}
    summary.update(
        run.name,
        profile=run.name,
        profile_settings=p.to_dict(),
        data_source=run.data_source,
        synthetic_data=data.is_synthetic,
        n_images=len(data),
        images_per_class=counts,
        n_skipped=len(data.skipped),
    )
    return Curation(report, data, image_dir)


# --------------------------------------------------------------------------------------------
# 02: training sweep
# --------------------------------------------------------------------------------------------


def model_config(run: Run, data: SolarData) -> ModelConfig:
    p = run.profile
    size = data.images.shape[-1]
    if run.data_source == "slic-release":  # the published network on the published data
        return ModelConfig(arch="slic", input_size=size)
    return ModelConfig(arch=p.arch, input_size=size, width=p.width, hidden=p.hidden, n_classes=len(data.class_names))


def train_config(run: Run, data: SolarData):
    from ..train import TrainConfig

    p = run.profile
    split_kind = "fixed" if data.fixed_val is not None else p.split
    return TrainConfig(epochs=p.epochs, batch_size=p.batch_size, seed=p.seed, split=split_kind, augment=p.augment)


def train_sweep(run: Run, progress: bool = True):
    """Notebook 02: the learning-rate sweep; the selected model is copied to ``best.pt``."""
    from ..train import sweep

    data = load_dataset(run.dataset_path)
    result = sweep(data, model_config(run, data), train_config(run, data), run.profile.learning_rates, run.models / "sweep", progress=progress)
    shutil.copyfile(result.best_path, run.best_model)
    history = result.history()
    run.table(history, "lr_sweep", "Validation accuracy per epoch for each learning rate (section 4.1)")
    summary.update(
        run.name,
        best_learning_rate=result.best_lr,
        best_epoch=result.best_epoch,
        sweep_best_validation_accuracy=result.best_val_accuracy,
        learning_rates=list(run.profile.learning_rates),
        epochs=run.profile.epochs,
        model=read_checkpoint(run.best_model).model_config.__dict__,
    )
    return result


# --------------------------------------------------------------------------------------------
# 03: validation metrics and timing
# --------------------------------------------------------------------------------------------


def validation(run: Run, model_path: str | os.PathLike | None = None, progress: bool = True):
    """Notebook 03: confusion matrix, precision, recall of the selected model (Table 1)."""
    import pandas as pd

    from ..evaluate import evaluate
    from ..plotting import confusion_table_markdown, metrics_table

    model_path = Path(model_path or run.best_model)
    ev = evaluate(model_path, run.dataset_path, progress=progress)
    r = ev.report
    cm = pd.DataFrame(r.confusion, columns=list(r.class_names))
    cm.insert(0, "true \\ predicted", list(r.class_names))
    run.table(cm, "table1_confusion_matrix", "Table 1: confusion matrix on the validation set (rows: true class)")
    (run.figures / "table1_confusion_matrix.md").write_text(
        f"Table 1: confusion matrix ({run.label}, profile {run.name})\n\n{confusion_table_markdown(r.confusion, r.class_names)}\n"
    )
    run.table(metrics_table(r.precision, r.recall, r.class_names), "precision_recall", "Precision and recall per class (Eqs. 13-14)")
    summary.update(
        run.name,
        validation_accuracy=r.accuracy,
        n_validation=r.n,
        n_misclassified=r.n_errors,
        confusion_matrix=r.confusion,
        class_names=list(r.class_names),
        precision=dict(zip(r.class_names, r.precision)),
        recall=dict(zip(r.class_names, r.recall)),
    )
    return ev


def published_checkpoint(run: Run) -> Path | None:
    """The published ``sol_class_4.pth`` when the run uses the Slic release, else None."""
    if run.data_source != "slic-release":
        return None
    path = data_root() / "slic-release" / "sol_class_4.pth"
    return path if path.exists() else None


def published_validation(run: Run, progress: bool = True):
    """Table 1 of the published checkpoint on the published validation set (Slic release only).

    Written as ``table1_published_*`` and ``summary.json`` -> ``published``; returns None when
    the run does not use the release.
    """
    from ..evaluate import evaluate
    from ..plotting import confusion_table_markdown

    path = published_checkpoint(run)
    if path is None:
        return None
    ev = evaluate(path, run.dataset_path, progress=progress)
    r = ev.report
    (run.figures / "table1_published_confusion_matrix.md").write_text(
        f"Table 1 of the published sol_class_4.pth on the released validation set\n\n{confusion_table_markdown(r.confusion, r.class_names)}\n"
    )
    summary.update(run.name, published={**r.to_dict(), "checkpoint": str(path)})
    return ev


def inference_timing(run: Run, ev, model_path: str | os.PathLike | None = None):
    """Seconds to classify the validation set per device and precision, beside the paper's."""
    import pandas as pd
    import torch

    from ..inference import time_inference

    model = load_checkpoint(model_path or run.best_model)
    images = ev.data.images[ev.indices]
    rows = []
    settings = [("cpu", "float32")]
    if torch.cuda.is_available():
        settings += [("cuda", "float32"), ("cuda", "bfloat16")]
    for device, precision in settings:
        t = time_inference(model, images, device=device, precision=precision, repeats=run.profile.timing_repeats)
        rows.append({**t, "source": "this run", "seconds_per_1318": t["seconds_per_image"] * PAPER_N_VALIDATION})
    rows.append({"device": "NVIDIA Titan Xp (paper)", "precision": "float32", "n_images": PAPER_N_VALIDATION, "seconds": PAPER_GPU_SECONDS,
                 "seconds_per_image": PAPER_GPU_SECONDS / PAPER_N_VALIDATION, "source": "paper", "seconds_per_1318": PAPER_GPU_SECONDS})
    rows.append({"device": "Intel Core i7-8700 (paper)", "precision": "float32", "n_images": PAPER_N_VALIDATION, "seconds": PAPER_CPU_SECONDS,
                 "seconds_per_image": PAPER_CPU_SECONDS / PAPER_N_VALIDATION, "source": "paper", "seconds_per_1318": PAPER_CPU_SECONDS})
    df = pd.DataFrame(rows)
    df["model"] = f"{model.config.arch} {model.config.input_size}px width {model.config.width:g}"
    df.loc[df["source"] == "paper", "model"] = "slic 256px width 1"
    run.table(df, "inference_time", "Time to classify the validation set")
    summary.update(
        run.name,
        inference_seconds=[{k: r[k] for k in ("device", "precision", "n_images", "seconds", "seconds_per_image", "model")} for r in df.to_dict("records") if r["source"] == "this run"],
    )
    return df


def split_comparison(run: Run, progress: bool = True, last_epochs: int = 3) -> dict:
    """How much the paper's every-10th-file split inflates validation accuracy.

    Both splits are trained the same way, from the same initialisation, with the selected
    learning rate for the selected number of epochs; each reports the mean validation
    accuracy of its last ``last_epochs`` epochs (one epoch's accuracy is noisy at a constant
    learning rate). The sweep's best accuracy is not used here: it is the maximum over every
    epoch of every rate, and comparing it with one run of the other split would not be fair.
    """
    from dataclasses import replace

    from ..train import train

    data = load_dataset(run.dataset_path)
    if data.fixed_val is not None or len(np.unique(data.groups)) == len(data):
        result = {"note": "this data carries no observation sequences (each image its own group); both splits are the same"}
        summary.update(run.name, split_comparison=result)
        return result
    best = read_checkpoint(run.best_model)
    lr, epochs = best.metrics.get("selected_lr", best.train_config["lr"]), max(int(best.metrics["best_epoch"]), last_epochs)
    result: dict[str, Any] = {"learning_rate": lr, "epochs": epochs, "averaged_over_last_epochs": last_epochs}
    for kind in ("grouped", "every-nth"):
        cfg = replace(train_config(run, data), lr=lr, epochs=epochs, split=kind)
        r = train(data, best.model_config, cfg, run.models / f"split-{kind}", progress=progress)
        acc = [h["val_accuracy"] for h in r.history[-last_epochs:]]
        tr, va = split(data, kind, cfg.val_fraction, cfg.seed)
        result[kind] = {
            "val_accuracy_mean": float(np.mean(acc)),
            "val_accuracy_last_epochs": acc,
            "validation_images": len(va),
            "sequences_on_both_sides": len(set(data.groups[tr]) & set(data.groups[va])),
        }
    result["inflation"] = result["every-nth"]["val_accuracy_mean"] - result["grouped"]["val_accuracy_mean"]
    summary.update(run.name, split_comparison=result)
    return result


# --------------------------------------------------------------------------------------------
# 04: resolution degradation
# --------------------------------------------------------------------------------------------


def _sequence_files(run: Run, sim_name: str, fido_name: str, n_frames: int, progress: bool, size: int | None = None) -> list[Path]:
    """Files of one of the paper's observations: simulated, or from Fido's cache."""
    if run.aia_source == "fido":
        from .. import fido

        files = fido.local_files(fido_name)
        if not files:
            files = fido.fetch(fido_name, progress=progress)
        return sorted(files)
    from ..synthetic import generate_sequence

    out = run.data_dir / "aia" / sim_name
    size = size or run.profile.image_size
    params = {"seed": run.profile.seed, "size": size, "n_frames": n_frames}
    marker = out / ".complete.json"
    if not _complete(marker, params):
        if out.exists():
            shutil.rmtree(out)
        generate_sequence(sim_name, out, seed=run.profile.seed, size=size, n_frames=n_frames, progress=progress)
        marker.write_text(json.dumps(params))
    return sorted(p for p in out.glob("*.fits"))


def _maps(run: Run, files: list[Path], fido_name: str) -> list:
    import sunpy.map

    if run.aia_source == "fido":
        from .. import fido

        return fido.load(fido_name, files=files)
    return [sunpy.map.Map(f) for f in files]


def _probs(model: SlicNet, arrays: list[np.ndarray]) -> np.ndarray:
    from ..inference import predict_proba

    return predict_proba(model, np.stack([preprocess_array(np.asarray(a, float), model.preprocessing) for a in arrays]))


def resolution_test(run: Run, progress: bool = True) -> dict:
    """Notebook 04: Figure 5's triplet and the accuracy-vs-degradation curve on the validation set."""
    import astropy.units as u

    from ..degrade import degradation_curve, degrade_map, equivalent_factor

    model = load_checkpoint(run.best_model)
    source = run.aia_source
    # one frame each, at SOT's native sampling (512 px over the 82" field) whatever the profile
    aia_files = _sequence_files(run, *RESOLUTION_PAIR["aia"], n_frames=1, progress=progress, size=512)
    aia = _maps(run, aia_files[:1], RESOLUTION_PAIR["aia"][1])[0]
    sot_files = _sequence_files(run, *RESOLUTION_PAIR["sot"], n_frames=1, progress=progress, size=512)
    sot = _maps(run, sot_files[:1], RESOLUTION_PAIR["sot"][1])[0]
    sot_low = degrade_map(sot)
    arrays = [sot.data, sot_low.data, aia.data]
    probs = _probs(model, arrays)
    names = model.class_names
    triplet = {
        label: {"predicted": names[int(p.argmax())], "probabilities": dict(zip(names, p)), "scale_arcsec": float(m.scale[0].to_value(u.arcsec / u.pix))}
        for label, p, m in zip(("sot_full", "sot_degraded", "aia_1600"), probs, (sot, sot_low, aia))
    }

    data = load_dataset(run.dataset_path)
    _, val = split(data, **_split_args(run.best_model))
    curve = None
    if data.fixed_val is None and data.paths[0].lower().endswith((".fits", ".fts", ".fit", ".gz")):
        raw, scales = [], []
        for pth in data.paths[val]:
            from ..preprocess import load_map

            m = load_map(pth)
            raw.append(image_array(m))
            scales.append(float(m.scale[0].to_value(u.arcsec / u.pix)))
        curve = degradation_curve(model, raw, data.labels[val], run.profile.degradation_factors, model.preprocessing,
                                  progress=progress, pixel_scale=float(np.median(scales)))
        run.table(curve, "resolution_degradation", "Validation accuracy against resolution degradation (PSF + resampling)")
    result = {
        "source": source,
        "synthetic": source == "simulator",
        "sot_to_aia_factor": equivalent_factor(),
        "triplet": triplet,
        "curve": None if curve is None else curve[["factor", "accuracy"]].to_dict("records"),
    }
    summary.update(run.name, resolution_test=result)
    return {**result, "arrays": arrays, "probs": probs, "curve_df": curve, "class_names": names}


def _split_args(model_path: Path) -> dict:
    cfg = read_checkpoint(model_path).train_config
    return {"kind": cfg.get("split", "grouped"), "val_fraction": cfg.get("val_fraction", 0.1), "seed": cfg.get("seed", 0)}


# --------------------------------------------------------------------------------------------
# 05: adversarial AIA tests
# --------------------------------------------------------------------------------------------


@dataclass
class SequenceResult:
    name: str
    figure: str
    expected: str
    times: list
    probs: np.ndarray
    images: list[np.ndarray] = field(repr=False, default_factory=list)

    @property
    def predicted(self) -> list[str]:
        return [CLASSES[i] for i in self.probs.argmax(1)]

    @property
    def fraction_expected(self) -> float:
        return float(np.mean([p == self.expected for p in self.predicted])) if len(self.probs) else float("nan")

    def to_dict(self) -> dict:
        from collections import Counter

        return {
            "figure": self.figure,
            "expected": self.expected,
            "n_frames": len(self.probs),
            "fraction_classified_as_expected": self.fraction_expected,
            "predicted_counts": dict(Counter(self.predicted)),
            "mean_probabilities": dict(zip(CLASSES, self.probs.mean(0))) if len(self.probs) else {},
        }


def adversarial(run: Run, names: list[str] | None = None, progress: bool = True) -> dict[str, SequenceResult]:
    """Notebook 05: classify the paper's AIA 1600/1700 sunspot and 304 prominence sequences."""
    from ..synthetic import PAPER_SEQUENCES

    model = load_checkpoint(run.best_model)
    results: dict[str, SequenceResult] = {}
    for sim_name in names or list(ADVERSARIAL):
        fido_name, figure = ADVERSARIAL[sim_name]
        files = _sequence_files(run, sim_name, fido_name, run.profile.aia_frames, progress)
        maps = _maps(run, files, fido_name)
        probs = _probs(model, [m.data for m in maps])
        results[sim_name] = SequenceResult(
            sim_name, figure, PAPER_SEQUENCES[sim_name].expected_class, [m.date.datetime for m in maps], probs, [m.data for m in maps]
        )
    summary.update(
        run.name,
        adversarial={
            "source": run.aia_source,
            "synthetic": run.aia_source != "fido",
            "sequences": {k: v.to_dict() for k, v in results.items()},
        },
    )
    return results
