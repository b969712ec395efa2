"""Section 4.1 and Table 1: the confusion matrix, example and misclassified images, inference time,
and the Slic release's every-10th-file split against a grouped split.

Every function draws from arrays and tables that the validation step stores (counts,
probabilities, labels, the few images shown, the timing table); none needs the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import paper
from .style import (
    PAPER_COLOUR, THIS_RUN_COLOUR, WRONG_COLOUR, image_grid, message_figure, off_disc_stretch, show_image, stretch, suptitle,
    true_pred_title, wrap,
)

TIMING_COLUMNS = ("device", "seconds", "n_images")

OFF_DISC_CLASSES = ("prominences",)
"""Classes whose examples are shown with the disc saturated (:func:`~.style.off_disc_stretch`)."""


def _display_limits(images: Sequence[np.ndarray], labels: Sequence[int], class_names: Sequence[str]) -> list:
    """Each image's grey range: the disc saturated for :data:`OFF_DISC_CLASSES`, else None (its own)."""
    return [off_disc_stretch(im) if class_names[t] in OFF_DISC_CLASSES else None for im, t in zip(images, labels)]


def _disc_notes(titles: Sequence[str], images: Sequence[np.ndarray], limits: Sequence) -> list[str]:
    """The titles, with "(disc saturated)" under those whose range does saturate a disc."""
    return [t + "\n(disc saturated)" if lim is not None and tuple(lim) != tuple(stretch(im)) else t
            for t, im, lim in zip(titles, images, limits)]


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], synthetic: bool = False, title: str | None = "Confusion matrix") -> Figure:
    """Table 1 as an annotated matrix: counts, true classes in rows, predictions in columns.

    Cells are shaded by the fraction of the true class (row) so a small class's errors are as
    visible as a large one's; non-zero off-diagonal counts (errors) are printed in red; the
    row totals are in the row labels.

    Parameters
    ----------
    cm : array of int, shape (n_classes, n_classes)
        Counts; rows are the true classes, columns the network's classification.
    class_names : sequence of str
        Names in the matrix's order.
    synthetic : bool
        Mark the title "(simulated data)".
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The matrix and its colour bar.
    """
    cm = np.asarray(cm)
    n = len(class_names)
    if cm.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {cm.shape} does not match {n} class names")
    totals = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    fig, ax = plt.subplots(figsize=(1.1 * n + 3.6, 0.9 * n + 2.0), layout="constrained")
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            error = i != j and cm[i, j] > 0  # errors in red, however few
            colour = WRONG_COLOUR if error else ("white" if frac[i, j] > 0.55 else "black")
            ax.text(j, i, f"{int(cm[i, j]):d}", ha="center", va="center", fontsize=11, color=colour, fontweight="bold" if error else "normal")
    ax.set_xticks(range(n), class_names, rotation=30, ha="right")
    ax.set_yticks(range(n), [f"{c} ({t})" for c, t in zip(class_names, totals[:, 0])])
    ax.set_xlabel("network classification")
    ax.set_ylabel("true classification (images)")
    fig.colorbar(im, ax=ax, label="fraction of the true class", shrink=0.85)
    suptitle(fig, title, synthetic)
    return fig


def plot_examples(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    labels: Sequence[int],
    class_names: Sequence[str],
    n: int = 5,
    synthetic: bool = False,
    title: str | None = "Classification of unseen images",
) -> Figure:
    """Figure 3: the first ``n`` images on top, their class probabilities below.

    Parameters
    ----------
    images : sequence of 2-D arrays
        The images shown (e.g. one correctly classified validation image per class).
    probs : array, shape (len(images), n_classes)
        The network's class probabilities of each image.
    labels : sequence of int
        True class of each image.
    class_names : sequence of str
        Class names in the probabilities' order.
    n : int
        How many to show (more than five wrap onto further rows).
    synthetic : bool
        Mark the title "(simulated data)".
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 * min(n, len(images))`` axes. The true class's bar is green, a wrong
        prediction's red; each column is titled "true: X / predicted: Y" (red when wrong).
        Prominences are shown with the disc saturated, so that the prominence is seen.
    """
    k = min(n, len(images))
    if k == 0:
        return message_figure("no images to show", title, synthetic)
    probs = np.asarray(probs, dtype=float)[:k]
    labels = [int(v) for v in labels[:k]]
    images = list(images[:k])
    limits = _display_limits(images, labels, class_names)
    titles = _disc_notes([true_pred_title(class_names, t, int(np.argmax(p))) for t, p in zip(labels, probs)], images, limits)
    return image_grid(images, probs, labels, class_names, titles, title, synthetic, limits=limits)


def plot_class_images(images: Sequence[np.ndarray], labels: Sequence[int], class_names: Sequence[str], synthetic: bool = False,
                      title: str | None = "One image per class") -> Figure:
    """The images with their class as the title, in one row: the data before any network has seen them
    (:func:`plot_examples` is for a network's answers)."""
    k = len(images)
    if k == 0:
        return message_figure("no images to show", title, synthetic)
    fig, axes = plt.subplots(1, k, figsize=(max(2.6 * k, 6.0), 3.4), layout="constrained", squeeze=False)
    for ax, image, label in zip(axes[0], images, labels):
        show_image(ax, image)
        ax.set_title(class_names[int(label)], fontsize=10)
    suptitle(fig, title, synthetic)
    return fig


def plot_misclassified(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    labels: Sequence[int],
    preds: Sequence[int],
    class_names: Sequence[str],
    max_n: int = 8,
    synthetic: bool = False,
    title: str | None = "Misclassified images",
    indices: Sequence[int] | None = None,
) -> Figure:
    """Figure 7 (Appendix A): up to ``max_n`` misclassified images with their probabilities.

    Parameters
    ----------
    images, probs, labels, preds : sequences aligned with each other
        Images, class probabilities, true and predicted classes; any correctly classified
        ones among them are skipped, so the whole validation set or only its errors may be
        passed.
    class_names : sequence of str
        Class names in the probabilities' order.
    max_n : int
        At most this many are shown; the title then says how many of how many.
    synthetic : bool
        Mark the title "(simulated data)".
    title : str, optional
        Figure title.
    indices : sequence of int, optional
        Each image's index in the validation set, for the column titles ("#12: ...");
        default: its position in ``images``.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes per image shown; with no misclassification, a figure that says "no
        misclassified images" (with the count of correct ones when any were passed).
    """
    labels = np.asarray(labels, dtype=int)
    preds = np.asarray(preds, dtype=int)
    wrong = np.flatnonzero(labels != preds)
    if wrong.size == 0:
        return message_figure("no misclassified images" + (f"\n(all {len(labels)} correct)" if len(labels) else ""), title, synthetic)
    shown = wrong[:max_n]
    probs = np.asarray(probs, dtype=float)
    ids = np.arange(len(labels)) if indices is None else np.asarray(indices, dtype=int)
    full_title = f"{title} ({len(shown)} of {wrong.size} shown)" if title and wrong.size > len(shown) else title
    shown_images, shown_labels = [images[i] for i in shown], [int(labels[i]) for i in shown]
    limits = _display_limits(shown_images, shown_labels, class_names)
    titles = _disc_notes([f"#{ids[i]}: " + true_pred_title(class_names, labels[i], preds[i]) for i in shown], shown_images, limits)
    return image_grid(shown_images, probs[shown], shown_labels, class_names, titles, full_title, synthetic, limits=limits)


def plot_closest_calls(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    labels: Sequence[int],
    class_names: Sequence[str],
    synthetic: bool = False,
    title: str | None = "The closest calls",
    indices: Sequence[int] | None = None,
) -> Figure:
    """Correctly classified images with their probabilities, titled by the true class's probability.

    Figure 7 when nothing is misclassified: the images the network was least sure of (pass them
    in order, lowest probability of the true class first) show where it comes nearest to an
    error, where an empty figure shows nothing. Images are shown as :func:`plot_examples`
    shows them.
    """
    k = len(images)
    if k == 0:
        return message_figure("no images to show", title, synthetic)
    probs = np.asarray(probs, dtype=float)
    labels = [int(v) for v in labels]
    ids = np.arange(k) if indices is None else np.asarray(indices, dtype=int)
    order = np.argsort(-probs, axis=1)
    titles = []
    for i, t in enumerate(labels):
        runner_up = int(order[i, 1] if order[i, 0] == t else order[i, 0])
        titles.append(f"#{ids[i]}: {class_names[t]}, p = {probs[i, t]:.2f}\n(next: {class_names[runner_up]})")
    limits = _display_limits(images, labels, class_names)
    return image_grid(list(images), probs, labels, class_names, _disc_notes(titles, images, limits), title, synthetic, limits=limits)


def _is_paper(frame: pd.DataFrame) -> pd.Series:
    if "source" in frame:
        return frame["source"].astype(str).eq("paper")
    return frame["device"].astype(str).str.contains("(paper)", regex=False)


def timing_rows(timings: pd.DataFrame, with_paper: bool = True) -> pd.DataFrame:
    """The rows :func:`plot_inference_times` draws: each measurement once, this run's first.

    Adds ``source`` (``"this run"`` or ``"paper"``), ``seconds_per_image`` and ``label``
    (the device, and below it the precision and model when known). The paper's two timings
    (:data:`slic_lib.paper.TIMINGS`) are added when ``with_paper`` and the table holds none
    of the paper's rows yet (a row is the paper's when its ``source`` is ``"paper"``, or,
    without that column, when its device name says "(paper)").
    """
    missing = set(TIMING_COLUMNS) - set(timings.columns)
    if missing:
        raise ValueError(f"timings lack the columns {sorted(missing)}")
    rows = timings.copy()
    rows["source"] = np.where(_is_paper(rows), "paper", "this run")
    if with_paper and not rows["source"].eq("paper").any():
        rows = pd.concat([rows, pd.DataFrame(list(paper.TIMINGS)).assign(source="paper")], ignore_index=True)
    rows["seconds_per_image"] = rows["seconds"] / rows["n_images"].clip(lower=1)

    def label(row: pd.Series) -> str:
        details = [str(row[c]) for c in ("precision", "model") if isinstance(row.get(c), str) and row[c]]
        return str(row["device"]) + ("\n" + " · ".join(details) if details else "")

    rows["label"] = rows.apply(label, axis=1)
    return rows.sort_values("source", key=lambda s: s.eq("paper"), kind="stable").reset_index(drop=True)


def _duration(seconds: float) -> str:
    """A duration for a label: ``3.54 ms``, ``4.66 s``, ``895 s``, ``3,849 s`` (no exponents)."""
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 1:
        return f"{seconds:.3g} s"
    return f"{seconds * 1e3:.3g} ms"


def plot_inference_times(
    timings: pd.DataFrame,
    synthetic: bool = False,
    title: str | None = "Time to classify the validation set",
    with_paper: bool = True,
    n_reference: int = paper.N_VALIDATION,
) -> Figure:
    """Section 4.1: seconds per image for each measured device and precision, beside the paper's.

    One horizontal bar per row of :func:`timing_rows` (this run's in blue on top, the paper's
    in grey below), labelled with its device, precision and model; the bottom axis gives
    seconds per image and the top axis seconds for ``n_reference`` images (the paper's 1318),
    both logarithmic.

    Parameters
    ----------
    timings : pandas.DataFrame
        Rows with ``device``, ``seconds`` and ``n_images`` (e.g. the stored timing table) and
        optional ``precision``, ``model`` and ``source``.
    synthetic : bool
        Mark the title "(simulated data)".
    title : str, optional
        Figure title.
    with_paper : bool
        Add the paper's 4.66 s (GPU) and 895 s (CPU) when ``timings`` lacks them.
    n_reference : int
        Number of images of the top axis.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (with a secondary x axis).
    """
    rows = timing_rows(timings, with_paper)
    values = rows["seconds_per_image"].to_numpy(float)
    colours = [PAPER_COLOUR if s == "paper" else THIS_RUN_COLOUR for s in rows["source"]]
    fig, ax = plt.subplots(figsize=(9.5, 0.8 * len(rows) + 2.0), layout="constrained")
    y = np.arange(len(rows))
    bars = ax.barh(y, values, color=colours, edgecolor="k", lw=0.6, height=0.6)
    for bar, v in zip(bars, values):
        text = f"{_duration(v)} per image\n{_duration(v * n_reference)} per {n_reference}"
        ax.text(v * 1.15, bar.get_y() + bar.get_height() / 2, text, va="center", ha="left", fontsize=8)
    ax.set_yticks(y, [wrap(t, 2.6, 8) for t in rows["label"]], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xscale("log")
    decades = np.log10(values.max() / values.min()) + np.log10(3)
    ax.set_xlim(values.min() / 3, values.max() * 10 ** (0.3 * decades + 0.15))  # room for the values' text
    ax.set_xlabel("seconds per image")
    top = ax.secondary_xaxis("top", functions=(lambda s: s * n_reference, lambda s: s / n_reference))
    top.set_xlabel(f"seconds for {n_reference} images")
    ax.grid(axis="x", alpha=0.3, which="both")
    handles = [Patch(color=THIS_RUN_COLOUR, label="this run"), Patch(color=PAPER_COLOUR, label=paper.CITATION)]
    fig.legend(handles=handles, fontsize=8, loc="outside lower center", ncol=2, frameon=False)
    suptitle(fig, title, synthetic)
    return fig


SPLIT_LABELS = {"every-nth": "every 10th file (the Slic release's code)", "grouped": "whole runs (grouped)"}


def plot_split_comparison(table: pd.DataFrame, inflation: float, inflation_std: float, synthetic: bool = False,
                          last_epochs: int | None = None) -> Figure:
    """Validation accuracy per seed for the every-10th-file and the grouped split.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per training: ``split`` (``"every-nth"`` or ``"grouped"``), ``seed`` and
        ``val_accuracy``.
    inflation, inflation_std : float
        Mean and standard deviation over seeds of every-nth minus grouped, quoted in the title.
    synthetic : bool
        Mark the title "(simulated data)".
    last_epochs : int, optional
        Epochs each training's accuracy is averaged over, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure
        Accuracy per seed (markers: the seeds are separate trainings, not a series), each
        split's mean dashed.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    for (kind, label), colour, marker in zip(SPLIT_LABELS.items(), (PAPER_COLOUR, THIS_RUN_COLOUR), ("o", "s")):
        part = table[table["split"] == kind].sort_values("seed")
        ax.plot(part["seed"], part["val_accuracy"], marker=marker, ls="none", ms=7, color=colour, label=label)
        ax.axhline(part["val_accuracy"].mean(), color=colour, ls="--", lw=1)
    ax.set_xticks(sorted(table["seed"].unique()))
    ax.set_xlabel("seed (initialisation, shuffling, held-out runs)")
    ax.set_ylabel(f"validation accuracy\n(mean of the last {last_epochs or ''} epochs)".replace("last  ", "last "))
    ax.legend(loc="best", fontsize=9)
    ax.grid(alpha=0.3)
    suptitle(fig, f"Every-10th-file vs grouped split: inflation {inflation:+.3f} ± {inflation_std:.3f} (mean ± s.d. over "
                  f"{table['seed'].nunique()} seeds)",
             synthetic)
    return fig
