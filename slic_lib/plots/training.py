"""Section 4.1: the learning-rate sweep, validation accuracy and training loss per epoch.

The selected learning rate and epoch are the training code's decision
(:func:`slic_lib.sweep.sweep`); the figure marks what it is given and never re-selects.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .style import sci, suptitle

SWEEP_COLUMNS = ("lr", "epoch", "val_accuracy", "train_loss")


def plot_lr_sweep(
    history: pd.DataFrame,
    selected: tuple[float, int],
    synthetic: bool = False,
    title: str | None = "Learning-rate sweep",
) -> Figure:
    """Validation accuracy (left) and training loss (right) per epoch for each learning rate.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``lr``, ``epoch``, ``val_accuracy`` (fraction 0..1) and ``train_loss``, one row
        per rate and epoch (e.g. the sweep's ``lr_sweep.csv``).
    selected : (float, int)
        The selected learning rate and epoch, as the sweep chose them; marked with a star.
    synthetic : bool
        Mark the title "(simulated data)".
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes; the left one has one line per rate and the star.

    Raises
    ------
    ValueError
        When a column is missing or ``selected`` is not a row of ``history``.
    """
    missing = set(SWEEP_COLUMNS) - set(history.columns)
    if missing:
        raise ValueError(f"history lacks the columns {sorted(missing)}")
    lr_sel, ep_sel = float(selected[0]), int(selected[1])
    sel = history[np.isclose(history.lr, lr_sel) & (history.epoch == ep_sel)]
    if sel.empty:
        raise ValueError(f"the selected learning rate {lr_sel:g} and epoch {ep_sel} are not in the history")
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    for lr, run in sorted(history.groupby("lr"), key=lambda kv: -kv[0]):
        run = run.sort_values("epoch")
        (line,) = ax_acc.plot(run.epoch, 100 * run.val_accuracy, marker="o", ms=3, label=f"η = {sci(lr)}")
        ax_loss.plot(run.epoch, run.train_loss, marker="o", ms=3, color=line.get_color(), label=f"η = {sci(lr)}")
    acc = 100 * float(sel.val_accuracy.iloc[0])
    ax_acc.plot([ep_sel], [acc], marker="*", ms=16, color="k", ls="none", zorder=5,
                label=f"selected: η = {sci(lr_sel)}, epoch {ep_sel}\n({acc:.2f} %; ties: lowest validation loss)")
    for a in (ax_acc, ax_loss):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy (%)")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    ax_loss.set_ylabel("training loss (cross entropy)")
    if (history.train_loss > 0).all():
        ax_loss.set_yscale("log")
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(fontsize=8)
    suptitle(fig, title, synthetic)
    return fig
