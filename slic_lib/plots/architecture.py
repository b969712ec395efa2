"""Figures 1 and 2: the network and its classifier, drawn from a description of the model.

:func:`architecture_table` reads a model once (a forward pass of a zero image gives each
stage's output size) and returns a table that a CSV result file holds; :func:`plot_architecture`
draws from that table alone, so the figure can be redrawn without the model.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, Polygon, Rectangle
from torch import nn

from .style import (
    CLASSIFIER_COLOUR,
    FEATURE_COLOURS,
    OUTPUT_LAYER_COLOUR,
    POOL_COLOUR,
    RELU_DROPOUT_COLOUR,
    suptitle,
    wrap,
)

_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d)
ARCHITECTURE_COLUMNS = ("part", "name", "kind", "channels", "height", "width", "in_features", "out_features")


def architecture_table(model: nn.Module) -> pd.DataFrame:
    """What Figures 1 and 2 show of a model, one row per layer: a table a CSV file holds.

    The spatial sizes come from a forward pass of a zero image of the model's input size
    through ``model.stages()`` (eval mode, no gradients; the model's mode is restored), so
    they are right for any ``input_size`` and ``width``.

    Parameters
    ----------
    model : slic_lib.model.SlicNet
        Any module with ``stages()`` (named feature-extractor stages in order of application),
        ``classifier`` (a sequence of layers) and optionally ``config.input_size`` (default 64).

    Returns
    -------
    pandas.DataFrame
        Columns ``part``, ``name``, ``kind``, ``channels``, ``height``, ``width``,
        ``in_features``, ``out_features``. One ``part="input"`` row (the input image), one
        ``part="features"`` row per stage (``kind`` ``"conv"``, ``"pool"`` or ``"other"``; its
        output's channels, height and width), then ``part="classifier"`` rows: one per
        Linear layer (``kind="linear"``, ``in_features``, ``out_features``) and one per run
        of other layers between them (``kind="block"``, ``name`` e.g.
        ``"ReLU + Dropout p=0.5"``). Columns that do not apply are empty.
    """
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    size = int(getattr(getattr(model, "config", None), "input_size", 64))
    param = next(model.parameters(), None)
    x = torch.zeros(1, first_conv.in_channels, size, size,
                    device=param.device if param is not None else "cpu", dtype=param.dtype if param is not None else torch.float32)
    rows: list[dict[str, Any]] = [{"part": "input", "name": "input", "kind": "input", "channels": x.shape[1], "height": size, "width": size}]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for name, module in model.stages():
                x = module(x)
                kind = "pool" if isinstance(module, _POOLS) else "conv" if any(isinstance(m, nn.Conv2d) for m in module.modules()) else "other"
                rows.append({"part": "features", "name": name, "kind": kind, "channels": x.shape[1], "height": x.shape[2], "width": x.shape[3]})
    finally:
        model.train(was_training)
    for m in model.classifier:
        if isinstance(m, nn.Linear):
            rows.append({"part": "classifier", "name": "Linear", "kind": "linear", "in_features": m.in_features, "out_features": m.out_features})
            continue
        name = f"Dropout p={m.p:g}" if isinstance(m, nn.Dropout) else type(m).__name__
        if rows[-1]["part"] == "classifier" and rows[-1]["kind"] == "block":
            rows[-1]["name"] += f" + {name}"
        else:
            rows.append({"part": "classifier", "name": name, "kind": "block"})
    frame = pd.DataFrame(rows, columns=ARCHITECTURE_COLUMNS)
    return frame.astype({c: "Int64" for c in ARCHITECTURE_COLUMNS[3:]})


def _cuboid(ax: Axes, x: float, y: float, w: float, h: float, colour: Any, gid: str, depth: float = 0.18) -> None:
    """A box with a 3-D look: front rectangle (carrying ``gid``), top and side faces."""
    r, g, b = to_rgb(colour)
    light = (min(1, r * 0.6 + 0.4), min(1, g * 0.6 + 0.4), min(1, b * 0.6 + 0.4))
    dark = (r * 0.7, g * 0.7, b * 0.7)
    dx, dy = depth, depth * 0.8
    ax.add_patch(Polygon([(x, y + h), (x + dx, y + h + dy), (x + w + dx, y + h + dy), (x + w, y + h)], closed=True, fc=light, ec="k", lw=0.6))
    ax.add_patch(Polygon([(x + w, y), (x + w + dx, y + dy), (x + w + dx, y + h + dy), (x + w, y + h)], closed=True, fc=dark, ec="k", lw=0.6))
    ax.add_patch(Rectangle((x, y), w, h, fc=colour, ec="k", lw=0.8, gid=gid))


def _arrow(ax: Axes, x0: float, x1: float, y: float) -> None:
    ax.annotate("", xy=(x1, y), xytext=(x0, y), arrowprops=dict(arrowstyle="-|>", lw=0.9, color="0.3", shrinkA=0, shrinkB=0))


def _size_label(h: int, w: int) -> str:
    return f"{h}²" if h == w else f"{h}×{w}"


def _draw_feature_extractor(ax: Axes, table: pd.DataFrame, size0: int, n_classes: int) -> list[Patch]:
    counts = sorted(set(table.loc[table.kind == "conv", "channels"]))
    if len(counts) <= len(FEATURE_COLOURS):
        colour_of = dict(zip(counts, FEATURE_COLOURS))
    else:  # more distinct widths than the paper's four: a colour map, light to dark
        cmap = plt.get_cmap("viridis_r")
        colour_of = {c: cmap(0.15 + 0.7 * i / (len(counts) - 1)) for i, c in enumerate(counts)}

    def height(s: float) -> float:
        return 0.9 + 2.6 * np.log2(max(s, 1)) / max(np.log2(size0), 1)

    y_mid = 2.0
    h_in = height(size0)
    ax.add_patch(Rectangle((-0.3, y_mid - h_in / 2), 0.6, h_in, fc="white", ec="k", lw=0.8, hatch="///"))
    ax.text(0, y_mid - h_in / 2 - 0.25, f"input\n{_size_label(size0, size0)}", ha="center", va="top", fontsize=8)
    x_prev = 0.3
    name_y = y_mid - h_in / 2 - 0.85
    seen: set[str] = set()
    for i, row in enumerate(table.itertuples(index=False), start=1):
        xc = float(i)
        gid = f"stage:{i - 1}:{row.name}"
        if row.kind == "pool":
            ax.add_patch(Circle((xc, y_mid), 0.2, fc=POOL_COLOUR, ec="k", lw=0.8, gid=gid))
            left, right, bottom = xc - 0.2, xc + 0.2, y_mid - 0.2
        else:
            h = height(min(row.height, row.width))
            w = 0.28 + 0.1 * counts.index(row.channels) if row.kind == "conv" else 0.3
            _cuboid(ax, xc - w / 2, y_mid - h / 2, w, h, colour_of.get(row.channels, "white"), gid)
            left, right, bottom, top = xc - w / 2, xc + w / 2 + 0.18, y_mid - h / 2, y_mid + h / 2 + 0.15
            ax.text(xc, top + 0.08, str(row.channels), ha="center", va="bottom", fontsize=8, fontweight="bold")
            ax.text(xc, name_y, f"{row.name}\n(again)" if row.name in seen else row.name, ha="center", va="top", fontsize=7, color="0.35")
            seen.add(row.name)
        ax.text(xc, bottom - 0.1, _size_label(row.height, row.width), ha="center", va="top", fontsize=7.5, gid=f"size:{i - 1}")
        _arrow(ax, x_prev, left, y_mid)
        x_prev = right
    xc = len(table) + 1.3
    _cuboid(ax, xc - 0.35, y_mid - 0.9, 0.7, 1.8, CLASSIFIER_COLOUR, "classifier")
    ax.text(xc + 0.1, y_mid + 1.1, "classifier", ha="center", va="bottom", fontsize=8)
    _arrow(ax, x_prev, xc - 0.35, y_mid)
    ax.text(xc + 0.85, y_mid, f"{n_classes}\nclass\nprobabilities", ha="left", va="center", fontsize=8)
    _arrow(ax, xc + 0.5, xc + 0.8, y_mid)
    ax.set_xlim(-0.6, xc + 2.4)
    ax.set_ylim(name_y - 0.45, 4.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles = [Patch(fc=colour_of[c], ec="k", label=f"conv, {c} maps") for c in counts]
    return handles + [Patch(fc=POOL_COLOUR, ec="k", label="2×2 max-pool"), Patch(fc=CLASSIFIER_COLOUR, ec="k", label="classifier (below)")]


def _draw_classifier(ax: Axes, classifier: pd.DataFrame, in_desc: str) -> None:
    n_linear = int((classifier.kind == "linear").sum())
    ax.text(0, 1.0, f"features\n{in_desc}", ha="center", va="center", fontsize=8)
    x_prev, seen_linear = 0.75, 0
    for i, item in enumerate(classifier.itertuples(index=False), start=1):
        xc = 2.0 * i
        if item.kind == "linear":
            seen_linear += 1
            colour = OUTPUT_LAYER_COLOUR if seen_linear == n_linear else CLASSIFIER_COLOUR
            _cuboid(ax, xc - 0.25, 0.2, 0.5, 1.6, colour, f"linear:{seen_linear}", depth=0.15)
            ax.text(xc, 0.05, f"Linear\n{int(item.in_features):,} → {int(item.out_features):,}", ha="center", va="top", fontsize=8)
            left, right = xc - 0.25, xc + 0.4
        else:
            ax.add_patch(Rectangle((xc - 0.7, 0.6), 1.4, 0.8, fc=RELU_DROPOUT_COLOUR, ec="k", lw=0.8, gid=f"act:{i}"))
            ax.text(xc, 1.0, item.name.replace(" + ", "\n"), ha="center", va="center", fontsize=8)
            left, right = xc - 0.7, xc + 0.7
        _arrow(ax, x_prev, left, 1.0)
        x_prev = right
    ax.text(x_prev + 0.3, 1.0, "softmax\n(in the loss)", ha="left", va="center", fontsize=8)
    _arrow(ax, x_prev, x_prev + 0.28, 1.0)
    ax.set_xlim(-0.8, x_prev + 1.7)
    ax.set_ylim(-0.8, 2.2)
    ax.set_aspect("equal")
    ax.set_axis_off()


def plot_architecture(table: pd.DataFrame, synthetic: bool = False, title: str | None = None) -> Figure:
    """Figures 1 and 2: the network and its classifier, from :func:`architecture_table`.

    Top axes: one box per stage in order of application -- convolution blocks coloured by
    feature-map count (orange, green, yellow, blue from the fewest to the most maps, as the
    paper's 64/128/256/512), red circles for max-pools, annotated with the feature-map
    count above and the output's spatial size below, and the grey classifier. Bottom axes:
    the classifier with the unit counts of its Linear layers, the ReLU + Dropout blocks in
    pink and the output layer in gold.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`architecture_table`'s frame, or the same read back from its CSV file.
    synthetic : bool
        Mark the title "(simulated data)" (for a network trained on simulated data).
    title : str, optional
        Default: "Network architecture (input <size>²) and classifier".

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Each stage's patch has the gid ``"stage:<index>:<name>"`` and each size
        label ``"size:<index>"``, so tests and callers can find them.
    """
    missing = set(ARCHITECTURE_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"the architecture table lacks the columns {sorted(missing)}")
    size0 = int(table.loc[table.part == "input", "height"].iloc[0])
    stages = table[table.part == "features"].astype({"channels": int, "height": int, "width": int})
    classifier = table[table.part == "classifier"]
    linear = classifier[classifier.kind == "linear"]
    fig = plt.figure(figsize=(max(0.62 * (len(stages) + 4), 8.0), 6.4), layout="constrained")
    ax_top, ax_cls = fig.subplots(2, 1, height_ratios=(2.0, 1.0))
    handles = _draw_feature_extractor(ax_top, stages, size0, int(linear.out_features.iloc[-1]))
    legend_title = "conv = 3×3 convolution + batch normalisation + ReLU; numbers: feature maps (above), spatial size (below)"
    ax_top.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(handles), 4), fontsize=8, frameon=False,
                  title=wrap(legend_title, 0.9 * fig.get_figwidth(), 8), title_fontsize=8)
    last = stages.iloc[-1]
    in_desc = f"{last.channels}×{last.height}×{last.width}\n= {last.channels * last.height * last.width:,}"
    _draw_classifier(ax_cls, classifier, in_desc)
    suptitle(fig, title or f"Network architecture (input {size0}²) and classifier", synthetic)
    return fig
