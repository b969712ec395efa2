"""Figures of notebook 06 (transfer learning), drawn from its result files only.

:func:`plot_bbso_examples` shows real BBSO crops with the H-alpha model's probabilities,
:func:`plot_learning_curve` the held-out accuracy against the number of training crops, and
:func:`plot_aia_transfer` the simulated-AIA accuracies before and after fine-tuning. Each takes
what :mod:`slic_lib.experiments.transfer` wrote (arrays, tables), never a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .style import OTHER_COLOUR, WRONG_COLOUR, image_grid, suptitle, true_pred_title

MODE_STYLE = {
    "zero-shot": dict(color="0.4", linestyle="--", marker=""),
    "classifier": dict(color="tab:blue", marker="o"),
    "top": dict(color="tab:orange", marker="s"),
    "all": dict(color="tab:purple", marker="^"),
    "scratch": dict(color="tab:green", marker="x"),
}
"""Line style of each learning-curve mode."""

_AIA_COLUMNS = {
    "accuracy_before": ("zero-shot (H-alpha model)", OTHER_COLOUR),
    "accuracy_after": ("fine-tuned", "tab:orange"),
    "accuracy_scratch": ("from scratch", "tab:blue"),  # not red beside orange: readers with red-green colour blindness
}


def plot_bbso_examples(images: np.ndarray, probs: np.ndarray, labels: Sequence[int], class_names: Sequence[str], title: str | None = None,
                       notes: Sequence[str] | None = None) -> Figure:
    """Real BBSO crops on top, the model's class probabilities below (true class green, a wrong answer red).

    Parameters
    ----------
    images, probs, labels
        Preprocessed crops ``(k, S, S)``, probabilities ``(k, n_classes)`` and true classes.
    class_names : sequence of str
        The model's classes.
    title : str, optional
        The figure's title.
    notes : sequence of str, optional
        A line under each column's title (the crop's day, and whether it is a held-out one).
    """
    labels = [int(v) for v in labels]
    titles = [true_pred_title(class_names, t, int(np.argmax(p))) for t, p in zip(labels, probs)]
    if notes is not None:
        titles = [f"{t}\n{n}" for t, n in zip(titles, notes)]
    return image_grid(list(images), probs, labels, class_names, titles, title or "Zero-shot on real BBSO crops", synthetic=False)


def plot_disagreements(crops: Sequence[np.ndarray], rows: pd.DataFrame, title: str | None = None, max_cols: int = 6) -> Figure:
    """Real crops over their median on one grey scale (0.7-1.2), with the network's and the rule's answers.

    Parameters
    ----------
    crops : sequence of 2-D arrays
        The crops divided by their median (what the dark-pixel rule reads).
    rows : pandas.DataFrame
        Their rows of :func:`slic_lib.experiments.transfer.test_day_crops` (``true``,
        ``network``, ``p_true``, ``network_right``, ``dark_share``, ``rule``, ``rule_right``).
    title : str, optional
        The figure's title.
    max_cols : int
        Crops per row.

    Under each crop: the network's answer with its probability of the true class, and the
    rule's answer with the crop's share of dark pixels; an answer is red when wrong. One grey
    scale for all, so a filament's depth reads the same in every panel, as it does for the rule.
    """
    k = len(crops)
    ncols = min(k, max_cols)
    nrows = -(-k // ncols)
    fig = plt.figure(figsize=(2.3 * ncols + 0.4, 2.9 * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for j, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= k:
            ax.remove()
            continue
        row = rows.iloc[j]
        ax.imshow(crops[j], cmap="gray", vmin=0.7, vmax=1.2)
        ax.set_title(f"true: {row['true']}", fontsize=9)
        # two answers in their own colours under the axes; the blank two-line label reserves
        # their room in the constrained layout, which does not see free texts
        ax.set_xlabel(" \n ", fontsize=9)
        for line, (text, right) in enumerate(((f"network: {row['network']}, P(true) {row['p_true']:.2f}", row["network_right"]),
                                          (f"rule: {row['rule']}, dark {100 * row['dark_share']:.2f} %", row["rule_right"]))):
            ax.annotate(text, xy=(0.5, 0.0), xycoords="axes fraction", xytext=(0, -3 - 11 * line), textcoords="offset points",
                        ha="center", va="top", fontsize=8, color="black" if right else WRONG_COLOUR)
    suptitle(fig, title, synthetic=False)
    return fig


def plot_roc(rows: pd.DataFrame, title: str | None = None, trained_on: str | None = None) -> Figure:
    """ROC curves of filament against quiet Sun for the network's score and the rule's dark share, with the decisions marked.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`slic_lib.experiments.transfer.test_day_crops` (``true``, ``network``,
        ``network_score``, ``two_way``, ``dark_share``, ``rule``).
    title : str, optional
        The figure's title (default: the crops counted, and ``trained_on``).
    trained_on : str, optional
        What the network was trained on, for the default title.

    Each curve is every threshold on its score (``sklearn.metrics.roc_curve``); the markers
    are the answers actually given: the network's five-way argmax, the network's score and the
    rule's dark share each cut at the threshold chosen on the development days. The right-hand
    panel zooms into the corner where the answers lie.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    y = rows["true"].to_numpy() == "filaments"

    def point(answers: pd.Series) -> tuple[float, float]:  # (false-positive rate, true-positive rate)
        called = answers.to_numpy() == "filaments"
        return float(np.mean(called[~y])), float(np.mean(called[y]))

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.8), layout="constrained")
    decisions = ((rows["rule"], "rule, threshold of the development days", dict(marker="D", color="0.35", markersize=8)),
                 (rows["two_way"], "network, threshold of the development days", dict(marker="s", color="tab:blue", markersize=7)),
                 # drawn last and larger, so it rings the square when both decisions fall on one point
                 (rows["network"], "network, five-way answer", dict(marker="o", color="tab:blue", mfc="none", markersize=14, mew=1.5)))
    for ax in axes:
        for column, label, colour in (("network_score", "network: log P(filaments) - log P(quiet)", "tab:blue"),
                                      ("dark_share", "dark-pixel rule: share of dark pixels", "0.35")):
            fpr, tpr, _ = roc_curve(y, rows[column])
            ax.plot(fpr, tpr, color=colour, label=f"{label} (AUC {roc_auc_score(y, rows[column]):.3f})")
        for answers, label, style in decisions:
            ax.plot(*point(answers), linestyle="none", label=label, **style)
        ax.plot([0, 1], [0, 1], color="0.8", linewidth=0.8, zorder=0)
        ax.set(xlabel="quiet-Sun crops called filaments (false-positive rate)", ylabel="filament crops found (true-positive rate)")
    axes[0].set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal", title="all thresholds")
    # the corner where the answers are: every decision and the curves' knees
    axes[1].set(xlim=(-0.01, 0.31), ylim=(0.69, 1.01), aspect="equal", title="the corner of the answers (zoomed)")
    axes[0].legend(loc="lower right", fontsize=8)
    default = f"Held-out BBSO days: filament against quiet Sun ({int(y.sum())} filament and {int((~y).sum())} quiet-Sun crops)"
    suptitle(fig, title or default + (f"; network trained on {trained_on}" if trained_on else ""), synthetic=False)
    return fig


def plot_learning_curve(curve: pd.DataFrame, metric: str = "accuracy", title: str | None = None, synthetic: bool = False, base_synthetic: bool = False) -> Figure:
    """Held-out accuracy against the number of training crops, one line per mode (mean, and the range over the training sets drawn).

    Parameters
    ----------
    curve : pandas.DataFrame
        From :func:`slic_lib.finetune.learning_curve`: ``mode``, ``n_train`` and ``metric`` per row.
    metric : {"accuracy", "balanced_accuracy"}
        What to plot.
    title : str, optional
        Default: a title naming the real BBSO data.
    synthetic : bool
        The curve is on simulated images (the title says so).
    base_synthetic : bool
        The base model was trained on simulated H-alpha images (the title says so).
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    stats = curve.groupby(["mode", "n_train"], sort=False)[metric].agg(["mean", "min", "max", "count"]).reset_index()
    modes = list(dict.fromkeys(curve["mode"]))
    for k, mode in enumerate(modes):
        s = stats[stats["mode"] == mode].sort_values("n_train")
        # the modes side by side at each size (a small shift on the log axis), so their bars do not hide each other
        x = s["n_train"] * 2 ** (0.05 * (k - (len(modes) - 1) / 2))
        ax.errorbar(x, s["mean"], yerr=[(s["mean"] - s["min"]).clip(lower=0), (s["max"] - s["mean"]).clip(lower=0)], label=mode, capsize=3, **MODE_STYLE.get(mode, {}))
    sizes = sorted(curve["n_train"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training crops (class-balanced)")
    ax.set_ylabel(metric.replace("_", " ") + " on held-out days")
    ax.grid(alpha=0.3)
    repeats = int(stats["count"].max())
    ax.legend(title=f"mode: mean, bars from the worst\nto the best of {repeats} training sets" if repeats > 1 else "mode", fontsize=8, title_fontsize=8)
    text = title or "Transfer to real BBSO H-alpha crops (filaments vs quiet Sun)"
    if base_synthetic:
        text += "; base model trained on simulated H-alpha images"
    suptitle(fig, text, synthetic and "simulated" not in text.lower())
    return fig


def plot_aia_transfer(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Per simulated AIA kind: held-out accuracy zero-shot, after fine-tuning (and from scratch).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`slic_lib.experiments.aia_transfer.aia_transfer`'s table: ``wavelength``,
        ``expected``, ``n_train``, ``n_replay`` and the ``accuracy_*`` columns, one row per kind.
    title : str, optional
        Default: the number of frames fine-tuned on. The figure always says "simulated data".
    """
    cols = [c for c in _AIA_COLUMNS if c in table]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    x = np.arange(len(table))
    width = 0.8 / max(len(cols), 1)
    for i, c in enumerate(cols):
        label, colour = _AIA_COLUMNS[c]
        bars = ax.bar(x + (i - (len(cols) - 1) / 2) * width, table[c], width, label=label, color=colour)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)  # a value of 0.00 is otherwise no bar at all
    ax.set_xticks(x, [f"AIA {w} \u00c5\n({e})" for w, e in zip(table["wavelength"], table["expected"])])
    ax.set_ylim(0, 1.22)
    ax.set_yticks(np.linspace(0, 1, 6))
    n_test = sorted({int(n) for n in table["n_test"]}) if "n_test" in table else []
    each = f"{n_test[0]} " if len(n_test) == 1 else ""  # one training and one test set a kind: no error bars to draw
    ax.set_ylabel(f"accuracy on {each}held-out frames (one training)")
    ax.legend(fontsize=8, ncol=len(cols), loc="upper center")
    n_train = int(table["n_train"].iloc[0]) if len(table) else 0
    n_replay = int(table["n_replay"].iloc[0]) if len(table) and "n_replay" in table else 0
    replay = f" (+{n_replay} H-alpha images)" if n_replay else ""
    suptitle(fig, title or f"SDO/AIA: fine-tuned on {n_train} frames per kind{replay}", synthetic=True)
    return fig
