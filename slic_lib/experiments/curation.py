"""Notebook 01: the H-alpha images, the dataset file, and how real the simulator looks."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import realism, results, summary, synthetic
from ..dataset import BuildReport, SolarData, build_dataset, convert_slic_npz, load_dataset
from ..fetch import fetch
from ..plots import realism as realism_plots
from ..plots.validation import plot_examples
from ..preprocess import PreprocessConfig
from ..realdata import bbso
from .run import Run, complete


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
        marker.write_text(json.dumps(params))
    return out


def curate(run: Run, progress: bool = True) -> Curation:
    """Get the H-alpha images, build the dataset file, and store the class counts and examples."""
    p = run.profile
    report, image_dir = None, None
    if run.data_source == "slic-release":
        files = fetch("slic-release", progress=progress)
        convert_slic_npz(files["solar_train_data.npz"], run.dataset_path, val_npz=files["solar_test_data.npz"])
    else:
        image_dir = simulate_training_data(run, progress) if run.synthetic else Path(run.data_source)
        report = build_dataset(image_dir, run.dataset_path, PreprocessConfig(size=p.input_size), progress=progress, source=run.data_source)
    data = load_dataset(run.dataset_path)
    names = list(data.class_names)
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
        fig = plot_examples(ex["images"], np.eye(len(names))[ex["labels"]], ex["labels"], names, n=len(ex["labels"]),
                            synthetic=run.synthetic, title="One image per class")
    run.save(fig, "fig_data_examples")
    figs.append(fig)
    if results.exists(run.name, "realism"):
        for cls in results.read_json(run.name, "realism")["classes"]:
            table = results.read_table(run.name, f"realism_{cls}")
            run.table(table, f"table_realism_{cls}", f"Simulated vs real BBSO H-alpha {cls}, at 1\"/px and 2\"")
            what = f"{'Filaments' if cls == 'filaments' else 'Quiet Sun'}: simulated SOT H-alpha vs real BBSO H-alpha"
            fig = realism_plots.plot_side_by_side(results.read_arrays(run.name, f"realism_{cls}"), what, real_label="BBSO")
            run.save(fig, f"fig_realism_{cls}")
            figs.append(fig)
    return figs
