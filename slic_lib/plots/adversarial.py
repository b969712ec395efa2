"""Section 4.2 (Figures 4, 6, 8 and 9): AIA observations classified frame by frame through the hour.

The network trained on H-alpha is shown AIA 1600/1700 Å sunspots and 304 Å prominences;
:func:`plot_sequence` draws each class's probability against time with a few example frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .style import WRONG_COLOUR, show_image, suptitle, wrap


def _as_times(times: Sequence[Any]) -> tuple[np.ndarray, bool]:
    arr = np.asarray(times)
    if np.issubdtype(arr.dtype, np.number):
        return arr.astype(float), False
    return pd.to_datetime(pd.Series(list(times))).to_numpy(), True


def _time_text(t: Any, is_date: bool) -> str:
    return pd.Timestamp(t).strftime("%H:%M:%S") if is_date else f"t = {t:g}"


def _examples(images: Sequence[np.ndarray] | Mapping[int, np.ndarray] | None, n_frames: int,
              example_indices: Sequence[int] | None) -> list[tuple[int, np.ndarray]]:
    if images is None:
        return []
    if isinstance(images, Mapping):
        return sorted((int(i), img) for i, img in images.items())[:3]
    if len(images) != n_frames:
        raise ValueError("images must be aligned with times (or a mapping frame index -> image)")
    idx = example_indices if example_indices is not None else sorted({0, n_frames // 2, n_frames - 1})
    return [(int(i), images[i]) for i in idx[:3]]


def plot_sequence(
    times: Sequence[Any],
    probs: np.ndarray,
    class_names: Sequence[str],
    expected: str | None,
    images: Sequence[np.ndarray] | Mapping[int, np.ndarray] | None = None,
    title: str | None = "Classification through the observation",
    synthetic: bool = False,
    kind: str = "lines",
    example_indices: Sequence[int] | None = None,
) -> Figure:
    """Figures 4, 6, 8 and 9: class probabilities through a sequence, with example frames.

    Parameters
    ----------
    times : sequence of datetime-like (or ISO strings) or numbers
        Time of each frame (datetimes are shown as UTC hh:mm).
    probs : array, shape (n_frames, n_classes)
        Class probabilities of each frame.
    class_names : sequence of str
        Class names in the probabilities' order.
    expected : str or None
        The class a human would give (e.g. ``"sunspots"``): drawn thick, named in the legend,
        and the legend's title says which fraction of frames got it.
    images : sequence aligned with ``times``, or mapping {frame index: image}, optional
        When given, three example frames (``example_indices``, default first, middle and
        last; a mapping's own keys) are shown above with their predicted class and marked
        on the time axis.
    title : str, optional
        Figure title.
    synthetic : bool
        Mark the title "(simulated data)".
    kind : {"lines", "stacked"}
        One line per class, or stacked areas summing to one.
    example_indices : sequence of int, optional
        Frames to show when ``images`` is a sequence.

    Returns
    -------
    matplotlib.figure.Figure
        One axes for the probabilities, plus one per example frame.
    """
    probs = np.asarray(probs, dtype=float)
    t, is_date = _as_times(times)
    if probs.shape != (len(t), len(class_names)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(t)}, {len(class_names)})")
    if kind not in ("lines", "stacked"):
        raise ValueError("kind must be 'lines' or 'stacked'")
    examples = _examples(images, len(t), example_indices)
    fig = plt.figure(figsize=(10, 7.2 if examples else 4.6), layout="constrained")
    if examples:
        gs = fig.add_gridspec(2, len(examples), height_ratios=(1.25, 1))
        img_axes = [fig.add_subplot(gs[0, j]) for j in range(len(examples))]
        ax = fig.add_subplot(gs[1, :])
    else:
        img_axes, ax = [], fig.add_subplot()
    colours = plt.get_cmap("tab10").colors
    names = [f"{c} (expected)" if c == expected else c for c in class_names]
    if kind == "stacked":
        areas = ax.stackplot(t, probs.T, labels=names, colors=colours[: len(class_names)], alpha=0.85)
        for area, name in zip(areas, class_names):
            if name == expected:
                area.set_hatch("//")
                area.set_edgecolor("white")
    else:
        for k, name in enumerate(class_names):
            is_exp = name == expected
            ax.plot(t, probs[:, k], color=colours[k % 10], lw=3.0 if is_exp else 1.3, marker="o", ms=3 if is_exp else 2,
                    label=names[k], zorder=3 if is_exp else 2)
    preds = probs.argmax(axis=1)
    legend_title = None
    if expected is not None and expected in class_names:
        frac = np.mean(preds == list(class_names).index(expected))
        legend_title = f"classified as {expected}:\n{frac:.0%} of {len(t)} frames"
    for letter, (i, img), ax_img in zip("abc", examples, img_axes):
        ax.axvline(t[i], color="0.3", ls=":", lw=1)
        ax.text(t[i], 1.02, f"({letter})", ha="center", va="bottom", fontsize=9, transform=ax.get_xaxis_transform())
        show_image(ax_img, img)
        pred = class_names[preds[i]]
        ok = expected is None or pred == expected
        ax_img.set_title(wrap(f"({letter}) {_time_text(t[i], is_date)}\npredicted: {pred} ({probs[i, preds[i]]:.2f})", 3.0, 9),
                         fontsize=9, color="black" if ok else WRONG_COLOUR)
    ax.set_ylim(0, 1.0 if kind == "stacked" else 1.05)
    ax.set_ylabel("probability")
    if is_date:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        ax.set_xlabel(f"time (UTC) on {pd.Timestamp(t[0]).strftime('%Y-%m-%d')}")
    else:
        ax.set_xlabel("time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title=legend_title, title_fontsize=8)
    suptitle(fig, title, synthetic)
    return fig
