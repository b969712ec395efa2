"""What every figure shares: the "simulated data" mark, colours, wrapping, saving, image panels.

Every figure function of :mod:`slic_lib.plots` returns a :class:`matplotlib.figure.Figure`
made with ``matplotlib.pyplot`` (so notebooks show it inline) and takes ``synthetic``: when
true the suptitle ends in "(simulated data)", as every figure made from the simulator must
say. The backend is the caller's choice (``matplotlib.use`` is never called here).
:func:`save_figure` writes PNG (150 dpi) and PDF.

Titles are wrapped to the width they are drawn in (:func:`wrap`), so a long title takes two
lines instead of running off the figure or into its neighbour.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..paths import atomic_write

SIMULATED = "(simulated data)"
"""Appended to the suptitle of every figure drawn from simulated data."""

#: Colours of Figure 1: conv blocks by feature-map count (64, 128, 256, 512), pools, classifier.
FEATURE_COLOURS = ("#f28e2b", "#59a14f", "#edc948", "#4e79a7")
POOL_COLOUR = "#e15759"
CLASSIFIER_COLOUR = "#a0a0a0"
RELU_DROPOUT_COLOUR = "#f4b6d2"
OUTPUT_LAYER_COLOUR = "#d4af37"
#: Probability bars: the true (or expected) class, a wrong prediction, the other classes. Okabe &
#: Ito's bluish green and vermillion, which readers with red-green colour blindness tell apart
#: (matplotlib's green and red they do not); green still reads as right and red as wrong.
TRUE_COLOUR = "#009e73"
WRONG_COLOUR = "#d55e00"
OTHER_COLOUR = "#b0b0b0"
#: This run's measurements against the paper's.
THIS_RUN_COLOUR = "#4e79a7"
PAPER_COLOUR = OTHER_COLOUR

SUPTITLE_SIZE = 12
#: Average glyph width of the default font (DejaVu Sans) in units of the font size.
_GLYPH_WIDTH = 0.6


def wrap(text: str, width_inches: float, fontsize: float) -> str:
    """``text`` wrapped at word boundaries to fit ``width_inches`` at ``fontsize`` points.

    Existing line breaks are kept; each line is wrapped on its own. The line length assumes
    an average glyph of 0.6 em, a little wider than DejaVu Sans's, so wrapped text fits.
    """
    chars = max(int(width_inches * 72 / (_GLYPH_WIDTH * fontsize)), 8)
    return "\n".join(textwrap.fill(line, chars, break_long_words=False) if line else "" for line in text.split("\n"))


def suptitle(fig: Figure, title: str | None, synthetic: bool) -> None:
    """Set the figure's title, ending in "(simulated data)" when ``synthetic``, wrapped to its width."""
    text = " ".join(t for t in (title, SIMULATED if synthetic else None) if t)
    if text:
        fig.suptitle(wrap(text, 0.95 * fig.get_figwidth(), SUPTITLE_SIZE), fontsize=SUPTITLE_SIZE)


def save_figure(fig: Figure, path_without_ext: str | os.PathLike, dpi: int = 150, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``<path>.png`` (at ``dpi``) and ``<path>.pdf``; return the paths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path_without_ext : str or os.PathLike
        Path without suffix; the parent folder is created and the suffixes are appended, so
        the name may contain dots.
    dpi : int
        Resolution of the raster formats.
    formats : sequence of str
        File formats, in order.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    base = Path(path_without_ext)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")  # whole or not at all: a run stopped mid-save keeps the last figure
        paths.append(atomic_write(path, lambda fh: fig.savefig(fh, dpi=dpi, format=fmt), mode="wb"))
    return paths


def message_figure(message: str, title: str | None, synthetic: bool) -> Figure:
    """A figure that says, in its middle, why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, transform=ax.transAxes)
    ax.set_axis_off()
    suptitle(fig, title, synthetic)
    return fig


def sci(x: float) -> str:
    """``5e-4`` -> ``$5\\times10^{-4}$``, ``1e-3`` -> ``$10^{-3}$``, ``0.5`` -> ``0.5`` for legends."""
    mant, exp = f"{x:.0e}".split("e")
    exp = int(exp)
    if exp == 0:
        return f"{x:g}"
    return f"${mant}\\times10^{{{exp}}}$" if mant != "1" else f"$10^{{{exp}}}$"


def stretch(image: np.ndarray) -> tuple[float, float]:
    """The 0.5 and 99.5 percentiles of an image's finite pixels: the grey range :func:`show_image` uses."""
    img = np.asarray(image, dtype=float)
    finite = img[np.isfinite(img)]
    return tuple(np.percentile(finite, [0.5, 99.5])) if finite.size else (0.0, 1.0)


def off_disc_stretch(image: np.ndarray) -> tuple[float, float]:
    """A grey range for what lies off the disc: the disc (pixels above the middle of the 0.5-99.5
    percentile range) saturates white and the range ends at the 99th percentile of the rest.

    Prominences are shown so (as H-alpha limb images usually are): in the full range of an image
    with the disc in it, a prominence a tenth as bright as the disc is lost in the sky's black.
    Without a disc (fewer than 10 % of pixels above the middle) it is :func:`stretch`.
    """
    lo, hi = stretch(image)
    img = np.asarray(image, dtype=float)
    finite = img[np.isfinite(img)]
    below = finite[finite <= (lo + hi) / 2]
    if finite.size == 0 or below.size > 0.9 * finite.size or below.size == 0:
        return lo, hi
    top = float(np.percentile(below, 99))
    return (lo, top) if top > lo else (lo, hi)


def show_image(ax: Axes, image: np.ndarray, limits: tuple[float, float] | None = None) -> None:
    """An image in grey, clipped to its 0.5-99.5 percentiles (or to ``limits``, to show several alike), without ticks."""
    img = np.asarray(image, dtype=float)
    lo, hi = limits if limits is not None else stretch(img)
    ax.imshow(img, cmap="gray", origin="lower", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def prob_bars(ax: Axes, probs: np.ndarray, class_names: Sequence[str], true: int | None, pred: int, show_names: bool) -> None:
    """Horizontal probability bars: the true class green, a wrong prediction red, values written."""
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
    ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    ends = ax.get_xticklabels()  # inside their panel: side by side, one panel's "1" and the next one's "0" read as "1 0"
    ends[0].set_horizontalalignment("left")
    ends[-1].set_horizontalalignment("right")
    ax.set_xlabel("probability")
    ax.grid(axis="x", alpha=0.3)
    for yi, p in zip(y, probs):
        inside = p > 0.75
        ax.text(p - 0.02 if inside else p + 0.02, yi, f"{p:.2f}", va="center", ha="right" if inside else "left", fontsize=8, color="white" if inside else "black")


def bar_legend(fig: Figure, with_true: bool = True, with_wrong: bool = True) -> None:
    """Legend of :func:`prob_bars`' colours, below the figure (``with_wrong``: a wrong answer is drawn)."""
    handles = [Patch(color=TRUE_COLOUR, label="true class" if with_true else "expected class"),
               *([Patch(color=WRONG_COLOUR, label="predicted (wrong)")] if with_wrong else []),
               Patch(color=OTHER_COLOUR, label="other classes")]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=9)


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
    column_width: float = 2.6,
    limits: Sequence[tuple[float, float] | None] | None = None,
) -> Figure:
    """Images on top, probability bars below, one column per example (Figures 3, 5, 7).

    More than ``max_cols`` examples wrap onto further rows (balanced: 6 -> 2 x 3, 8 -> 2 x 4);
    the figure has ``2 * len(images)`` axes. Column titles are wrapped to ``column_width``
    inches and turn red when the prediction is not the true class. ``limits``: each image's
    grey range (None: its own 0.5-99.5 percentiles, :func:`show_image`).
    """
    k = len(images)
    nrows = -(-k // max_cols)
    ncols = -(-k // nrows)
    fig = plt.figure(figsize=(max(column_width * ncols + 1.2, 6.0), 5.2 * nrows + 0.8), layout="constrained")
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
        show_image(ax_img, images[j], None if limits is None else limits[j])
        colour = "black" if true is None or true == pred else WRONG_COLOUR
        ax_img.set_title(wrap(column_titles[j], 0.95 * column_width, 9), fontsize=9, color=colour)
        prob_bars(ax_bar, probs[j], class_names, true, pred, show_names=c == 0)
    wrong = any(t is not None and int(np.argmax(p)) != t for t, p in zip(trues, probs))
    bar_legend(fig, with_true=true_label, with_wrong=wrong)
    suptitle(fig, title, synthetic)
    return fig


def true_pred_title(class_names: Sequence[str], true: int, pred: int) -> str:
    """``"true: X /\\npredicted: Y"`` for an image's column title."""
    return f"true: {class_names[true]} /\npredicted: {class_names[pred]}"
