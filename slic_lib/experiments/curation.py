"""Notebook 01: the H-alpha images, the dataset file, how real the simulator looks, and how the published network sees it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import realism, results, summary, synthetic, tables
from ..classes import CLASSES
from ..dataset import BuildReport, SolarData, build_dataset, convert_slic_npz, find_class_files, load_dataset
from ..fetch import fetch
from ..inference import cpu_threads, predict_proba
from ..metrics import report
from ..model import load_checkpoint
from ..paths import data_root
from ..plots import realism as realism_plots
from ..plots.validation import plot_class_images, plot_confusion
from ..errors import SlicError
from ..preprocess import PreprocessConfig, preprocess
from ..realdata import bbso
from .run import Run, complete, mark_complete


PUBLISHED_PER_CLASS = 20
"""Simulated images per class shown to the published network: one frame each of up to this many runs."""


@dataclass
class Curation:
    report: BuildReport | None
    data: SolarData
    image_dir: Path | None


def simulate_training_data(run: Run, progress: bool = True) -> Path:
    """Simulated SOT class folders for the run (kept when already complete with these settings)."""
    p = run.profile
    out = run.data_dir / "sim"
    params = {"per_class": p.per_class, "seed": p.seed, "size": p.image_size, "frames_per_sequence": p.frames_per_sequence}
    marker = out / ".complete.json"
    if not complete(marker, params):
        if out.exists():
            shutil.rmtree(out)
        synthetic.generate(out, p.per_class, seed=p.seed, size=p.image_size, frames_per_sequence=p.frames_per_sequence, progress=progress)
        mark_complete(marker, params)
    return out


def curate(run: Run, progress: bool = True) -> Curation:
    """Get the H-alpha images, build the dataset file, and store the class counts and examples."""
    p = run.profile
    report, image_dir = None, None
    if run.data_source == "slic-release":
        files = fetch("slic-release", progress=progress)
        convert_slic_npz(files["solar_train_data.npz"], run.dataset_path, val_npz=files["solar_test_data.npz"], source=run.data_source)
    else:
        image_dir = simulate_training_data(run, progress) if run.synthetic else Path(run.data_source)
        report = build_dataset(image_dir, run.dataset_path, PreprocessConfig(size=p.input_size, mode=p.preprocessing), progress=progress, source=run.data_source)
    data = load_dataset(run.dataset_path)
    if data.is_synthetic and not run.synthetic:  # every result of the run would be labelled with this folder, as observations
        raise SlicError(f"{int(data.synthetic.sum())} of the {len(data)} images in {run.data_source} are simulated (their "
                        "headers say slic_lib's simulator made them); a run on simulated data takes --data-source simulator, "
                        "which labels its results as simulated; give a folder of observations otherwise.")
    names = list(data.class_names)
    empty = [c for i, c in enumerate(names) if not (data.labels == i).any()]
    if empty:  # before any table or figure: the training and every per-class result need each class
        where = f" (no usable image in {', '.join(str(Path(run.data_source) / c) for c in empty)})" if image_dir is not None else ""
        raise SlicError(f"every class needs images, and {run.data_source} has none of {', '.join(empty)}{where}.")
    counts = pd.DataFrame(
        {
            "class": names,
            "images": [int((data.labels == i).sum()) for i in range(len(names))],
            "observation sequences": [len(set(data.groups[data.labels == i])) for i in range(len(names))],
        }
    )
    results.write_table(run.name, "dataset_counts", counts)
    first = [int(np.flatnonzero(data.labels == i)[0]) for i in range(len(names)) if (data.labels == i).any()]
    results.write_arrays(run.name, "dataset_examples", images=data.images[first], labels=data.labels[first])
    summary.update(
        run.name,
        profile=run.name,
        profile_settings=p.to_dict(),
        data_source=run.data_source,
        synthetic_data=data.is_synthetic,
        n_images=len(data),
        images_per_class=dict(zip(names, counts["images"])),
        n_skipped=len(data.skipped),
    )
    return Curation(report, data, image_dir)


def realism_check(run: Run) -> dict | None:
    """Simulated against real BBSO H-alpha (filaments, quiet Sun); None when it does not apply.

    It applies to simulated training data when the real BBSO images are installed; the
    statistics and the images the figure shows are stored as result files.
    """
    if not (run.synthetic and bbso.available()):
        _forget_realism(run)
        return None
    checks = realism.simulator_vs_bbso(n_per_class=4 if run.name == "smoke" else 16, seed=run.profile.seed)
    distances = {}
    for cls, check in checks.items():
        table = check["table"].reset_index()
        results.write_table(run.name, f"realism_{cls}", table)
        results.write_arrays(run.name, f"realism_{cls}", **check["panels"])
        distances[cls] = check["table"]["distance"].dropna().to_dict()
    results.write_json(run.name, "realism", {"classes": list(checks)})
    summary.update(run.name, realism=distances)
    return distances


def realism_table(run: Run) -> pd.DataFrame | None:
    """The realism check's statistics, simulated beside real, one column group per class (None without a check)."""
    if not results.exists(run.name, "realism"):
        return None
    classes = results.read_json(run.name, "realism")["classes"]
    return pd.concat({cls: results.read_table(run.name, f"realism_{cls}").set_index("metric") for cls in classes}, axis=1)


def realism_holds(distances: dict) -> bool:
    """Whether the simulated pixels are clearly closer to the real ones than featureless images are
    (at most half their intensity distance; a flat simulator scores as much as a flat image)."""
    return distances["intensity_wasserstein"] <= 0.5 * distances["featureless_wasserstein"]


def _forget_realism(run: Run) -> None:
    """Remove an earlier run's realism results, tables and figures (this run has none to draw)."""
    classes = results.read_json(run.name, "realism")["classes"] if results.exists(run.name, "realism") else []
    run.discard(results=("realism", *(f"realism_{c}" for c in classes)),
                figures=tuple(f"{kind}_realism_{c}" for c in classes for kind in ("table", "fig")), summary_keys=("realism",))


def release_weights() -> Path | None:
    """The published ``sol_class_4.pth`` where ``slic fetch slic-release`` keeps it, or None when absent."""
    path = data_root() / "slic-release" / "sol_class_4.pth"
    return path if path.is_file() else None


def _one_frame_per_run(sim_dir: Path, frames_per_run: int, per_class: int) -> list[tuple[Path, int]]:
    """The first frame of up to ``per_class`` runs per class, spread evenly over time."""
    chosen = []
    files = find_class_files(sim_dir)
    for label in sorted({lab for _, lab in files}):
        firsts = [f for f in files if f[1] == label][::frames_per_run]
        keep = np.unique(np.linspace(0, len(firsts) - 1, min(per_class, len(firsts))).round().astype(int))
        chosen += [firsts[i] for i in keep]
    return chosen


def published_on_simulated(run: Run, per_class: int = PUBLISHED_PER_CLASS, progress: bool = True) -> dict | None:
    """The published ``sol_class_4.pth`` on the simulated SOT images, class by class.

    The real network's view of the simulator: each chosen simulated FITS frame (one per
    observing run, so no two are near-copies) is read and preprocessed as the release's data
    were (the checkpoint's own ``slic-npz`` preprocessing) and classified through
    :mod:`slic_lib.inference`. Needs the release (``slic fetch slic-release``) and simulated
    training data; returns None when either is missing.

    Parameters
    ----------
    run : Run
        The run whose simulated images (``data/<profile>/sim``) are classified.
    per_class : int
        Runs per class (one frame each).
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    dict or None
        ``n``, ``accuracy``, ``confusion_matrix`` (rows: true class), ``class_names``,
        ``per_class`` (``{class: {"n", "correct", "accuracy", "most_predicted"}}``), ``chance``
        and ``checkpoint``; also written to result files and ``summary.json``
        (``published_on_simulated``).
    """
    weights = release_weights()
    sim_dir = run.data_dir / "sim"
    if weights is None or not (run.synthetic and sim_dir.is_dir()):
        run.discard(results=("published_on_simulated",), summary_keys=("published_on_simulated",),
                    figures=("table_published_on_simulated", "published_on_simulated_confusion", "fig_published_on_simulated"))
        return None
    model = load_checkpoint(weights)
    names = list(model.class_names)
    chosen = _one_frame_per_run(sim_dir, run.profile.frames_per_sequence, per_class)
    images = np.stack([preprocess(path, model.preprocessing) for path, _ in chosen])
    labels = np.array([names.index(CLASSES[label]) for _, label in chosen])
    with cpu_threads(run.profile.threads):
        probs = predict_proba(model, images, progress=progress)
    preds = probs.argmax(1)
    rep = report(labels, preds, names)
    cm = rep.confusion
    per_class_rows = [
        {"class": c, "n": int(cm[i].sum()), "correct": int(cm[i, i]), "accuracy": float(cm[i, i] / max(cm[i].sum(), 1)),
         "most_predicted": names[int(np.argmax(cm[i]))]}
        for i, c in enumerate(names) if cm[i].sum()
    ]
    results.write_arrays(run.name, "published_on_simulated", probs=probs, labels=labels)
    results.write_table(run.name, "published_on_simulated", pd.DataFrame(per_class_rows))
    result = {"n": rep.n, "accuracy": rep.accuracy, "chance": 1 / len(names), "confusion_matrix": cm.tolist(), "class_names": names,
              "per_class": {r["class"]: {k: v for k, v in r.items() if k != "class"} for r in per_class_rows},
              "checkpoint": str(weights), "synthetic_images": True}
    results.write_json(run.name, "published_on_simulated", result)
    summary.update(run.name, published_on_simulated=result)
    return result


def published_sentence(result: dict | None) -> str:
    """The published network on simulated images in words, every number from ``result``."""
    if result is None:
        return ("Skipped: the published sol_class_4.pth is not in data/slic-release (run 'slic fetch slic-release', "
                "which needs a network), or this run does not use simulated images.")
    per = result["per_class"]
    worst = min(per, key=lambda c: per[c]["accuracy"])
    classes = "; ".join(f"{c} {v['correct']}/{v['n']}" + (f" (mostly called {v['most_predicted']})" if v["most_predicted"] != c else "")
                        for c, v in per.items())
    return (f"The published network classifies {result['accuracy']:.0%} of {result['n']} simulated images correctly "
            f"(chance {result['chance']:.0%}); per class: {classes}. Hardest for it: {worst}.")


def published_figure(run: Run):
    """The published network's confusion on simulated images, and its tables, from the result files."""
    pub = results.read_json(run.name, "published_on_simulated")
    cm = np.asarray(pub["confusion_matrix"])
    title = "The published sol_class_4.pth on simulated SOT H-alpha images"
    run.table(results.read_table(run.name, "published_on_simulated"), "table_published_on_simulated", f"{title}, per class")
    run.table(tables.confusion_frame(cm, pub["class_names"]), "published_on_simulated_confusion", f"{title}: confusion matrix (rows: true class)")
    fig = plot_confusion(cm, pub["class_names"], synthetic=True, title=f"{title}: {pub['accuracy']:.0%} of {pub['n']} correct")
    run.save(fig, "fig_published_on_simulated")
    return fig


def figures(run: Run) -> list:
    """Draw notebook 01's figures and tables from its result files."""
    figs = []
    counts = results.read_table(run.name, "dataset_counts")
    run.table(counts, "table_dataset", "Images and observation sequences per class")
    sim_dir = run.data_dir / "sim"
    if run.synthetic and sim_dir.is_dir():
        fig = synthetic.plot_gallery(sim_dir, n_per_class=4, stride=run.profile.frames_per_sequence)
    else:
        ex = results.read_arrays(run.name, "dataset_examples")
        names = list(counts["class"])
        fig = plot_class_images(ex["images"], ex["labels"], names, synthetic=run.synthetic, title="One image per class" + ("" if run.synthetic else f" ({run.label})"))
    run.save(fig, "fig_data_examples")
    figs.append(fig)
    if results.exists(run.name, "published_on_simulated"):
        figs.append(published_figure(run))
    if results.exists(run.name, "realism"):
        for cls in results.read_json(run.name, "realism")["classes"]:
            table = results.read_table(run.name, f"realism_{cls}")
            run.table(table, f"table_realism_{cls}", f"Simulated vs real BBSO H-alpha {cls}, at 1\"/px and 2\"")
            what = f"{'Filaments' if cls == 'filaments' else 'Quiet Sun'}: simulated SOT H-alpha vs real BBSO H-alpha"
            fig = realism_plots.plot_side_by_side(results.read_arrays(run.name, f"realism_{cls}"), what, real_label="BBSO")
            run.save(fig, f"fig_realism_{cls}")
            figs.append(fig)
    return figs
