"""Simulated AIA scenes beside the real AIA images that ship with sunpy and sunkit-image (notebook 05)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .style import show_image, suptitle

__all__ = ["plot_realism"]

_MM_PER_ARCSEC = 0.7257  # at 1 au


def plot_realism(arrays: Mapping[str, np.ndarray], stats: Mapping) -> Figure:
    """Real (171 A) and simulated (304, 1600 A) AIA images, radial profiles and disc histograms.

    Parameters
    ----------
    arrays : mapping
        ``aia_realism`` arrays: ``real_<name>_image/_hist/_profile``, ``sim_<kind>_image/_hist/_profile``,
        ``height_bins``.
    stats : mapping
        ``aia_realism`` JSON: fitted scale heights, ``not_compared`` channels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = [k for k in arrays if k.endswith("_image")]
    fig = plt.figure(figsize=(3 * max(len(images), 3), 8), layout="constrained")
    gs = fig.add_gridspec(2, max(len(images), 2))
    for j, key in enumerate(images):
        ax = fig.add_subplot(gs[0, j])
        show_image(ax, np.sqrt(np.clip(arrays[key], 0, None)))
        label = key.removesuffix("_image").replace("real_", "REAL ").replace("sim_", "SIMULATED ")
        ax.set_title(label, fontsize=9)
    half = max(len(images), 2) // 2
    ax_p, ax_h = fig.add_subplot(gs[1, :half]), fig.add_subplot(gs[1, half:])
    bins = arrays["height_bins"]
    h_mm = 0.5 * (bins[1:] + bins[:-1]) * _MM_PER_ARCSEC
    fits = {**{f"real_{k}": v for k, v in stats["real"].items()}, **{f"sim_{k}": v for k, v in stats["simulated"].items()}}
    for key in (k for k in arrays if k.endswith("_profile")):
        name = key.removesuffix("_profile")
        h_i = fits.get(name, {}).get("intensity_scale_height_arcsec")
        extra = f", e-folding {h_i * _MM_PER_ARCSEC:.0f} Mm" if h_i else ""
        ax_p.semilogy(h_mm, arrays[key], marker=".", label=f"{name}{extra}")
    ax_p.axvline(0, color="0.5", lw=0.8)
    ax_p.set_xlim(-60, 300)
    ax_p.set_xlabel("height above the limb (Mm)")
    ax_p.set_ylabel("median intensity / disc median")
    ax_p.legend(fontsize=7)
    ax_p.grid(alpha=0.3)
    centres = np.linspace(0.05, 4.95, 50)
    for key in (k for k in arrays if k.endswith("_hist")):
        density = np.asarray(arrays[key], dtype=float)
        ax_h.semilogy(centres, np.where(density > 0, density, np.nan), label=key.removesuffix("_hist"))  # empty bins: no line
    ax_h.set_xlabel("intensity / disc median (disc pixels; last bin: all > 4.9)")
    ax_h.set_ylabel("density")
    ax_h.legend(fontsize=7)
    ax_h.grid(alpha=0.3)
    missing = ", ".join(f"{w:g}" for w in stats["not_compared"]) or "none"
    suptitle(fig, f"Simulated AIA beside the real AIA that ships (171 Å only; none for {missing} Å)", True)
    return fig
