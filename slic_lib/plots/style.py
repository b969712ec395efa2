"""What every figure shares: the "simulated data" mark, colours, saving, images with probability bars.

Every figure function of :mod:`slic_lib.plots` returns a :class:`matplotlib.figure.Figure`
made with ``matplotlib.pyplot`` (so notebooks show it inline) and takes ``synthetic``: when
true the suptitle ends in "(simulated data)", as every figure made from the simulator must
say. The backend is the caller's choice (``matplotlib.use`` is never called here).
:func:`save_figure` writes PNG (150 dpi) and PDF.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

SIMULATED = "(simulated data)"

#: Colours of Figure 1: conv blocks by feature-map count (64, 128, 256, 512), pools, classifier.
FEATURE_COLOURS = ("#f28e2b", "#59a14f", "#edc948", "#4e79a7")
POOL_COLOUR = "#e15759"
CLASSIFIER_COLOUR = "#a0a0a0"
RELU_DROPOUT_COLOUR = "#f4b6d2"
OUTPUT_LAYER_COLOUR = "#d4af37"
TRUE_COLOUR = "#2ca02c"
WRONG_COLOUR = "#d62728"
OTHER_COLOUR = "#b0b0b0"


def suptitle(fig: Figure, title: str | None, synthetic: bool) -> None:
    text = " ".join(t for t in (title, SIMULATED if synthetic else None) if t)
    if text:
        fig.suptitle(text, fontsize=12)


def save_figure(fig: Figure, path_without_ext: str | os.PathLike, dpi: int = 150, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``<path>.png`` (at ``dpi``) and ``<path>.pdf``; return the paths.

    The parent folder is created; the suffixes are appended, so names may contain dots.
    """
    base = Path(path_without_ext)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        fig.savefig(path, dpi=dpi, format=fmt)
        paths.append(path)
    return paths


def message_figure(message: str, title: str | None, synthetic: bool) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, transform=ax.transAxes)
    ax.set_axis_off()
    suptitle(fig, title, synthetic)
    return fig


def sci(x: float) -> str:
    """``5e-4`` -> ``$5\\times10^{-4}$`` for legends."""
    mant, exp = f"{x:.0e}".split("e")
    exp = int(exp)
    if exp == 0:
        return f"{x:g}"
    return f"${mant}\\times10^{{{exp}}}$" if mant != "1" else f"$10^{{{exp}}}$"


def show_image(ax, image: np.ndarray) -> None:
    img = np.asarray(image, dtype=float)
    finite = img[np.isfinite(img)]
    lo, hi = (np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0))
    ax.imshow(img, cmap="gray", origin="lower", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def prob_bars(ax, probs: np.ndarray, class_names: Sequence[str], true: int | None, pred: int, show_names: bool) -> None:
    colours = [OTHER_COLOUR] * len(class_names)
    if pred != true:
        colours[pred] = WRONG_COLOUR
    if true is not None:
        colours[true] = TRUE_COLOUR
    y = np.arange(len(class_names))
    ax.barh(y, probs, color=colours, height=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(class_names) - 0.5, -0.5)
    ax.set_yticks(y, class_names if show_names else [""] * len(class_names))
    ax.set_xlabel("probability")
    ax.grid(axis="x", alpha=0.3)
    for yi, p in zip(y, probs):
        inside = p > 0.75
        ax.text(p - 0.02 if inside else p + 0.02, yi, f"{p:.2f}", va="center", ha="right" if inside else "left", fontsize=8, color="white" if inside else "black")


def bar_legend(fig: Figure, with_true: bool = True) -> None:
    handles = [Patch(color=TRUE_COLOUR, label="true class")] if with_true else [Patch(color=TRUE_COLOUR, label="expected class")]
    handles.append(Patch(color=WRONG_COLOUR, label="predicted (wrong)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=9)


def image_grid(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    trues: Sequence[int | None],
    class_names: Sequence[str],
    column_titles: Sequence[str],
    title: str | None,
    synthetic: bool,
    true_label: bool = True,
    max_cols: int = 5,
) -> Figure:
    """Images on top, probability bars below, one column per example (Figures 3, 5, 7).

    More than ``max_cols`` examples wrap onto further rows; the figure has ``2 * k`` axes.
    """
    k = len(images)
    nrows = -(-k // max_cols)
    ncols = -(-k // nrows)  # balanced rows: 6 -> 2 x 3, 8 -> 2 x 4
    fig = plt.figure(figsize=(max(2.5 * ncols, 6.0), 5.0 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(2 * nrows, ncols, squeeze=False, height_ratios=(1.3, 1) * nrows)
    probs = np.asarray(probs, dtype=float)
    for j in range(nrows * ncols):
        r, c = divmod(j, ncols)
        ax_img, ax_bar = axes[2 * r, c], axes[2 * r + 1, c]
        if j >= k:
            ax_img.remove()
            ax_bar.remove()
            continue
        pred = int(np.argmax(probs[j]))
        true = trues[j]
        show_image(ax_img, images[j])
        ax_img.set_title(column_titles[j], fontsize=9, color="black" if true is None or true == pred else WRONG_COLOUR)
        prob_bars(ax_bar, probs[j], class_names, true, pred, show_names=c == 0)
    bar_legend(fig, with_true=true_label)
    suptitle(fig, title, synthetic)
    return fig


def true_pred_title(class_names: Sequence[str], true: int, pred: int) -> str:
    return f"true: {class_names[true]} /\npredicted: {class_names[pred]}"
