"""Drawing for the demos: PNG bytes for an ``ipywidgets.Image``, made without pyplot.

Figures are :class:`matplotlib.figure.Figure` objects drawn by the Agg canvas and never
registered with pyplot, so a demo that redraws on every slider move leaks no figures and
needs no backend. An image is drawn by sunpy (``Map.plot``: the instrument's colour map and
normalisation, helioprojective WCS axes); a saliency map is laid over it in pixel
coordinates.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from sunpy.util.exceptions import SunpyMetadataWarning, SunpyUserWarning

from ..plots.style import SIMULATED, TRUE_COLOUR, wrap

DPI = 90
OVERLAY_CMAP = colormaps["viridis"]
"""Colour map of saliency overlays (it stands out on sunpy's warm solar colour maps); opacity grows with the saliency."""


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg, :data:`DPI`), lightly compressed: zlib's default level took a third of an update."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


@contextlib.contextmanager
def quiet_metadata() -> Iterator[None]:
    """Silence sunpy's warnings about incomplete headers (common in real and uploaded files) inside the block.

    A student's image with no observer keywords is still drawn (sunpy assumes an Earth-based
    observer); the warning is not theirs to act on, as in :func:`slic_lib.preprocess.load_map`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SunpyMetadataWarning)
        warnings.simplefilter("ignore", SunpyUserWarning)
        yield


def is_simulated(smap) -> bool:
    """True for a map made by :mod:`slic_lib.synthetic` (its header says ``SYNTHET = T``)."""
    return bool(smap.meta.get("synthet", False))


def draw_map(smap, title: str | None = None, overlay: np.ndarray | None = None, overlay_label: str = "",
             size: float = 4.4, limits: tuple[float, float] | None = None) -> bytes:
    """A sunpy Map drawn with its colour map and coordinates, optionally under a saliency overlay.

    Parameters
    ----------
    smap : sunpy.map.GenericMap
        The image (simulated maps get "(simulated data)" in the title).
    title : str, optional
        Title (default: the map's own, sunpy's ``latex_name``).
    overlay : numpy.ndarray, optional
        Saliency in 0..1 on any square grid; stretched over the whole image, as the
        preprocessing stretches the image to the network's input.
    overlay_label : str
        Colour-bar label of the overlay.
    size : float
        Figure width in inches.
    limits : (float, float), optional
        The data values at the two ends of the colour map (the instrument's own stretch between
        them), with a colour bar in the map's unit: several images drawn alike compare by eye.
        Default: each map's own range (sunpy's), without a colour bar.
    """
    with quiet_metadata():
        return _draw_map(smap, title, overlay, overlay_label, size, limits)


def _draw_map(smap, title: str | None, overlay: np.ndarray | None, overlay_label: str, size: float,
              limits: tuple[float, float] | None = None) -> bytes:
    fig = Figure(figsize=(size, size * 0.92))
    ax = fig.add_subplot(projection=smap)
    text = title or str(getattr(smap, "latex_name", smap.name))
    if is_simulated(smap):
        text = f"{text} {SIMULATED}"
    norm = None
    if limits is not None:
        norm = copy.deepcopy(smap.plot_settings["norm"])
        norm.vmin, norm.vmax = limits
    shown = smap.plot(axes=ax, title=wrap(text, size * 0.8, 9), **({"norm": norm} if norm is not None else {}))
    if limits is not None and overlay is None:
        bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02, extend="max")
        bar.set_label(smap.unit.to_string("unicode") if smap.unit is not None else "data value", size=8)
        bar.ax.tick_params(labelsize=7)
    ax.title.set_fontsize(9)
    for coord in ax.coords:
        coord.set_ticklabel(size=7)
        coord.set_axislabel(coord.get_axislabel() or "", size=8)
    if overlay is not None:
        ny, nx = smap.data.shape
        sal = np.clip(np.asarray(overlay, dtype=np.float64), 0.0, 1.0)
        rgba = OVERLAY_CMAP(sal)
        rgba[..., 3] = 0.75 * sal  # transparent where the network does not look
        ax.imshow(rgba, origin="lower", extent=(-0.5, nx - 0.5, -0.5, ny - 0.5), interpolation="bilinear")
        bar = fig.colorbar(ScalarMappable(Normalize(0, 1), OVERLAY_CMAP), ax=ax, fraction=0.046, pad=0.02)
        bar.set_label(overlay_label, size=8)
        bar.ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.2, right=0.95 if overlay is None and limits is None else 0.86, bottom=0.12, top=0.86)
    return to_png(fig)


def draw_curve(x: Sequence[float], y: Sequence[float], current: float, xlabel: str, ylabel: str, title: str,
               current_y: float | None = None, marks: dict[str, float] | None = None, size: tuple[float, float] = (4.2, 2.4), synthetic: bool = True) -> bytes:
    """A small line plot of a probability against a slider's value, with the slider's position marked.

    Parameters
    ----------
    x, y
        The curve (y in 0..1).
    current, current_y
        The slider's value, drawn as a vertical line, and the probability there (default:
        the curve interpolated), drawn as a dot.
    marks
        Labelled reference values drawn as dashed vertical lines (e.g. ``{"SOT -> AIA": 3.64}``).
    synthetic
        Append "(simulated data)" to the title.
    """
    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    ax.plot(x, y, "-o", color=TRUE_COLOUR, ms=3, lw=1.5)
    ax.axvline(current, color="k", lw=1)
    ax.plot([current], [np.interp(current, x, y) if current_y is None else current_y], "o", color="k", ms=6)
    for label, value in (marks or {}).items():
        ax.axvline(value, color="0.4", ls="--", lw=1)
        ax.text(value, 1.02, label, rotation=0, ha="center", va="bottom", fontsize=7, color="0.3", transform=ax.get_xaxis_transform())
    ax.axhline(0.5, color="0.8", lw=0.8, zorder=0)
    ax.set_ylim(0, 1)
    ax.set_xlim(min(x), max(x))
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(wrap(f"{title} {SIMULATED}" if synthetic else title, size[0] * 0.9, 8), fontsize=8, pad=14)
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.2, top=0.72)
    return to_png(fig)


def draw_input(image: np.ndarray, title: str, size: float = 1.9) -> bytes:
    """A preprocessed network input (standardised, ``S x S``) in grey, row 0 at the bottom as in the map."""
    fig = Figure(figsize=(size, size * 1.12))
    ax = fig.add_axes((0.04, 0.02, 0.92, 0.78))
    ax.imshow(image, origin="lower", cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(wrap(title, size * 0.95, 8), fontsize=8)
    return to_png(fig)
