"""The paper's figures and tables (Armstrong & Fletcher 2019, Figures 1-9 and Table 1).

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` made with
``matplotlib.pyplot`` (so notebooks show it inline; close it with ``plt.close(fig)`` in loops)
and takes ``synthetic``: when true the suptitle ends in "(simulated data)", as every figure
made from the simulator must say. The backend is the caller's choice (``matplotlib.use`` is
never called here). :func:`save_figure` writes PNG (150 dpi) and PDF.

=========================  ==================================================================
Paper                      Function
=========================  ==================================================================
Figures 1 and 2            :func:`plot_architecture` (drawn from the model object)
Section 4.1 (sweep)        :func:`plot_lr_sweep`
Table 1                    :func:`plot_confusion`, :func:`confusion_table_markdown`
Precision / recall         :func:`metrics_table`, :func:`metrics_table_markdown`
Figure 3                   :func:`plot_examples`
Figure 7                   :func:`plot_misclassified`
Figure 5                   :func:`plot_resolution_triplet`
Resolution study           :func:`plot_degradation_curve`
Figures 4, 6, 8 and 9      :func:`plot_sequence`
Section 4.1 (timing)       :func:`plot_inference_times`
=========================  ==================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, Polygon, Rectangle
from matplotlib.ticker import MaxNLocator

SIMULATED = "(simulated data)"

#: Colours of Figure 1: conv blocks by feature-map count (64, 128, 256, 512), pools, classifier.
FEATURE_COLOURS = ("#f28e2b", "#59a14f", "#edc948", "#4e79a7")
POOL_COLOUR = "#e15759"
CLASSIFIER_COLOUR = "#a0a0a0"
RELU_DROPOUT_COLOUR = "#f4b6d2"
OUTPUT_LAYER_COLOUR = "#d4af37"
TRUE_COLOUR = "#2ca02c"
WRONG_COLOUR = "#d62728"
OTHER_COLOUR = "#b0b0b0"

#: Section 4.1: validating 1318 images took 4.66 s on a Titan Xp GPU and 895 s on an i7-8700 CPU.
PAPER_TIMINGS = (
    {"label": "paper: GPU\n(Titan Xp)", "seconds": 4.66, "n_images": 1318},
    {"label": "paper: CPU\n(i7-8700)", "seconds": 895.0, "n_images": 1318},
)
PAPER_N_VALIDATION = 1318


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _suptitle(fig: Figure, title: str | None, synthetic: bool) -> None:
    text = " ".join(t for t in (title, SIMULATED if synthetic else None) if t)
    if text:
        fig.suptitle(text, fontsize=12)


def save_figure(fig: Figure, path_without_ext: str | os.PathLike, dpi: int = 150, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``<path>.png`` (at ``dpi``) and ``<path>.pdf``; return the paths.

    The parent folder is created; the suffixes are appended, so names may contain dots.
    """
    base = Path(path_without_ext)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        fig.savefig(path, dpi=dpi, format=fmt)
        paths.append(path)
    return paths


def _message_figure(message: str, title: str | None, synthetic: bool) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, transform=ax.transAxes)
    ax.set_axis_off()
    _suptitle(fig, title, synthetic)
    return fig


def _sci(x: float) -> str:
    """``5e-4`` -> ``$5\\times10^{-4}$`` for legends."""
    mant, exp = f"{x:.0e}".split("e")
    exp = int(exp)
    if exp == 0:
        return f"{x:g}"
    return f"${mant}\\times10^{{{exp}}}$" if mant != "1" else f"$10^{{{exp}}}$"


def _show_image(ax, image: np.ndarray) -> None:
    img = np.asarray(image, dtype=float)
    finite = img[np.isfinite(img)]
    lo, hi = (np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0))
    ax.imshow(img, cmap="gray", origin="lower", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _prob_bars(ax, probs: np.ndarray, class_names: Sequence[str], true: int | None, pred: int, show_names: bool) -> None:
    colours = [OTHER_COLOUR] * len(class_names)
    if pred != true:
        colours[pred] = WRONG_COLOUR
    if true is not None:
        colours[true] = TRUE_COLOUR
    y = np.arange(len(class_names))
    ax.barh(y, probs, color=colours, height=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(class_names) - 0.5, -0.5)
    ax.set_yticks(y, class_names if show_names else [""] * len(class_names))
    ax.set_xlabel("probability")
    ax.grid(axis="x", alpha=0.3)
    for yi, p in zip(y, probs):
        inside = p > 0.75
        ax.text(p - 0.02 if inside else p + 0.02, yi, f"{p:.2f}", va="center", ha="right" if inside else "left", fontsize=8, color="white" if inside else "black")


def _bar_legend(fig: Figure, with_true: bool = True) -> None:
    handles = [Patch(color=TRUE_COLOUR, label="true class")] if with_true else [Patch(color=TRUE_COLOUR, label="expected class")]
    handles.append(Patch(color=WRONG_COLOUR, label="predicted (wrong)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=9)


def _image_grid(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    trues: Sequence[int | None],
    class_names: Sequence[str],
    column_titles: Sequence[str],
    title: str | None,
    synthetic: bool,
    true_label: bool = True,
    max_cols: int = 5,
) -> Figure:
    """Images on top, probability bars below, one column per example (Figures 3, 5, 7).

    More than ``max_cols`` examples wrap onto further rows; the figure has ``2 * k`` axes.
    """
    k = len(images)
    nrows = -(-k // max_cols)
    ncols = -(-k // nrows)  # balanced rows: 6 -> 2 x 3, 8 -> 2 x 4
    fig = plt.figure(figsize=(max(2.5 * ncols, 6.0), 5.0 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(2 * nrows, ncols, squeeze=False, height_ratios=(1.3, 1) * nrows)
    probs = np.asarray(probs, dtype=float)
    for j in range(nrows * ncols):
        r, c = divmod(j, ncols)
        ax_img, ax_bar = axes[2 * r, c], axes[2 * r + 1, c]
        if j >= k:
            ax_img.remove()
            ax_bar.remove()
            continue
        pred = int(np.argmax(probs[j]))
        true = trues[j]
        _show_image(ax_img, images[j])
        ax_img.set_title(column_titles[j], fontsize=9, color="black" if true is None or true == pred else WRONG_COLOUR)
        _prob_bars(ax_bar, probs[j], class_names, true, pred, show_names=c == 0)
    _bar_legend(fig, with_true=true_label)
    _suptitle(fig, title, synthetic)
    return fig


def _true_pred_title(class_names: Sequence[str], true: int, pred: int) -> str:
    return f"true: {class_names[true]} /\npredicted: {class_names[pred]}"


# --------------------------------------------------------------------------------------------
# Figures 1 and 2: the architecture, from the model object
# --------------------------------------------------------------------------------------------


def architecture_table(model: Any):
    """One row per stage of ``model.stages()`` with its output feature maps and spatial size.

    The sizes come from a forward pass of a zero image of the model's input size through the
    stages (eval mode, no gradients), so they are right for any ``input_size`` and ``width``.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``kind`` (``"conv"``, ``"pool"`` or ``"other"``), ``channels``,
        ``height``, ``width``.
    """
    import pandas as pd
    import torch
    from torch import nn

    stages = model.stages()
    cfg = getattr(model, "config", None)
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    size = getattr(cfg, "input_size", 64)
    try:
        param = next(model.parameters())
        device, dtype = param.device, param.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.float32
    x = torch.zeros(1, first_conv.in_channels, size, size, device=device, dtype=dtype)
    was_training = model.training
    model.eval()
    rows = [{"name": "input", "kind": "input", "channels": x.shape[1], "height": size, "width": size}]
    try:
        with torch.no_grad():
            for name, module in stages:
                x = module(x)
                if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d)):
                    kind = "pool"
                elif any(isinstance(m, nn.Conv2d) for m in module.modules()):
                    kind = "conv"
                else:
                    kind = "other"
                rows.append({"name": name, "kind": kind, "channels": int(x.shape[1]), "height": int(x.shape[2]), "width": int(x.shape[3])})
    finally:
        model.train(was_training)
    return pd.DataFrame(rows[1:]).assign(input_height=size)


def _cuboid(ax, x: float, y: float, w: float, h: float, colour: str, gid: str, depth: float = 0.18) -> None:
    """A box with a 3-D look: front rectangle (carrying ``gid``), top and side faces."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    light = (min(1, r * 0.6 + 0.4), min(1, g * 0.6 + 0.4), min(1, b * 0.6 + 0.4))
    dark = (r * 0.7, g * 0.7, b * 0.7)
    dx, dy = depth, depth * 0.8
    ax.add_patch(Polygon([(x, y + h), (x + dx, y + h + dy), (x + w + dx, y + h + dy), (x + w, y + h)], closed=True, fc=light, ec="k", lw=0.6))
    ax.add_patch(Polygon([(x + w, y), (x + w + dx, y + dy), (x + w + dx, y + h + dy), (x + w, y + h)], closed=True, fc=dark, ec="k", lw=0.6))
    ax.add_patch(Rectangle((x, y), w, h, fc=colour, ec="k", lw=0.8, gid=gid))


def _arrow(ax, x0: float, x1: float, y: float) -> None:
    ax.annotate("", xy=(x1, y), xytext=(x0, y), arrowprops=dict(arrowstyle="-|>", lw=0.9, color="0.3", shrinkA=0, shrinkB=0))


def _size_label(h: int, w: int) -> str:
    return f"{h}²" if h == w else f"{h}×{w}"


def _draw_feature_extractor(ax, table, n_classes: int) -> list[Patch]:
    counts = sorted(set(table.loc[table.kind == "conv", "channels"]))
    if len(counts) <= len(FEATURE_COLOURS):
        colour_of = dict(zip(counts, FEATURE_COLOURS))
    else:  # more distinct widths than the paper's four: a colour map, light to dark
        cmap = plt.get_cmap("viridis_r")
        colour_of = {c: cmap(0.15 + 0.7 * i / (len(counts) - 1)) for i, c in enumerate(counts)}
    size0 = float(table.input_height.iloc[0])
    height = lambda s: 0.9 + 2.6 * np.log2(max(s, 1)) / max(np.log2(size0), 1)  # noqa: E731
    y_mid = 2.0
    # input image
    h_in = height(size0)
    ax.add_patch(Rectangle((-0.3, y_mid - h_in / 2), 0.6, h_in, fc="white", ec="k", lw=0.8, hatch="///"))
    ax.text(0, y_mid - h_in / 2 - 0.25, f"input\n{_size_label(int(size0), int(size0))}", ha="center", va="top", fontsize=8)
    x_prev = 0.3
    name_y = y_mid - h_in / 2 - 0.85
    seen: set[str] = set()
    for i, row in enumerate(table.itertuples(index=False), start=1):
        xc = float(i)
        gid = f"stage:{i - 1}:{row.name}"
        if row.kind == "pool":
            ax.add_patch(Circle((xc, y_mid), 0.2, fc=POOL_COLOUR, ec="k", lw=0.8, gid=gid))
            left, right, bottom, top = xc - 0.2, xc + 0.2, y_mid - 0.2, y_mid + 0.2
        else:
            h = height(min(row.height, row.width))
            w = 0.28 + 0.1 * counts.index(row.channels) if row.kind == "conv" else 0.3
            colour = colour_of.get(row.channels, "white")
            _cuboid(ax, xc - w / 2, y_mid - h / 2, w, h, colour, gid)
            left, right, bottom, top = xc - w / 2, xc + w / 2 + 0.18, y_mid - h / 2, y_mid + h / 2 + 0.15
            ax.text(xc, top + 0.08, str(row.channels), ha="center", va="bottom", fontsize=8, fontweight="bold")
            again = row.name in seen
            seen.add(row.name)
            ax.text(xc, name_y, f"{row.name}\n(again)" if again else row.name, ha="center", va="top", fontsize=7, color="0.35")
        ax.text(xc, bottom - 0.1, _size_label(row.height, row.width), ha="center", va="top", fontsize=7.5, gid=f"size:{i - 1}")
        _arrow(ax, x_prev, left, y_mid)
        x_prev = right
    # classifier and output
    xc = len(table) + 1.3
    _cuboid(ax, xc - 0.35, y_mid - 0.9, 0.7, 1.8, CLASSIFIER_COLOUR, "classifier")
    ax.text(xc + 0.1, y_mid + 1.1, "classifier", ha="center", va="bottom", fontsize=8)
    _arrow(ax, x_prev, xc - 0.35, y_mid)
    ax.text(xc + 0.85, y_mid, f"{n_classes}\nclass\nprobabilities", ha="left", va="center", fontsize=8)
    _arrow(ax, xc + 0.5, xc + 0.8, y_mid)
    ax.set_xlim(-0.6, xc + 2.0)
    ax.set_ylim(name_y - 0.45, 4.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles = [Patch(fc=colour_of[c], ec="k", label=f"conv, {c} maps") for c in counts]
    handles += [Patch(fc=POOL_COLOUR, ec="k", label="2×2 max-pool"), Patch(fc=CLASSIFIER_COLOUR, ec="k", label="classifier (below)")]
    return handles


def _draw_classifier(ax, classifier, in_desc: str) -> None:
    from torch import nn

    groups: list[tuple[str, Any]] = []
    for m in classifier:
        if isinstance(m, nn.Linear):
            groups.append(("linear", m))
        elif groups and groups[-1][0] == "act":
            groups[-1][1].append(m)
        else:
            groups.append(("act", [m]))
    n_linear = sum(1 for g in groups if g[0] == "linear")
    ax.text(0, 1.0, f"features\n{in_desc}", ha="center", va="center", fontsize=8)
    x_prev, seen_linear = 0.75, 0
    for i, (kind, item) in enumerate(groups, start=1):
        xc = 2.0 * i
        if kind == "linear":
            seen_linear += 1
            colour = OUTPUT_LAYER_COLOUR if seen_linear == n_linear else CLASSIFIER_COLOUR
            _cuboid(ax, xc - 0.25, 0.2, 0.5, 1.6, colour, f"linear:{seen_linear}", depth=0.15)
            ax.text(xc, 0.05, f"Linear\n{item.in_features:,} → {item.out_features:,}", ha="center", va="top", fontsize=8)
            left, right = xc - 0.25, xc + 0.4
        else:
            labels = []
            for m in item:
                labels.append(f"Dropout p={m.p:g}" if isinstance(m, nn.Dropout) else type(m).__name__)
            ax.add_patch(Rectangle((xc - 0.7, 0.6), 1.4, 0.8, fc=RELU_DROPOUT_COLOUR, ec="k", lw=0.8, gid=f"act:{i}"))
            ax.text(xc, 1.0, "\n".join(labels), ha="center", va="center", fontsize=8)
            left, right = xc - 0.7, xc + 0.7
        _arrow(ax, x_prev, left, 1.0)
        x_prev = right
    ax.text(x_prev + 0.3, 1.0, "softmax\n(in the loss)", ha="left", va="center", fontsize=8)
    _arrow(ax, x_prev, x_prev + 0.28, 1.0)
    ax.set_xlim(-0.8, x_prev + 1.7)
    ax.set_ylim(-0.8, 2.2)
    ax.set_aspect("equal")
    ax.set_axis_off()


def plot_architecture(model: Any, synthetic: bool = False, title: str | None = None) -> Figure:
    """Figures 1 and 2: the network drawn from ``model.stages()`` and ``model.classifier``.

    Top axes: one box per stage in order of application -- convolution blocks coloured by
    feature-map count (orange, green, yellow, blue from the fewest to the most maps, as the
    paper's 64/128/256/512), red circles for max-pools, annotated with the feature-map
    count above and the output's spatial size below (from :func:`architecture_table`), and
    the grey classifier. Bottom axes: the classifier mini-network with the unit counts of
    its Linear layers and the ReLU + Dropout blocks in pink, the output layer in gold.

    Each stage's patch has the gid ``"stage:<index>:<name>"`` and each size label
    ``"size:<index>"``, so tests and callers can find them.
    """
    table = architecture_table(model)
    n_classes = model.classifier[-1].out_features if hasattr(model.classifier[-1], "out_features") else len(getattr(model, "class_names", ()))
    n_items = len(table) + 4
    fig = plt.figure(figsize=(max(0.62 * n_items, 8.0), 6.2), layout="constrained")
    ax_top, ax_cls = fig.subplots(2, 1, height_ratios=(2.0, 1.0))
    handles = _draw_feature_extractor(ax_top, table, n_classes)
    ax_top.legend(
        handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles), fontsize=8, frameon=False,
        title="conv = 3×3 convolution + batch normalisation + ReLU; numbers: feature maps (above), spatial size (below)", title_fontsize=8,
    )
    last = table.iloc[-1]
    in_desc = f"{last.channels}×{last.height}×{last.width}\n= {last.channels * last.height * last.width:,}"
    _draw_classifier(ax_cls, model.classifier, in_desc)
    cfg = getattr(model, "config", None)
    default = "Network architecture"
    if cfg is not None:
        default += f" ({cfg.arch}, input {cfg.input_size}², width ×{cfg.width:g}) and classifier"
    _suptitle(fig, title or default, synthetic)
    return fig


# --------------------------------------------------------------------------------------------
# Training: the learning-rate sweep
# --------------------------------------------------------------------------------------------


def select_from_sweep(history) -> tuple[float, int]:
    """The selected ``(lr, epoch)``: best validation accuracy, then earliest epoch, then larger rate.

    The same rule as :func:`slic_lib.train.sweep`.
    """
    best = history.sort_values(["val_accuracy", "epoch", "lr"], ascending=[False, True, False]).iloc[0]
    return float(best.lr), int(best.epoch)


def plot_lr_sweep(history, synthetic: bool = False, selected: tuple[float, int] | None = None, title: str | None = "Learning-rate sweep") -> Figure:
    """Validation accuracy (and training loss) per epoch for each learning rate.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``lr``, ``epoch``, ``val_accuracy`` (fraction 0..1) and ``train_loss``, e.g.
        ``SweepResult.history()``.
    selected : (lr, epoch), optional
        The selected model; default :func:`select_from_sweep`. Marked with a star.
    """
    missing = {"lr", "epoch", "val_accuracy", "train_loss"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks the columns {sorted(missing)}")
    lr_sel, ep_sel = selected if selected is not None else select_from_sweep(history)
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for lr, run in sorted(history.groupby("lr"), key=lambda kv: -kv[0]):
        run = run.sort_values("epoch")
        (line,) = ax_acc.plot(run.epoch, 100 * run.val_accuracy, marker="o", ms=3, label=f"η = {_sci(lr)}")
        ax_loss.plot(run.epoch, run.train_loss, marker="o", ms=3, color=line.get_color(), label=f"η = {_sci(lr)}")
    sel = history[(np.isclose(history.lr, lr_sel)) & (history.epoch == ep_sel)]
    if len(sel):
        acc = 100 * float(sel.val_accuracy.iloc[0])
        ax_acc.plot([ep_sel], [acc], marker="*", ms=16, color="k", ls="none", zorder=5, label=f"selected: η = {_sci(lr_sel)}, epoch {ep_sel}\n({acc:.2f} %)")
    for a in (ax_acc, ax_loss):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy (%)")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (cross entropy)")
    if (history.train_loss > 0).all():
        ax_loss.set_yscale("log")
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(fontsize=8)
    _suptitle(fig, title, synthetic)
    return fig


# --------------------------------------------------------------------------------------------
# Table 1: confusion matrix; precision and recall
# --------------------------------------------------------------------------------------------


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], synthetic: bool = False, title: str | None = "Confusion matrix") -> Figure:
    """Table 1 as an annotated matrix: counts, true classes in rows, predictions in columns.

    Cells are shaded by the fraction of the true class (row) so a small class's errors are as
    visible as a large one's; non-zero off-diagonal counts (errors) are printed in red; the
    row totals are in the row labels.
    """
    cm = np.asarray(cm)
    n = len(class_names)
    if cm.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {cm.shape} does not match {n} class names")
    totals = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    fig, ax = plt.subplots(figsize=(1.1 * n + 3.2, 0.9 * n + 1.8), layout="constrained")
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            error = i != j and cm[i, j] > 0  # errors in red, however few
            colour = WRONG_COLOUR if error else ("white" if frac[i, j] > 0.55 else "black")
            ax.text(j, i, f"{int(cm[i, j]):d}", ha="center", va="center", fontsize=11, color=colour, fontweight="bold" if error else "normal")
    ax.set_xticks(range(n), class_names, rotation=30, ha="right")
    ax.set_yticks(range(n), [f"{c} ({t})" for c, t in zip(class_names, totals[:, 0])])
    ax.set_xlabel("network classification")
    ax.set_ylabel("true classification (images)")
    fig.colorbar(im, ax=ax, label="fraction of the true class", shrink=0.85)
    _suptitle(fig, title, synthetic)
    return fig


def _markdown(header: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def confusion_table_markdown(cm: np.ndarray, class_names: Sequence[str]) -> str:
    """Table 1 as a Markdown table: true classes in rows, network classification in columns."""
    cm = np.asarray(cm)
    header = ["true \\ predicted", *class_names]
    rows = [[name, *(int(v) for v in cm[i])] for i, name in enumerate(class_names)]
    return _markdown(header, rows, ["l"] + ["r"] * len(class_names))


def metrics_table(precision: Sequence[float], recall: Sequence[float], class_names: Sequence[str]):
    """Precision and recall per class (the paper's Equations 13 and 14) as a DataFrame indexed by class."""
    import pandas as pd

    if not (len(precision) == len(recall) == len(class_names)):
        raise ValueError("precision, recall and class_names must have the same length")
    return pd.DataFrame({"precision": np.asarray(precision, float), "recall": np.asarray(recall, float)}, index=pd.Index(list(class_names), name="class"))


def metrics_table_markdown(precision: Sequence[float], recall: Sequence[float], class_names: Sequence[str], digits: int = 4) -> str:
    """:func:`metrics_table` as Markdown (NaN, e.g. for a class never predicted, shown as "n/a")."""
    df = metrics_table(precision, recall, class_names)
    fmt = lambda v: "n/a" if np.isnan(v) else f"{v:.{digits}f}"  # noqa: E731
    rows = [[name, fmt(r.precision), fmt(r.recall)] for name, r in df.iterrows()]
    return _markdown(["class", "precision", "recall"], rows, ["l", "r", "r"])


# --------------------------------------------------------------------------------------------
# Figures 3, 5 and 7: images with their probability distributions
# --------------------------------------------------------------------------------------------


def plot_examples(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    labels: Sequence[int],
    class_names: Sequence[str],
    n: int = 5,
    synthetic: bool = False,
    title: str | None = "Classification of unseen images",
) -> Figure:
    """Figure 3: the first ``n`` images on top, their class probabilities below.

    The true class's bar is green, a wrong prediction's red; each column is titled
    "true: X / predicted: Y" (red when wrong).
    """
    k = min(n, len(images))
    if k == 0:
        return _message_figure("no images to show", title, synthetic)
    probs = np.asarray(probs, dtype=float)[:k]
    labels = [int(v) for v in labels[:k]]
    titles = [_true_pred_title(class_names, t, int(np.argmax(p))) for t, p in zip(labels, probs)]
    return _image_grid(list(images[:k]), probs, labels, class_names, titles, title, synthetic)


def plot_misclassified(
    images: Sequence[np.ndarray],
    probs: np.ndarray,
    labels: Sequence[int],
    preds: Sequence[int],
    class_names: Sequence[str],
    max_n: int = 8,
    synthetic: bool = False,
    title: str | None = "Misclassified images",
) -> Figure:
    """Figure 7: up to ``max_n`` misclassified images with their probabilities.

    With no misclassification the figure says "no misclassified images" (with the count).
    """
    labels = np.asarray(labels, dtype=int)
    preds = np.asarray(preds, dtype=int)
    wrong = np.flatnonzero(labels != preds)
    if wrong.size == 0:
        return _message_figure(f"no misclassified images\n(all {len(labels)} correct)", title, synthetic)
    shown = wrong[:max_n]
    probs = np.asarray(probs, dtype=float)
    titles = [f"#{i}: " + _true_pred_title(class_names, labels[i], preds[i]) for i in shown]
    full_title = f"{title} ({len(shown)} of {wrong.size} shown)" if title and wrong.size > len(shown) else title
    return _image_grid([images[i] for i in shown], probs[shown], [int(labels[i]) for i in shown], class_names, titles, full_title, synthetic)


def plot_resolution_triplet(
    sot_full: np.ndarray,
    sot_degraded: np.ndarray,
    aia: np.ndarray,
    probs_triplet: Sequence[np.ndarray],
    class_names: Sequence[str],
    titles: Sequence[str] | None = None,
    synthetic: bool = False,
    expected: str | None = "sunspots",
    title: str | None = "Does resolution matter? SOT at full and AIA resolution vs AIA",
) -> Figure:
    """Figure 5: SOT H-alpha at full resolution, degraded to AIA resolution, and AIA.

    Columns follow the arguments' order; ``probs_triplet`` holds the three probability
    vectors in the same order. The expected class's bar is green, a wrong prediction's red.
    """
    images = [sot_full, sot_degraded, aia]
    titles = list(titles) if titles is not None else ["Hinode/SOT Hα\nfull resolution", "SOT Hα degraded\nto AIA resolution", "SDO/AIA 1600 Å\nco-temporal"]
    if len(titles) != 3 or len(probs_triplet) != 3:
        raise ValueError("plot_resolution_triplet needs three titles and three probability vectors")
    probs = np.asarray(probs_triplet, dtype=float)
    true = list(class_names).index(expected) if expected is not None else None
    column_titles = [
        f"{t} ({np.shape(img)[0]}×{np.shape(img)[1]} px)\npredicted: {class_names[int(np.argmax(p))]}" for t, img, p in zip(titles, images, probs)
    ]
    return _image_grid(images, probs, [true] * 3, class_names, column_titles, title, synthetic, true_label=False)


# --------------------------------------------------------------------------------------------
# Resolution study
# --------------------------------------------------------------------------------------------


def plot_degradation_curve(
    df,
    synthetic: bool = False,
    sot_to_aia: float | None = None,
    source_resolution: float | None = None,
    title: str | None = "Accuracy against resolution degradation",
) -> Figure:
    """Accuracy (and per-class recall) against the degradation factor, SOT -> AIA marked.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`slic_lib.degrade.degradation_curve`: ``factor``, ``accuracy``, ``n`` and
        optional ``recall_<class>`` columns.
    sot_to_aia : float, optional
        Factor to mark; default :func:`slic_lib.degrade.equivalent_factor` (1.2"/0.33").
    source_resolution : float, optional
        Resolution at factor 1 in arcsec (default SOT's 0.33") for the top axis.
    """
    from .degrade import SOT_RESOLUTION, equivalent_factor

    sot_to_aia = equivalent_factor() if sot_to_aia is None else sot_to_aia
    res0 = SOT_RESOLUTION if source_resolution is None else source_resolution
    df = df.sort_values("factor")
    fig, ax = plt.subplots(figsize=(9.0, 4.6), layout="constrained")
    recall_cols = [c for c in df.columns if c.startswith("recall_")]
    for c in recall_cols:
        ax.plot(df.factor, 100 * df[c], marker=".", lw=1, alpha=0.75, label=f"recall: {c[len('recall_'):]}")
    ax.plot(df.factor, 100 * df.accuracy, marker="o", color="k", lw=2.2, label="accuracy")
    if recall_cols:
        chance = 100 / len(recall_cols)
        ax.axhline(chance, color="0.5", ls=":", lw=1)
        ax.text(df.factor.iloc[0], chance + 1.5, "chance", color="0.4", fontsize=8)
    ax.axvline(sot_to_aia, color=WRONG_COLOUR, ls="--", lw=1.2)
    ax.text(sot_to_aia * 1.03, 3, f"SOT → AIA\n({sot_to_aia:.2f}×)", color=WRONG_COLOUR, fontsize=9, va="bottom")
    ax.set_xscale("log")
    ax.set_xticks(df.factor, [f"{f:g}" for f in df.factor])
    ax.minorticks_off()
    ax.set_xlabel("degradation factor f (PSF FWHM and pixel size × f)")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    top = ax.secondary_xaxis("top", functions=(lambda f: f * res0, lambda r: r / res0))
    top.set_xticks(df.factor * res0, [f"{f * res0:.2g}" for f in df.factor])
    top.minorticks_off()
    top.set_xlabel("resolution (arcsec FWHM)")
    n = int(df.n.iloc[0]) if "n" in df else None
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, title=f"{n} images" if n else None, title_fontsize=8)
    _suptitle(fig, title, synthetic)
    return fig


# --------------------------------------------------------------------------------------------
# Figures 4, 6, 8, 9: a sequence through the hour
# --------------------------------------------------------------------------------------------


def _as_times(times: Sequence[Any]) -> tuple[np.ndarray, bool]:
    arr = np.asarray(times)
    if np.issubdtype(arr.dtype, np.number):
        return arr.astype(float), False
    import pandas as pd

    return pd.to_datetime(pd.Series(list(times))).to_numpy(), True


def _time_text(t: Any, is_date: bool) -> str:
    if not is_date:
        return f"t = {t:g}"
    import pandas as pd

    return pd.Timestamp(t).strftime("%H:%M:%S")


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
    times : sequence of datetime-like or numbers
        Time of each frame (datetimes are shown as UTC hh:mm).
    probs : array, shape (n_frames, n_classes)
        Class probabilities of each frame.
    expected : str or None
        The class a human would give (e.g. ``"sunspots"``): drawn thick, named in the legend.
    images : sequence aligned with ``times``, or mapping {frame index: image}, optional
        When given, three example frames (``example_indices``, default first, middle and
        last; a mapping's own keys) are shown above with their predicted class and marked
        on the time axis.
    kind : {"lines", "stacked"}
        One line per class, or stacked areas summing to one.
    """
    import matplotlib.dates as mdates

    probs = np.asarray(probs, dtype=float)
    t, is_date = _as_times(times)
    if probs.shape != (len(t), len(class_names)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(t)}, {len(class_names)})")
    if kind not in ("lines", "stacked"):
        raise ValueError("kind must be 'lines' or 'stacked'")
    examples: list[tuple[int, np.ndarray]] = []
    if images is not None:
        if isinstance(images, Mapping):
            examples = sorted((int(i), img) for i, img in images.items())[:3]
        else:
            if len(images) != len(t):
                raise ValueError("images must be aligned with times (or a mapping frame index -> image)")
            idx = example_indices if example_indices is not None else sorted({0, len(t) // 2, len(t) - 1})
            examples = [(int(i), images[i]) for i in idx[:3]]
    fig = plt.figure(figsize=(10, 7.0 if examples else 4.4), layout="constrained")
    if examples:
        gs = fig.add_gridspec(2, len(examples), height_ratios=(1.25, 1))
        img_axes = [fig.add_subplot(gs[0, j]) for j in range(len(examples))]
        ax = fig.add_subplot(gs[1, :])
    else:
        img_axes, ax = [], fig.add_subplot()
    colours = plt.get_cmap("tab10").colors
    if kind == "stacked":
        areas = ax.stackplot(t, probs.T, labels=[f"{c} (expected)" if c == expected else c for c in class_names], colors=colours[: len(class_names)], alpha=0.85)
        for area, name in zip(areas, class_names):
            if name == expected:
                area.set_hatch("//")
                area.set_edgecolor("white")
    else:
        for k, name in enumerate(class_names):
            is_exp = name == expected
            ax.plot(t, probs[:, k], color=colours[k % 10], lw=3.0 if is_exp else 1.3, marker="o", ms=3 if is_exp else 2, label=f"{name} (expected)" if is_exp else name, zorder=3 if is_exp else 2)
    preds = probs.argmax(axis=1)
    legend_title = None
    if expected is not None and expected in class_names:
        frac = np.mean(preds == list(class_names).index(expected))
        legend_title = f"classified as {expected}:\n{frac:.0%} of {len(t)} frames"
    for letter, (i, img) in zip("abc", examples):
        ax.axvline(t[i], color="0.3", ls=":", lw=1)
        ax.text(t[i], 1.02, f"({letter})", ha="center", va="bottom", fontsize=9, transform=ax.get_xaxis_transform())
    for ax_img, letter, (i, img) in zip(img_axes, "abc", examples):
        _show_image(ax_img, img)
        pred = class_names[preds[i]]
        ok = expected is None or pred == expected
        ax_img.set_title(f"({letter}) {_time_text(t[i], is_date)}\npredicted: {pred} ({probs[i, preds[i]]:.2f})", fontsize=9, color="black" if ok else WRONG_COLOUR)
    ax.set_ylim(0, 1.0 if kind == "stacked" else 1.05)
    ax.set_ylabel("probability")
    if is_date:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        import pandas as pd

        ax.set_xlabel(f"time (UTC) on {pd.Timestamp(t[0]).strftime('%Y-%m-%d')}")
    else:
        ax.set_xlabel("time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title=legend_title, title_fontsize=8)
    _suptitle(fig, title, synthetic)
    return fig


# --------------------------------------------------------------------------------------------
# Section 4.1: inference time
# --------------------------------------------------------------------------------------------


def plot_inference_times(df, synthetic: bool = False, title: str | None = "Inference time per image") -> Figure:
    """Seconds per image for each measured device/precision next to the paper's.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`slic_lib.metrics.time_inference`: ``device``, ``seconds``,
        ``n_images`` and optional ``precision`` and ``label`` (the bar's name, e.g. with the
        model size, since a smaller model than the paper's is faster per image).

    The paper's 4.66 s (GPU) and 895 s (CPU) for its 1318 validation images are normalised
    per image; the right axis gives the time for 1318 images.
    """
    missing = {"device", "seconds", "n_images"} - set(df.columns)
    if missing:
        raise ValueError(f"timings lack the columns {sorted(missing)}")
    labels, values, colours = [], [], []
    for row in df.itertuples(index=False):
        prec = getattr(row, "precision", None)
        label = getattr(row, "label", None)
        labels.append(label if isinstance(label, str) and label else f"{row.device}" + (f"\n{prec}" if isinstance(prec, str) and prec else ""))
        values.append(row.seconds / max(row.n_images, 1))
        colours.append("#4e79a7")
    for p in PAPER_TIMINGS:
        labels.append(p["label"])
        values.append(p["seconds"] / p["n_images"])
        colours.append(OTHER_COLOUR)
    fig, ax = plt.subplots(figsize=(max(1.5 * len(labels) + 2.5, 6.5), 4.8), layout="constrained")
    x = np.arange(len(labels))
    bars = ax.bar(x, values, color=colours, edgecolor="k", lw=0.6)
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v * 1.12, f"{v * 1e3:.3g} ms", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(min(values) / 3, max(values) * 6)
    ax.set_ylabel("seconds per image")
    right = ax.secondary_yaxis("right", functions=(lambda s: s * PAPER_N_VALIDATION, lambda s: s / PAPER_N_VALIDATION))
    right.set_ylabel(f"seconds for {PAPER_N_VALIDATION} images")
    ax.grid(axis="y", alpha=0.3, which="both")
    ax.legend(handles=[Patch(color="#4e79a7", label="this run"), Patch(color=OTHER_COLOUR, label="Armstrong & Fletcher (2019)")], fontsize=8, loc="upper left")
    _suptitle(fig, title, synthetic)
    return fig
