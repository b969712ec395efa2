"""Gallery figures of simulated files, always titled as simulated."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["plot_gallery"]


def _title(header: fits.Header) -> str:
    cls = header.get("SLICCLAS", "?")
    if str(header.get("INSTRUME", "")).startswith("AIA"):
        return f"Simulated SDO/AIA {header.get('WAVELNTH')} \u00c5: {cls}"
    return f"Simulated Hinode/SOT H-alpha: {cls}"


def _collect(source) -> list[Path]:
    if isinstance(source, (str, Path)):
        source = Path(source)
        return sorted(source.rglob("*.fits")) if source.is_dir() else [source]
    return [Path(p) for p in source]


def plot_gallery(outdir_or_paths, n_per_class: int = 4, stride: int = 1, cmap: str = "gray", panel: float = 2.6):
    """Grid of examples: one row per class (SOT) or per AIA wavelength/class, titled "Simulated ...".

    Parameters
    ----------
    outdir_or_paths : str, Path or iterable of paths
        A folder searched recursively for ``*.fits`` (e.g. the output of ``generate``), one file,
        or a list of files.
    n_per_class : int
        Columns: examples per row.
    stride : int
        Take every ``stride``-th file of a row (skip near-identical frames of one run).
    cmap : str
        Matplotlib colour map.
    panel : float
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rows: dict[str, list[tuple[np.ndarray, fits.Header]]] = defaultdict(list)
    for path in _collect(outdir_or_paths):
        header = fits.getheader(path)
        key = _title(header)
        if len(rows[key]) >= n_per_class * stride:
            continue
        rows[key].append((fits.getdata(path).astype(np.float32), header))
    if not rows:
        raise ValueError("no FITS files to show")
    keys = sorted(rows)
    ncols = n_per_class
    fig, axes = plt.subplots(len(keys), ncols, figsize=(panel * ncols, panel * len(keys) + 0.4), squeeze=False)
    for r, key in enumerate(keys):
        items = rows[key][::stride][:ncols]
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_axis_off()
            if c >= len(items):
                continue
            data, header = items[c]
            lo, hi = np.percentile(data, [0.5, 99.7])
            ax.imshow(data, cmap=cmap, origin="lower", vmin=lo, vmax=hi, interpolation="nearest")
            fov = data.shape[1] * float(header.get("CDELT1", 0))
            ax.set_title(f"{key}\n{header.get('DATE_OBS', header.get('DATE-OBS', ''))[:19]}  field {fov:.0f}\"", fontsize=7)
    fig.suptitle("Simulated data (slic_lib.synthetic) \u2014 not real observations", fontsize=10)
    fig.tight_layout()
    return fig
