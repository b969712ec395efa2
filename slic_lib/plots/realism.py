"""Beyond the paper: simulated H-alpha crops beside real BBSO crops, with histograms and spectra.

Draws from :func:`slic_lib.realism.figure_panels`' arrays (stored as an ``.npz`` result file),
never from the images' source: the statistics are computed once, in :mod:`slic_lib.realism`.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .style import suptitle

_COLOURS = {"simulated": "C1", "real": "C0"}


def _n_shown(panels: Mapping[str, np.ndarray]) -> int:
    n = 0
    while f"simulated_image_{n}" in panels and f"real_image_{n}" in panels:
        n += 1
    return n


def plot_side_by_side(panels: Mapping[str, np.ndarray], what: str = "H-alpha", real_label: str = "real", synthetic: bool = False) -> Figure:
    """Simulated crops over real crops, with their intensity histograms and median power spectra.

    Parameters
    ----------
    panels : mapping of str to ndarray
        :func:`slic_lib.realism.figure_panels`' arrays (or the same read back from ``.npz``).
    what : str
        What is compared (e.g. "Filaments: simulated SOT H-alpha vs real BBSO H-alpha"), the
        title's first line; its second line says which row is which.
    real_label : str
        Name of the real data set (e.g. "BBSO") for the row titles and legends.
    synthetic : bool
        Add "(simulated data)" to the title; the title already says which row is simulated,
        so this is for a caller that marks every figure the same way.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn in two subfigures: ``2 max(n, 4)`` image axes (simulated on top, real in the
        middle; the unused ones hidden) and two curve axes below.
    """
    n = _n_shown(panels)
    if n == 0:
        raise ValueError("panels hold no simulated_image_0 / real_image_0 pair: not figure_panels' output?")
    ncols = max(n, 4)
    fig = plt.figure(figsize=(2.4 * ncols, 8.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(2.0, 1.1))
    n_sim, n_real = (int(v) for v in panels["n_images"])
    image_axes = top.subplots(2, ncols, squeeze=False)
    for row, (key, name) in enumerate((("simulated", "simulated"), ("real", real_label))):
        for i, ax in enumerate(image_axes[row]):
            ax.set_axis_off()
            if i < n:
                ax.imshow(panels[f"{key}_image_{i}"], cmap="gray", vmin=0.6, vmax=1.4, origin="upper")
                ax.set_title(f"{name} {i + 1}", fontsize=9)
    hist_ax, spec_ax = bottom.subplots(1, 2)
    for key, name, count in (("simulated", "simulated", n_sim), ("real", real_label, n_real)):
        hist_ax.plot(panels["hist_centres"], panels[f"hist_{key}"], color=_COLOURS[key], label=f"{name} (n={count})")
        spec_ax.loglog(panels[f"spectrum_k_{key}"], panels[f"spectrum_{key}"], color=_COLOURS[key], label=f"{name} (n={count})")
    hist_ax.set_xlim(*panels["hist_limits"])
    hist_ax.set(xlabel="intensity / image median", ylabel="probability density", title="pooled intensity histograms")
    spec_ax.axvspan(*panels["k_range"], color="0.9", label="slope band")
    spec_ax.set(xlabel="k (cycles / arcsec)", ylabel="normalised power", title="median power spectra")
    hist_ax.legend(fontsize=8)
    spec_ax.legend(fontsize=8)
    suptitle(fig, f"{what}\ntop row: simulated, middle row: {real_label}; curves: all images", synthetic)
    return fig
