"""Section 4.2.1 and Figure 5: does resolution matter?

Figure 5 puts a Hinode/SOT H-alpha image at full resolution, the same image degraded to
AIA's, and the co-temporal AIA 1600 Å image side by side with the class probabilities of
each; the degradation curve (beyond the paper) gives accuracy against the degradation factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..degrade import SOT_RESOLUTION, equivalent_factor
from .style import image_grid, suptitle

TRIPLET_TITLES = ("Hinode/SOT Hα, full resolution", "SOT Hα degraded to AIA resolution", "SDO/AIA 1600 Å, co-temporal")
"""Figure 5's column titles, left to right."""


def plot_resolution_triplet(
    sot_full: np.ndarray,
    sot_degraded: np.ndarray,
    aia: np.ndarray,
    probs_triplet: Sequence[np.ndarray],
    class_names: Sequence[str],
    titles: Sequence[str] = TRIPLET_TITLES,
    synthetic: bool = False,
    expected: str | None = "sunspots",
    title: str | None = "Does resolution matter? SOT at full and AIA resolution vs AIA",
) -> Figure:
    """Figure 5: SOT H-alpha at full resolution, degraded to AIA resolution, and AIA.

    Parameters
    ----------
    sot_full, sot_degraded, aia : 2-D arrays
        The three images, in the columns' order.
    probs_triplet : sequence of three arrays of shape (n_classes,)
        Their class probabilities, in the same order.
    class_names : sequence of str
        Class names in the probabilities' order.
    titles : sequence of three str
        Column titles, wrapped to the column's width; a second line gives the image's size
        and the predicted class.
    synthetic : bool
        Mark the title "(simulated data)".
    expected : str or None
        The class a human would give all three; its bar is green, a wrong prediction's red.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Six axes: the images on top, their probabilities below.
    """
    images = [sot_full, sot_degraded, aia]
    titles = list(titles)
    if len(titles) != 3 or len(probs_triplet) != 3:
        raise ValueError("plot_resolution_triplet needs three titles and three probability vectors")
    probs = np.asarray(probs_triplet, dtype=float)
    true = list(class_names).index(expected) if expected is not None else None
    column_titles = [
        f"{t}\n{np.shape(img)[0]}×{np.shape(img)[1]} px, predicted: {class_names[int(np.argmax(p))]}" for t, img, p in zip(titles, images, probs)
    ]
    return image_grid(images, probs, [true] * 3, class_names, column_titles, title, synthetic, true_label=False, column_width=3.0)


def plot_degradation_curve(
    curve: pd.DataFrame,
    synthetic: bool = False,
    sot_to_aia: float | None = None,
    source_resolution: float = SOT_RESOLUTION,
    title: str | None = "Accuracy against resolution degradation",
    psf_only: pd.DataFrame | None = None,
) -> Figure:
    """Accuracy (and per-class recall) against the degradation factor, SOT -> AIA marked.

    Parameters
    ----------
    curve : pandas.DataFrame
        One row per factor: ``factor``, ``accuracy``, ``n`` and optional ``recall_<class>``
        columns (the stored degradation curve).
    synthetic : bool
        Mark the title "(simulated data)".
    sot_to_aia : float, optional
        Factor to mark; default :func:`slic_lib.degrade.equivalent_factor` (1.2"/0.33").
    source_resolution : float
        Resolution at factor 1 in arcsec (SOT's 0.33"), for the top axis.
    title : str, optional
        Figure title.
    psf_only : pandas.DataFrame, optional
        The same images blurred by the PSF but not resampled (``factor``, ``accuracy``), drawn
        dashed: where the two differ, resampling rather than resolution made the difference.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (with a secondary x axis in arcsec).
    """
    sot_to_aia = equivalent_factor() if sot_to_aia is None else sot_to_aia
    curve = curve.sort_values("factor")
    factors = curve.factor.to_numpy(float)
    fig, ax = plt.subplots(figsize=(9.0, 4.8), layout="constrained")
    recall_cols = [c for c in curve.columns if c.startswith("recall_")]
    for c in recall_cols:
        ax.plot(factors, 100 * curve[c], marker=".", lw=1, alpha=0.75, label=f"recall: {c[len('recall_'):]}")
    ax.plot(factors, 100 * curve.accuracy, marker="o", color="k", lw=2.2, label="accuracy")
    if psf_only is not None:
        p = psf_only.sort_values("factor")
        ax.plot(p.factor, 100 * p.accuracy, marker="s", ms=4, color="k", ls="--", lw=1.4, label="accuracy, PSF only\n(no resampling)")
    # the axis starts below the lowest value drawn (to 0 when anything is near chance): from 0, curves
    # between 97 and 100 % lay on top of each other
    drawn = [100 * curve[c].to_numpy(float) for c in [*recall_cols, "accuracy"]]
    if psf_only is not None:
        drawn.append(100 * psf_only.accuracy.to_numpy(float))
    lowest = float(np.nanmin(np.concatenate(drawn))) if drawn else 0.0
    bottom = 0.0 if lowest < 50 else 5 * np.floor((lowest - 3) / 5)
    if recall_cols and bottom == 0:
        chance = 100 / len(recall_cols)
        ax.axhline(chance, color="0.5", ls=":", lw=1)
        ax.text(factors[0], chance + 1.5, "chance", color="0.4", fontsize=8)
    ax.axvline(sot_to_aia, color="0.35", ls="-.", lw=1.2)
    ax.text(sot_to_aia * 1.03, bottom + 0.03 * (101 - bottom), f"SOT → AIA\n({sot_to_aia:.2f}×)", color="0.35", fontsize=9, va="bottom")
    ax.set_xscale("log")
    ticks = _spaced(factors)
    ax.set_xticks(ticks, [f"{f:g}" for f in ticks])
    ax.minorticks_off()
    ax.set_xlabel("degradation factor f (PSF FWHM and pixel size × f)")
    ax.set_ylabel("accuracy, recall (%)")
    ax.set_ylim(bottom, 100 + 0.05 * (100 - bottom))
    ax.grid(alpha=0.3)
    top = ax.secondary_xaxis("top", functions=(lambda f: f * source_resolution, lambda r: r / source_resolution))
    top.set_xticks(ticks * source_resolution, [f"{f * source_resolution:.2g}" for f in ticks])
    top.minorticks_off()
    top.set_xlabel("resolution (arcsec FWHM)")
    n = int(curve.n.iloc[0]) if "n" in curve else None
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, title=f"{n} images" if n else None, title_fontsize=8)
    suptitle(fig, title, synthetic)
    return fig


def _spaced(factors: np.ndarray, min_ratio: float = 1.15) -> np.ndarray:
    """The factors to label on a log axis: each at least ``min_ratio`` times the last labelled.

    Integer factors win over a close non-integer one (4 over 3.64), so labels never collide.
    """
    kept: list[float] = []
    for f in sorted(factors, key=lambda f: (f != round(f), f)):
        if all(max(f, k) / min(f, k) >= min_ratio for k in kept):
            kept.append(f)
    return np.array(sorted(kept))
