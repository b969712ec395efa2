"""Notebook 03: Table 1, precision and recall, Figures 3 and 7, inference time, and the split's leak."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import paper, quantize, results, summary, tables
from ..dataset import SolarData, load_dataset
from ..errors import SlicError
from ..splits import split
from ..evaluate import Evaluation, evaluate
from ..inference import cpu_threads, resolve_precision, time_inference
from ..model import SlicNet, load_checkpoint, read_checkpoint
from ..profiles import get_profile
from ..plots.validation import plot_closest_calls, plot_confusion, plot_examples, plot_inference_times, plot_misclassified, plot_split_comparison
from ..sweep import TrainJob, train_each
from ..train import resumable
from .curation import release_weights
from .run import Run
from .training import train_config

SPLIT_KINDS = ("grouped", "every-nth")
SPLIT_SEEDS = 3
"""Seeds of the split comparison in every profile: the fewest that give a spread worth quoting."""

CLOSEST_CALLS = 8
"""Correct validation images kept for Figure 7 when none is misclassified: those the network was
least sure of, one per observing run."""


def _store_evaluation(run: Run, name: str, ev: Evaluation) -> dict:
    """Write an evaluation's report, probabilities and the images Figures 3 and 7 show."""
    r = ev.report
    images = ev.data.images[ev.indices]
    correct = np.flatnonzero(ev.preds == ev.labels)
    pick = [int(correct[ev.labels[correct] == c][0]) for c in range(len(r.class_names)) if (ev.labels[correct] == c).any()]
    wrong = ev.misclassified
    by_doubt = correct[np.argsort(ev.probs[correct, ev.labels[correct]], kind="stable")]
    _, first = np.unique(np.asarray(ev.data.groups)[ev.indices[by_doubt]], return_index=True)  # frames of one run look alike
    close = by_doubt[np.sort(first)[:CLOSEST_CALLS]]
    results.write_arrays(
        run.name, name, probs=ev.probs, labels=ev.labels, indices=ev.indices,
        example_images=images[pick], example_positions=np.asarray(pick, dtype=np.int64),
        wrong_images=images[wrong], wrong_positions=wrong,
        close_images=images[close], close_positions=close.astype(np.int64),
    )
    report = {**r.to_dict(), "class_names": list(r.class_names), "n_misclassified": r.n_errors}
    results.write_json(run.name, name, report)
    return report


def validation(run: Run, model_path: str | Path | None = None, progress: bool = True) -> Evaluation:
    """Confusion matrix, precision and recall of the selected model on its validation split (Table 1)."""
    dataset = run.require_dataset()  # first: a dataset of another source is the question, not the model
    ev = evaluate(Path(model_path or run.require_model()), dataset, progress=progress)
    _store_evaluation(run, "validation", ev)
    r = ev.report
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
    return release_weights() if run.data_source == "slic-release" else None


PUBLISHED_OUTPUTS = ("table1_published_confusion_matrix",)
"""The figures and tables of the published checkpoint's Table 1 (:func:`figures`)."""


def published_validation(run: Run, progress: bool = True) -> Evaluation | None:
    """Table 1 of the published checkpoint on the published validation set (Slic release only)."""
    path = published_checkpoint(run)
    if path is None:
        run.discard(results=("validation_published",), figures=PUBLISHED_OUTPUTS, summary_keys=("published",))  # a slic-release run's
        return None
    ev = evaluate(path, run.require_dataset(), progress=progress)
    _store_evaluation(run, "validation_published", ev)
    summary.update(run.name, published={**ev.report.to_dict(), "checkpoint": str(path)})
    return ev


FULL_SIZE_IMAGES_PER_REPEAT = 4
"""Images the full-size network is timed on per timing repeat of the profile (its time per image is what counts)."""


def _model_label(model: SlicNet, note: str = "") -> str:
    c = model.config
    return f"{c.arch} {c.input_size}px width {c.width:g}" + (f" ({note})" if note else "")


def full_size_network(run: Run) -> tuple[SlicNet, str]:
    """The paper's full-size network (256x256, width 1) to time: the published weights when the run has them, else He-initialised.

    Timing does not depend on the weights, so a run that trains a smaller network (the ``cpu``
    and ``smoke`` profiles) still reports what the paper's layout costs on this machine.
    """
    path = published_checkpoint(run)
    if path is not None and Path(path).exists():
        model = load_checkpoint(path)
        return model, _model_label(model, "published weights")
    p = get_profile("paper")
    torch.manual_seed(0)
    model = SlicNet(arch=p.arch, input_size=p.input_size, width=p.width, hidden=p.hidden)
    return model, _model_label(model, "paper layout, untrained")


def inference_timing(run: Run, model_path: str | Path | None = None) -> pd.DataFrame:
    """Seconds to classify the validation set per network, device and precision, beside the paper's rows.

    Timed: this run's model on its validation images, and the paper's full-size network
    (:func:`full_size_network`) on ``FULL_SIZE_IMAGES_PER_REPEAT x timing_repeats`` random
    256x256 images (scaled per image), each in float32 and in the precision ``auto`` picks
    (bfloat16 on a CPU with AVX-512 BF16 or a recent GPU), on the CPU and on a GPU when
    present; all through :func:`slic_lib.inference.time_inference` (channels-last, batch 16
    for the full-size network: larger batches of 256x256 images fall out of a CPU's cache).
    The full-size network is also timed in int8 on the CPU where PyTorch has the engine
    (``slic classify --precision int8``, :mod:`slic_lib.quantize`; its scales from the timed
    images, as timing does not depend on them). The small networks of the ``cpu`` and ``smoke``
    profiles are not: their quantization steps cost more than their convolutions.
    """
    model = load_checkpoint(model_path or run.require_model())
    stored = results.read_arrays(run.name, "validation")
    images = load_dataset(run.require_dataset()).images[stored["indices"]]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    full, full_label = full_size_network(run)
    n_full = FULL_SIZE_IMAGES_PER_REPEAT * max(1, run.profile.timing_repeats)
    full_images = np.random.default_rng(0).normal(size=(n_full, full.config.input_size, full.config.input_size)).astype(np.float32)
    jobs = [(model, images, _model_label(model), 64)]
    if model.config != full.config:
        jobs.append((full, full_images, full_label, 16))
    rows = []
    for net, imgs, label, batch in jobs:
        for device in devices:
            for precision in dict.fromkeys(["float32", resolve_precision("auto", device)]):
                t = time_inference(net, imgs, device=device, precision=precision, batch_size=batch, repeats=run.profile.timing_repeats)
                rows.append({**t, "source": "this run", "model": label})
        if net.config == full.config and quantize.supported():
            q8 = quantize.quantize(copy.deepcopy(net).cpu(), quantize.calibrate(net, imgs[:16]))
            t = time_inference(q8, imgs, device="cpu", precision="float32", batch_size=batch, repeats=run.profile.timing_repeats)
            rows.append({**t, "precision": "int8", "source": "this run", "model": label})
    for p in paper.TIMINGS:
        rows.append({**p, "precision": "float32", "seconds_per_image": p["seconds"] / p["n_images"], "batch_size": None,
                     "source": "paper", "model": "slic 256px width 1"})
    df = pd.DataFrame(rows)
    df["seconds_per_1318"] = df["seconds_per_image"] * paper.N_VALIDATION
    results.write_table(run.name, "inference_time", df)
    keys = ("device", "precision", "n_images", "seconds", "seconds_per_image", "model")
    summary.update(run.name, inference_seconds=[{k: r[k] for k in keys} for r in rows if r["source"] == "this run"])
    return df


def split_seeds(run: Run, n_seeds: int = SPLIT_SEEDS) -> list[int]:
    """The seeds of the split comparison: the profile's seed and the next ``n_seeds - 1``."""
    return [run.profile.seed + k for k in range(n_seeds)]


def _split_row(data: SolarData, kind: str, seed: int, val_fraction: float, history: list[dict], last_epochs: int) -> dict:
    """One training of the split comparison: its validation accuracy and how its sides share runs."""
    acc = [h["val_accuracy"] for h in history[-last_epochs:]]
    tr, va = split(data, kind, val_fraction, seed)
    return {
        "split": kind,
        "seed": seed,
        "val_accuracy": float(np.mean(acc)),
        "validation_images": len(va),
        "sequences_on_both_sides": len(set(data.groups[tr]) & set(data.groups[va])),
        "validation_with_run_mate_in_training": float(np.isin(data.groups[va], data.groups[tr]).mean()),
    }


def split_comparison(run: Run, progress: bool = True, last_epochs: int = 3, n_seeds: int = SPLIT_SEEDS) -> dict:
    """How much the Slic release's every-10th-file split inflates validation accuracy, over several seeds.

    For each seed (:func:`split_seeds`) the grouped and the every-nth split are trained the
    same way, from the same initialisation, with the selected learning rate for the selected
    number of epochs, as the paper trained: without flips or domain randomisation, which
    would hide how much a network memorises of the frames it saw (the leak this measures);
    each reports the mean validation accuracy of its last ``last_epochs`` epochs (one epoch's
    accuracy is noisy at a constant learning rate). The trainings run ``workers`` at a
    time (:func:`slic_lib.sweep.train_each`). The seed sets the
    initialisation, the shuffling and which runs the grouped split holds out (the every-nth
    split's validation files are the same for every seed). The sweep's best accuracy is not
    used here: it is the maximum over every epoch of every rate, and comparing it with one run
    of the other split would not be fair.

    Parameters
    ----------
    run : Run
        The run; its selected model gives the learning rate, epochs and network.
    progress : bool
        Show progress bars.
    last_epochs : int
        Epochs averaged per training.
    n_seeds : int
        Seeds trained per split (at least 2, for a spread).

    Returns
    -------
    dict
        Per split (``"grouped"``, ``"every-nth"``) the mean, sample standard deviation and
        per-seed values of the validation accuracy and how many sequences sit on both sides;
        ``inflation`` (every-nth minus grouped, mean over seeds), ``inflation_std`` and
        ``inflation_per_seed``; or a ``note`` when the data carry no observation sequences.
        Also written as result files (``split_comparison`` JSON and per-seed CSV) and to
        ``summary.json``.
    """
    if n_seeds < 2:
        raise SlicError(f"the split comparison needs at least 2 seeds for a spread, not {n_seeds}.")
    data = load_dataset(run.require_dataset())
    if data.fixed_val is not None or len(np.unique(data.groups)) == len(data):
        result: dict[str, Any] = {"note": "this data carries no observation sequences (each image its own group); both splits are the same"}
    else:
        best = read_checkpoint(run.require_model())
        lr, epochs = best.metrics.get("selected_lr", best.train_config["lr"]), max(int(best.metrics["best_epoch"]), last_epochs)
        seeds = split_seeds(run, n_seeds)
        paper_training = replace(train_config(run, data), lr=lr, epochs=epochs, augment=False, randomise="off",
                                 schedule="constant")
        jobs = []
        for seed in seeds:
            for kind in SPLIT_KINDS:
                out = run.models / f"split-{kind}-seed{seed}"
                cfg = replace(paper_training, split=kind, seed=seed)
                # resume an interrupted training, never one trained on an older dataset file or with other settings
                resume = run.newer_than_dataset(out / "last.pt") and resumable(out, best.model_config, cfg, data.preprocessing)
                jobs.append(TrainJob(best.model_config, cfg, out, resume))
        with cpu_threads(run.profile.threads):
            trained = train_each(data, jobs, run.profile.workers, progress, desc="split comparison")
        table = pd.DataFrame([_split_row(data, j.config.split, j.config.seed, j.config.val_fraction, r.history, last_epochs)
                              for j, r in zip(jobs, trained)])
        results.write_table(run.name, "split_comparison", table)
        result = {"learning_rate": lr, "epochs": epochs, "averaged_over_last_epochs": last_epochs, "seeds": seeds}
        for kind, part in table.groupby("split"):
            acc = part["val_accuracy"]
            result[kind] = {
                "val_accuracy_mean": float(acc.mean()),
                "val_accuracy_std": float(acc.std(ddof=1)),
                "val_accuracy_per_seed": [float(a) for a in acc],
                "validation_images": int(part["validation_images"].iloc[0]),
                "sequences_on_both_sides": int(part["sequences_on_both_sides"].max()),
                "validation_with_run_mate_in_training": float(part["validation_with_run_mate_in_training"].mean()),
            }
        inflation = np.subtract(result["every-nth"]["val_accuracy_per_seed"], result["grouped"]["val_accuracy_per_seed"])
        result.update(inflation=float(inflation.mean()), inflation_std=float(inflation.std(ddof=1)),
                      inflation_per_seed=[float(d) for d in inflation])
    results.write_json(run.name, "split_comparison", result)
    summary.update(run.name, split_comparison=result)
    return result


def split_sentence(result: dict) -> str:
    """The split comparison in words, every number taken from ``result`` (:func:`split_comparison`)."""
    if "inflation" not in result:
        return f"No split comparison: {result.get('note', 'nothing was computed')}."
    g, e = result["grouped"], result["every-nth"]
    n, infl, spread = len(result["seeds"]), result["inflation"], result["inflation_std"]
    per_seed = np.asarray(result["inflation_per_seed"])
    higher, lower = int((per_seed > 0).sum()), int((per_seed < 0).sum())
    # a count of seeds, not a test: with 3 seeds even 3 of 3 has a sign-test p of 0.125 (one-sided)
    every = "both" if n == 2 else f"all {n}"
    if higher == n:
        verdict = (f"the every-10th split scores higher in {every} seeds, as near-identical frames of one run leaking into "
                   "validation would make it")
    elif lower == n:
        verdict = f"the every-10th split scores lower in {every} seeds, the opposite of a leak"
    else:
        verdict = f"no consistent difference (every-10th higher in {higher} of {n} seeds, lower in {lower})"
    return (
        f"Over {n} seeds, the every-10th-file split validates at {e['val_accuracy_mean']:.3f} ± {e['val_accuracy_std']:.3f} "
        f"and the grouped split at {g['val_accuracy_mean']:.3f} ± {g['val_accuracy_std']:.3f} (mean ± std over seeds): "
        f"inflation {infl:+.3f} ± {spread:.3f} (per seed {', '.join(f'{d:+.3f}' for d in per_seed)}); {verdict}. "
        f"{e['validation_with_run_mate_in_training']:.0%} of the every-10th validation frames have a frame of their own run "
        f"in training, against {g['validation_with_run_mate_in_training']:.0%} for the grouped split; the inflation cannot "
        f"exceed the grouped split's error rate ({1 - g['val_accuracy_mean']:.3f})."
    )


def split_figure(run: Run):
    """Validation accuracy per seed for the two splits, from the stored per-seed table."""
    result = results.read_json(run.name, "split_comparison")
    table = results.read_table(run.name, "split_comparison")
    return plot_split_comparison(table, result["inflation"], result["inflation_std"], synthetic=run.synthetic,
                                 last_epochs=result.get("averaged_over_last_epochs"))


def _evaluation_figures(run: Run, name: str, prefix: str, title: str, synthetic: bool) -> list:
    report = results.read_json(run.name, name)
    arr = results.read_arrays(run.name, name)
    names = report["class_names"]
    cm = np.asarray(report["confusion_matrix"])
    run.table(tables.confusion_frame(cm, names), f"{prefix}_confusion_matrix", f"{title}: confusion matrix (rows: true class)")
    figs = [plot_confusion(cm, names, synthetic=synthetic, title=f"{title}: confusion matrix, {report['n']} validation images")]
    run.save(figs[0], f"{prefix}_confusion_matrix")
    if name != "validation":
        return figs
    precision = [report["precision"][c] for c in names]
    recall = [report["recall"][c] for c in names]
    run.table(tables.metrics_frame(precision, recall, names), "precision_recall", "Precision and recall per class (Eqs. 13-14)")
    probs, labels = arr["probs"], arr["labels"]
    ex, wrong = arr["example_positions"], arr["wrong_positions"]
    figs.append(plot_examples(arr["example_images"], probs[ex], labels[ex], names, n=len(ex), synthetic=synthetic,
                              title="Figure 3: validation images the network has never seen"))
    run.save(figs[-1], "fig3_examples")
    if len(wrong) == 0 and "close_images" in arr:
        close = arr["close_positions"]
        figs.append(plot_closest_calls(arr["close_images"], probs[close], labels[close], names, synthetic=synthetic, indices=close,
                                       title=f"Figure 7: none of {report['n']} misclassified; the closest calls, one per observing run"))
    else:
        figs.append(plot_misclassified(arr["wrong_images"], probs[wrong], labels[wrong], probs[wrong].argmax(1), names,
                                       synthetic=synthetic, indices=wrong, title=f"Figure 7: {len(wrong)} misclassified of {report['n']}"))
    run.save(figs[-1], "fig7_misclassified")
    return figs


def figures(run: Run) -> list:
    """Draw notebook 03's figures and tables from its result files."""
    figs = _evaluation_figures(run, "validation", "table1", "Table 1", run.synthetic)
    if results.exists(run.name, "validation_published"):
        figs += _evaluation_figures(run, "validation_published", "table1_published", "Table 1 of the published sol_class_4.pth", False)
    if results.exists(run.name, "split_comparison") and "inflation" in results.read_json(run.name, "split_comparison"):
        figs.append(split_figure(run))
        run.save(figs[-1], "fig_split_comparison")
        run.table(results.read_table(run.name, "split_comparison"), "split_comparison",
                  "Validation accuracy per seed of the every-10th-file and the grouped split")
    if results.exists(run.name, "inference_time", ".csv"):
        timing = results.read_table(run.name, "inference_time")
        run.table(timing, "inference_time", "Time to classify the validation set")
        figs.append(plot_inference_times(timing, synthetic=run.synthetic))
        run.save(figs[-1], "fig_inference_time")
    return figs
