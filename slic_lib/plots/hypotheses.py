"""Notebook 07 (beyond the paper): class probabilities against a physical knob of a simulated AIA scene."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .style import TRUE_COLOUR, WRONG_COLOUR, show_image, suptitle

__all__ = ["plot_sweep"]


def plot_sweep(frame: pd.DataFrame, true_class: str, knob: str, images: Mapping[str, np.ndarray] | None = None,
               flip: float | None = None, synthetic: bool = True, title: str | None = None) -> Figure:
    """Probability of the true class and of the predicted class against a knob, spread over seeds.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per (value, seed): ``value``, ``seed``, ``p_<class>`` columns, ``predicted``.
    true_class : str
        The class a human gives the scene.
    knob : str
        Name of the swept knob (x-axis: its value relative to the realistic one).
    images : mapping, optional
        ``"value_<v>"`` -> image, shown above (one seed).
    flip : float, optional
        Median value where the true class stops being on top; marked by a dashed line.
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
        for j, (v, img) in enumerate(shown):
            ax_img = fig.add_subplot(gs[0, j])
            show_image(ax_img, np.sqrt(np.clip(img, 0, None)))
            ax_img.set_title(f"{knob} x {v:g}", fontsize=9)
        ax = fig.add_subplot(gs[1, :])
    else:
        ax = fig.add_subplot()
    values = np.sort(frame["value"].unique())
    p_true = frame.pivot(index="value", columns="seed", values=f"p_{true_class}").loc[values]
    top = frame.assign(p_top=frame.filter(like="p_").drop(columns=["p_true"], errors="ignore").max(axis=1))
    p_top = top.pivot(index="value", columns="seed", values="p_top").loc[values]
    modal = frame.groupby("value")["predicted"].agg(lambda s: s.value_counts().index[0]).loc[values]
    for data, colour, label, ls in ((p_top, WRONG_COLOUR, "p(predicted class)", "-"),
                                    (p_true, TRUE_COLOUR, f"p({true_class}), the true class", "--")):
        ax.fill_between(values, data.min(axis=1), data.max(axis=1), color=colour, alpha=0.2, lw=0)
        ax.plot(values, data.median(axis=1), color=colour, marker="o", lw=2, ls=ls,
                label=f"{label}: median, min-max over {data.shape[1]} seeds")
    for v, c, p in zip(values, modal, p_top.median(axis=1)):
        ax.annotate(c, (v, p), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7, rotation=30)
    ax.axvline(1.0, color="0.4", ls=":", lw=1)
    # above the frame: inside it, any height can hold a curve, its band or a class name
    ax.text(1.0, 1.01, "realistic", transform=ax.get_xaxis_transform(), fontsize=8, color="0.3", ha="center", va="bottom")
    if flip is not None:
        ax.axvline(flip, color=WRONG_COLOUR, ls="--", lw=1, label=f"true class no longer on top (median): {flip:g}")
    ax.set_ylim(0, 1.12)  # room for the class names above points at 1
    ax.set_xlabel(f"{knob} relative to realistic")
    ax.set_ylabel("probability")
    ax.grid(alpha=0.3)
    # below the axes: the curves and their bands can be anywhere from 0 to 1
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    suptitle(fig, title, synthetic)
    return fig
