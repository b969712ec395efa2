"""Notebook 07 (beyond the paper): class probabilities against a physical knob of a simulated AIA scene."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .style import TRUE_COLOUR, WRONG_COLOUR, show_image, stretch, suptitle

__all__ = ["plot_sweep"]


def plot_sweep(frame: pd.DataFrame, true_class: str, knob: str, images: Mapping[str, np.ndarray] | None = None,
               flips: Mapping | None = None, synthetic: bool = True, title: str | None = None) -> Figure:
    """Probability of the true class and of the strongest other class against a knob, spread over seeds.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per (value, seed): ``value``, ``seed``, ``p_<class>`` columns, ``predicted``.
    true_class : str
        The class a human gives the scene.
    knob : str
        Name of the swept knob (x-axis: its value relative to the realistic one).
    images : mapping, optional
        ``"value_<v>"`` -> image, shown above (one seed), all in the grey range of the realistic
        one (value 1), so that the panels show what the knob changes.
    flips : mapping, optional
        :func:`slic_lib.experiments.hypotheses.flips`: per seed, the value where the true class
        stops being on top. Their median is marked by a dashed line only where at least half
        the seeds flip (a median of a few seeds, among others never right, would mislead).
    synthetic : bool
        Mark the title "(simulated data)".
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    shown = sorted((float(k.split("_", 1)[1]), v) for k, v in (images or {}).items())
    fig = plt.figure(figsize=(9, 7.5 if shown else 4.5), layout="constrained")
    if shown:
        gs = fig.add_gridspec(2, len(shown), height_ratios=(1, 1.2))
        realistic = min(shown, key=lambda item: abs(item[0] - 1.0))[1]
        limits = stretch(np.sqrt(np.clip(realistic, 0, None)))
        for j, (v, img) in enumerate(shown):
            ax_img = fig.add_subplot(gs[0, j])
            show_image(ax_img, np.sqrt(np.clip(img, 0, None)), limits)
            ax_img.set_title(f"{knob} x {v:g}", fontsize=9)
        ax = fig.add_subplot(gs[1, :])
    else:
        ax = fig.add_subplot()
    values = np.sort(frame["value"].unique())
    p_true = frame.pivot(index="value", columns="seed", values=f"p_{true_class}").loc[values]
    # the strongest class other than the true one: the true class on top means green above red
    others = frame.filter(regex="^p_").drop(columns=["p_true", f"p_{true_class}"], errors="ignore")
    p_other = frame.assign(p_other=others.max(axis=1)).pivot(index="value", columns="seed", values="p_other").loc[values]
    modal = frame.groupby("value")["predicted"].agg(lambda s: s.value_counts().index[0]).loc[values]
    for data, colour, label, ls in ((p_other, WRONG_COLOUR, "p(strongest other class)", "-"),
                                    (p_true, TRUE_COLOUR, f"p({true_class}), the true class", "--")):
        ax.fill_between(values, data.min(axis=1), data.max(axis=1), color=colour, alpha=0.2, lw=0)
        ax.plot(values, data.median(axis=1), color=colour, marker="o", lw=2, ls=ls,
                label=f"{label}: median, min-max over {data.shape[1]} seeds")
    # the most frequent answer over the seeds, written where it changes (and at the ends)
    for i, (v, c) in enumerate(zip(values, modal)):
        if i in (0, len(values) - 1) or c != modal.iloc[i - 1]:
            ax.annotate(c, (v, 1.0), textcoords="offset points", xytext=(0, 3), ha="center", va="bottom", fontsize=7)
    ax.axvline(1.0, color="0.4", ls=":", lw=1)
    # above the frame: inside it, any height can hold a curve, its band or a class name
    ax.text(1.0, 1.01, "realistic", transform=ax.get_xaxis_transform(), fontsize=8, color="0.3", ha="center", va="bottom")
    flipped = [v for v in (flips or {}).get("per_seed", {}).values() if v is not None]
    n_seeds = len((flips or {}).get("per_seed", {}))
    if flipped and 2 * len(flipped) >= n_seeds:
        ax.axvline(float(np.median(flipped)), color=WRONG_COLOUR, ls="--", lw=1,
                   label=f"true class stops being on top: median {float(np.median(flipped)):g} over the {len(flipped)} of {n_seeds} seeds that flip")
    ax.set_ylim(0, 1.12)  # room for the class names above 1
    ax.text(0.0, 1.01, "most frequent answer:", transform=ax.transAxes, fontsize=7, color="0.3", ha="left", va="bottom")
    ax.set_xlabel(f"{knob} relative to realistic")
    ax.set_ylabel("probability")
    ax.grid(alpha=0.3)
    # below the axes: the curves and their bands can be anywhere from 0 to 1
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    suptitle(fig, title, synthetic)
    return fig
