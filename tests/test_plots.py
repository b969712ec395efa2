"""The paper's figures: each draws the panels its data call for, says when the data are
simulated, keeps its titles inside the figure and clear of each other, and saves PNG + PDF."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

from slic_lib import paper, plots, realism  # noqa: E402
from slic_lib.classes import CLASSES  # noqa: E402
from slic_lib.model import SlicNet  # noqa: E402
from slic_lib.plots import style  # noqa: E402

RNG = np.random.default_rng(0)
PAPER_CM = paper.TABLE_1


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- helpers ---------------------------------------------------------------------------------


def extent(fig: Figure, artist):
    fig.canvas.draw()
    return artist.get_window_extent(fig.canvas.get_renderer())


def assert_inside(fig: Figure, artist) -> None:
    box = extent(fig, artist)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0 and box.y1 <= fig.bbox.height, (artist.get_text(), box, fig.bbox)


def assert_apart(fig: Figure, texts) -> None:
    """No two of ``texts`` (non-empty) overlap on the canvas."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


def all_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def example_data(n=6):
    return [RNG.random((40, 40)) for _ in range(n)], RNG.dirichlet(np.ones(5), n)


def sweep_history() -> pd.DataFrame:
    rows = []
    for lr, best_epoch in ((1e-3, 3), (5e-4, 5), (1e-4, 8)):
        for epoch in range(1, 11):
            acc = 0.9 - 0.01 * abs(epoch - best_epoch) + (0.05 if lr == 5e-4 else 0)
            rows.append(dict(lr=lr, epoch=epoch, val_accuracy=acc, train_loss=1.0 / epoch))
    return pd.DataFrame(rows)


def timing_table(with_paper: bool) -> pd.DataFrame:
    rows = [
        {"device": "CPU (2 threads)", "precision": "float32", "n_images": 300, "seconds": 0.9, "source": "this run", "model": "slic 64px width 0.25"},
        {"device": "NVIDIA H100 80GB HBM3", "precision": "bfloat16", "n_images": 300, "seconds": 0.05, "source": "this run", "model": "slic 64px width 0.25"},
    ]
    if with_paper:
        rows += [{**r, "precision": "float32", "source": "paper", "model": "slic 256px width 1"} for r in paper.TIMINGS]
    return pd.DataFrame(rows)


def curve_table() -> pd.DataFrame:
    factors = [1, 1.5, 2, 3, 1.2 / 0.33, 4, 6, 8]
    acc = [1, 1, 1, 1, 0.96, 1, 0.88, 0.77]
    return pd.DataFrame({"factor": factors, "accuracy": acc, "n": 300, **{f"recall_{c}": acc for c in CLASSES}})


def sequence_inputs():
    times = pd.date_range("2013-01-01 12:00:16", periods=12, freq="5min")
    return times, RNG.dirichlet(np.ones(5), 12)


def realism_panels(n_images=3, shown=2):
    images = [1 + 0.1 * RNG.normal(size=(64, 64)) for _ in range(n_images)]
    return realism.figure_panels(images, [1 + 0.08 * RNG.normal(size=(48, 48)) for _ in range(n_images)], n=shown)


LONG_TITLE = "Figure 5: AR11108, 2010-09-25, Hinode/SOT H-alpha against SDO/AIA 1600 at the resolution of both instruments"

#: one call per figure function, with realistic inputs (5 classes) and a long title
FIGURES = {
    "architecture": lambda s: plots.plot_architecture(plots.architecture_table(SlicNet(arch="slic", input_size=32, width=0.125, hidden=32)), synthetic=s, title=LONG_TITLE),
    "lr_sweep": lambda s: plots.plot_lr_sweep(sweep_history(), (5e-4, 5), synthetic=s, title=LONG_TITLE),
    "confusion": lambda s: plots.plot_confusion(PAPER_CM, CLASSES, synthetic=s, title=LONG_TITLE),
    "examples": lambda s: plots.plot_examples(*example_data(5), list(range(5)), CLASSES, synthetic=s, title=LONG_TITLE),
    "misclassified": lambda s: plots.plot_misclassified(*example_data(3), [0, 1, 2], [1, 2, 3], CLASSES, synthetic=s, title=LONG_TITLE),
    "no_misclassified": lambda s: plots.plot_misclassified([], np.zeros((0, 5)), [], [], CLASSES, synthetic=s, title=LONG_TITLE),
    "closest_calls": lambda s: plots.plot_closest_calls(*example_data(3), [0, 2, 3], CLASSES, synthetic=s, title=LONG_TITLE),
    "inference_times": lambda s: plots.plot_inference_times(timing_table(True), synthetic=s, title=LONG_TITLE),
    "resolution_triplet": lambda s: plots.plot_resolution_triplet(*example_data(3)[0], example_data(3)[1], CLASSES, synthetic=s, title=LONG_TITLE),
    "degradation_curve": lambda s: plots.plot_degradation_curve(curve_table(), synthetic=s, title=LONG_TITLE),
    "sequence": lambda s: plots.plot_sequence(*sequence_inputs(), CLASSES, "sunspots", images={0: RNG.random((20, 20))}, synthetic=s, title=LONG_TITLE),
    "realism": lambda s: plots.plot_side_by_side(realism_panels(), what=LONG_TITLE, real_label="BBSO", synthetic=s),
}


# --- every figure ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_says_simulated_exactly_when_told(name):
    assert style.SIMULATED in FIGURES[name](True).get_suptitle()
    assert style.SIMULATED not in FIGURES[name](False).get_suptitle()


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_keeps_a_long_title_and_its_axes_titles_inside(name):
    fig = FIGURES[name](True)
    assert fig.get_suptitle().replace("\n", " ").startswith(LONG_TITLE)
    assert_inside(fig, fig._suptitle)
    for ax in fig.axes:
        if ax.get_title():
            assert_inside(fig, ax.title)
    assert_apart(fig, [fig._suptitle] + [ax.title for ax in fig.axes])


def test_save_figure_writes_png_at_150_dpi_and_pdf(tmp_path):
    fig = plots.plot_confusion(PAPER_CM, CLASSES)
    paths = plots.save_figure(fig, tmp_path / "sub" / "table1.v2")
    assert [p.name for p in paths] == ["table1.v2.png", "table1.v2.pdf"]
    w, h = fig.get_size_inches()
    assert Image.open(paths[0]).size == (round(w * 150), round(h * 150))
    assert paths[1].read_bytes().startswith(b"%PDF")


def test_wrap_keeps_line_breaks_and_fits_the_width():
    text = style.wrap("a" * 5 + " " + "b " * 40 + "\nsecond line", width_inches=2.0, fontsize=10)
    lines = text.split("\n")
    assert lines[-1] == "second line" and lines[0].startswith("aaaaa")
    assert max(len(line) for line in lines) <= int(2.0 * 72 / (0.6 * 10))


# --- Figures 1 and 2 -------------------------------------------------------------------------


def forward_shapes(model: SlicNet) -> list[tuple[int, int, int]]:
    """(channels, height, width) after each stage, recorded by forward hooks on a real forward pass."""
    shapes = []
    handles = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:]))) for m in {id(m): m for _, m in model.stages()}.values()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, model.config.input_size, model.config.input_size))
    for h in handles:
        h.remove()
    return shapes


@pytest.mark.parametrize("arch, size, width", [("slic", 32, 0.125), ("vgg13", 64, 0.0625)])
def test_architecture_has_one_box_per_stage_with_forward_pass_sizes_after_a_csv_round_trip(arch, size, width, tmp_path):
    model = SlicNet(arch=arch, input_size=size, width=width, hidden=32)
    model.train()
    table = plots.architecture_table(model)
    assert model.training  # describing does not leave the model in eval mode
    table.to_csv(tmp_path / "architecture.csv", index=False)
    fig = plots.plot_architecture(pd.read_csv(tmp_path / "architecture.csv"))
    assert len(fig.axes) == 2
    stages = model.stages()
    boxes = [a for a in fig.axes[0].get_children() if str(a.get_gid()).startswith("stage:")]
    assert [b.get_gid().split(":")[2] for b in boxes] == [name for name, _ in stages]
    expected = forward_shapes(model)
    sizes = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if str(t.get_gid()).startswith("size:")}
    assert [sizes[f"size:{i}"] for i in range(len(stages))] == [f"{h}²" for _, h, _ in expected]
    texts = all_texts(fig)
    for (name, _), (c, _, _) in zip(stages, expected):
        if name.startswith("layer"):
            assert str(c) in texts  # feature-map count annotated
    assert f"input\n{size}²" in texts


def test_architecture_colours_follow_feature_map_counts_and_pools_are_circles():
    fig = plots.plot_architecture(plots.architecture_table(SlicNet(arch="slic", input_size=32, width=0.125, hidden=32)))
    colour = {}
    for patch in fig.axes[0].patches:
        gid = str(patch.get_gid())
        if not gid.startswith("stage:"):
            continue
        name = gid.split(":")[2]
        if name == "max_pool":
            assert isinstance(patch, Circle) and to_hex(patch.get_facecolor()) == style.POOL_COLOUR
        else:
            colour.setdefault(name, set()).add(to_hex(patch.get_facecolor()))
    assert colour["layer1"] == colour["layer2"] == {style.FEATURE_COLOURS[0]}
    assert colour["layer3"] == {style.FEATURE_COLOURS[1]}
    assert colour["layer5"] == {style.FEATURE_COLOURS[2]}
    assert colour["layer7"] == colour["layer8"] == {style.FEATURE_COLOURS[3]}


def test_architecture_classifier_panel_reads_unit_counts_from_linear_layers():
    model = SlicNet(arch="slic", input_size=64, width=0.125, hidden=48)
    table = plots.architecture_table(model)
    assert list(table.part.unique()) == ["input", "features", "classifier"]
    fig = plots.plot_architecture(table)
    texts = " ".join(t.get_text() for t in fig.axes[1].texts)
    in_features = model.classifier[0].in_features  # 64 maps x 2 x 2 = 256
    assert f"{in_features:,} → 48" in texts and "48 → 48" in texts and "48 → 5" in texts
    assert texts.count("Dropout p=0.5") == 2
    assert "5\nclass\nprobabilities" in all_texts(fig)


# --- Section 4.1: the sweep ------------------------------------------------------------------


def test_lr_sweep_marks_the_callers_selection_not_its_own():
    history = sweep_history()
    fig = plots.plot_lr_sweep(history, selected=(1e-3, 3), synthetic=True)  # not the best row: the caller decides
    assert len(fig.axes) == 2
    assert len(fig.axes[0].get_lines()) == 3 + 1  # one per rate and the star
    star = [line for line in fig.axes[0].get_lines() if line.get_marker() == "*"]
    assert len(star) == 1 and list(star[0].get_xdata()) == [3] and star[0].get_ydata()[0] == pytest.approx(90.0)
    assert len(fig.axes[1].get_lines()) == 3


def test_lr_sweep_rejects_missing_columns_and_a_selection_outside_the_history():
    with pytest.raises(ValueError, match="val_accuracy"):
        plots.plot_lr_sweep(pd.DataFrame({"lr": [1e-3], "epoch": [1]}), (1e-3, 1))
    with pytest.raises(ValueError, match="not in the history"):
        plots.plot_lr_sweep(sweep_history(), (1e-2, 5))


# --- Table 1, Figures 3 and 7 ----------------------------------------------------------------


def test_confusion_figure_annotates_every_count_and_flags_errors():
    fig = plots.plot_confusion(PAPER_CM, CLASSES)
    assert len(fig.axes) == 2  # matrix and colour bar
    cells = fig.axes[0].texts
    assert [t.get_text() for t in cells] == [str(v) for v in PAPER_CM.ravel()]
    assert to_hex(cells[1].get_color()) == style.WRONG_COLOUR  # the filament classified as a flare
    assert to_hex(cells[0].get_color()) != style.WRONG_COLOUR
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "filaments (176)"
    with pytest.raises(ValueError):
        plots.plot_confusion(PAPER_CM[:4, :4], CLASSES)


def test_examples_one_column_per_image_with_true_and_predicted():
    images, probs = example_data()
    fig = plots.plot_examples(images, probs, [0, 1, 2, 3, 4, 0], CLASSES, n=3, synthetic=True)
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].replace("\n", " ") == f"true: filaments / predicted: {CLASSES[int(np.argmax(probs[0]))]}"
    bars = [p for p in fig.axes[3].patches if isinstance(p, Rectangle)]  # the first example's probabilities
    assert [b.get_width() for b in bars] == pytest.approx(list(probs[0]))
    assert to_hex(bars[0].get_facecolor()) == style.TRUE_COLOUR


def test_many_examples_wrap_onto_balanced_rows():
    images, probs = example_data(8)
    fig = plots.plot_misclassified(images, probs, [0] * 8, [1] * 8, CLASSES, max_n=8)
    assert len(fig.axes) == 16
    assert len({round(ax.get_position().x0, 3) for ax in fig.axes}) == 4  # 2 rows x 4 columns


def test_misclassified_shows_only_the_errors_with_their_indices():
    images, _ = example_data()
    labels = np.array([0, 1, 2, 3, 4, 0])
    preds = labels.copy()
    preds[[1, 4]] = [0, 3]
    # probabilities whose top class is the prediction (the shared RNG's draws depended on the
    # order xdist ran the tests in, and so did the title colours)
    probs = np.full((6, 5), 0.05)
    probs[np.arange(6), preds] = 0.8
    fig = plots.plot_misclassified(images, probs, labels, preds, CLASSES, indices=[10, 11, 12, 13, 14, 15])
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("#11: true: flares") and titles[1].startswith("#14: true: sunspots")
    assert all(to_hex(ax.title.get_color()) == style.WRONG_COLOUR for ax in fig.axes if ax.get_title())


def test_closest_calls_name_the_true_class_probability_and_the_runner_up():
    images, _ = example_data(2)
    probs = np.array([[0.30, 0.0, 0.0, 0.61, 0.09], [0.9, 0.0, 0.0, 0.1, 0.0]])
    fig = plots.plot_closest_calls(images, probs, [3, 0], CLASSES, indices=[211, 11])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["#211: quiet, p = 0.61\n(next: filaments)", "#11: filaments, p = 0.90\n(next: quiet)"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["true class", "other classes"]  # no colour for a wrong answer that none of them is
    wrong = plots.plot_misclassified(images, probs, [0, 0], [3, 0], CLASSES)
    assert "predicted (wrong)" in [t.get_text() for t in wrong.legends[0].get_texts()]
    assert all(to_hex(ax.title.get_color()) != style.WRONG_COLOUR for ax in fig.axes if ax.get_title())


def test_a_prominence_is_shown_with_the_disc_saturated():
    image = np.zeros((64, 64))
    image[:, 40:] = 1.0  # the disc
    image[30:34, 30:38] = 0.1  # a prominence a tenth as bright, off the limb
    lo, hi = style.off_disc_stretch(image)
    assert lo == pytest.approx(0.0) and hi == pytest.approx(0.1)  # the prominence is white, not lost in black
    assert style.stretch(image)[1] == pytest.approx(1.0)
    few_bright = np.zeros((50, 50))
    few_bright[:1, :40] = 1.0  # 1.6 % of the pixels: no disc, its own range
    assert style.off_disc_stretch(few_bright) == style.stretch(few_bright)
    probs = np.full((2, 5), 0.05)
    probs[[0, 1], [2, 0]] = 0.8
    fig = plots.plot_examples([image, image], probs, [2, 0], CLASSES)
    shown = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert shown[0].get_clim() == pytest.approx((0.0, 0.1)) and shown[1].get_clim() == pytest.approx((0.0, 1.0))
    assert "(disc saturated)" in fig.axes[0].get_title() and "disc" not in fig.axes[1].get_title()
    # a prominence image without a disc keeps its own range, and its title says nothing of a disc
    fig = plots.plot_examples([few_bright], probs[:1], [2], CLASSES)
    assert fig.axes[0].get_images()[0].get_clim() == pytest.approx(style.stretch(few_bright)) and "disc" not in fig.axes[0].get_title()


def test_no_misclassified_images_says_so_without_a_false_count():
    images, probs = example_data()
    labels = np.arange(6) % 5
    texts = all_texts(plots.plot_misclassified(images, probs, labels, labels, CLASSES))
    assert any("no misclassified images\n(all 6 correct)" == t for t in texts)
    texts = all_texts(plots.plot_misclassified([], np.zeros((0, 5)), [], [], CLASSES))
    assert "no misclassified images" in texts and not any("all 0" in t for t in texts)


# --- Section 4.1: inference time -------------------------------------------------------------


def bars_and_labels(fig: Figure):
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    return ax, bars, [t.get_text() for t in ax.get_yticklabels()]


@pytest.mark.parametrize("with_paper", [True, False])
def test_inference_times_draw_each_row_once_with_the_paper_in_grey(with_paper):
    fig = plots.plot_inference_times(timing_table(with_paper))
    ax, bars, labels = bars_and_labels(fig)
    assert len(bars) == len(labels) == 4  # two measured rows and the paper's two, once each
    assert len(set(labels)) == 4
    assert sum("Titan Xp" in lab for lab in labels) == 1 and sum("i7-8700" in lab for lab in labels) == 1
    colours = [to_hex(b.get_facecolor()) for b in bars]
    assert colours == [style.THIS_RUN_COLOUR] * 2 + [style.PAPER_COLOUR] * 2
    assert [b.get_width() for b in bars] == pytest.approx([0.9 / 300, 0.05 / 300, paper.GPU_SECONDS / paper.N_VALIDATION, paper.CPU_SECONDS / paper.N_VALIDATION])
    assert labels[1].split("\n")[1].startswith("bfloat16")  # precision and model under the device
    assert ax.get_xscale() == "log"


def test_inference_time_labels_are_readable_and_the_top_axis_counts_1318_images():
    fig = plots.plot_inference_times(timing_table(True))
    ax = fig.axes[0]
    assert_apart(fig, ax.get_yticklabels())
    assert_apart(fig, ax.texts)
    top = [c for c in ax.get_children() if type(c).__name__ == "SecondaryAxis"]
    assert len(top) == 1 and top[0].get_xlabel() == f"seconds for {paper.N_VALIDATION} images"
    values = [t.get_text() for t in ax.texts]
    assert "895 s per 1318" in values[3] and "4.66 s per 1318" in values[2]


def test_timing_rows_reject_a_table_without_seconds():
    with pytest.raises(ValueError, match="seconds"):
        plots.timing_rows(pd.DataFrame({"device": ["cpu"], "n_images": [3]}))


# --- Figure 5 and the resolution curve -------------------------------------------------------


def test_resolution_triplet_titles_stay_apart():
    images, probs = example_data(3)
    titles = ["SOT H-alpha, full resolution", 'SOT H-alpha degraded to AIA (1.2", 0.6"/px)', "AIA 1600 Å"]
    fig = plots.plot_resolution_triplet(images[0], images[1][::3, ::3], images[2], probs, CLASSES, titles=titles, synthetic=True)
    assert len(fig.axes) == 6
    image_axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(image_axes) == 3
    assert image_axes[1].get_title().endswith(f"14×14 px, predicted: {CLASSES[int(np.argmax(probs[1]))]}")
    assert_apart(fig, [ax.title for ax in image_axes])
    with pytest.raises(ValueError):
        plots.plot_resolution_triplet(*images, probs[:2], CLASSES)


def test_degradation_curve_marks_the_sot_to_aia_factor_and_its_ticks_do_not_collide():
    fig = plots.plot_degradation_curve(curve_table(), synthetic=True)
    ax = fig.axes[0]
    lines = ax.get_lines()
    vertical = [line for line in lines if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2]
    assert any(line.get_xdata()[0] == pytest.approx(1.2 / 0.33) for line in vertical)
    accuracy = [line for line in lines if line.get_label() == "accuracy"][0]
    assert list(accuracy.get_ydata()) == pytest.approx([100, 100, 100, 100, 96, 100, 88, 77])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "1.5", "2", "3", "4", "6", "8"]
    top = [c for c in ax.get_children() if type(c).__name__ == "SecondaryAxis"][0]
    assert_apart(fig, top.get_xticklabels())


# --- Figures 4, 6, 8 and 9 -------------------------------------------------------------------


def test_sequence_with_and_without_example_frames():
    times, probs = sequence_inputs()
    fig = plots.plot_sequence(times, probs, CLASSES, "sunspots", title="AR11638", synthetic=True)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 5
    assert [line.get_label() for line in fig.axes[0].get_lines() if "expected" in line.get_label()] == ["sunspots (expected)"]
    frames = [RNG.random((20, 20)) for _ in range(12)]
    fig = plots.plot_sequence([str(t) for t in times], probs, CLASSES, "sunspots", images=frames)  # ISO strings, as stored
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles[0].startswith("(a) 12:00:16") and f"predicted: {CLASSES[int(np.argmax(probs[0]))]}" in titles[0]
    fig = plots.plot_sequence(np.arange(12.0), probs, CLASSES, None, images={2: frames[2]}, kind="stacked")
    assert len(fig.axes) == 2


def test_sequence_rejects_misaligned_probabilities():
    with pytest.raises(ValueError):
        plots.plot_sequence(np.arange(3.0), np.ones((4, 5)) / 5, CLASSES, "quiet")


# --- simulator realism -----------------------------------------------------------------------


def test_realism_figure_draws_from_stored_panels(tmp_path):
    np.savez(tmp_path / "realism.npz", **realism_panels(n_images=3, shown=2))
    with np.load(tmp_path / "realism.npz") as npz:
        fig = plots.plot_side_by_side(dict(npz), what="quiet Sun", real_label="BBSO")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles.count("simulated 1") == 1 and titles.count("BBSO 2") == 1 and "simulated 3" not in titles
    assert "simulated (n=3)" in [t.get_text() for t in fig.axes[-2].get_legend().get_texts()]
    assert "top row: simulated, middle row: BBSO" in fig.get_suptitle()
    with pytest.raises(ValueError):
        plots.plot_side_by_side({"n_images": np.array([0, 0])})


def test_images_before_any_network_are_titled_by_class_without_a_prediction():
    # notebook 01 drew a user's images as "true: X / predicted: X" at probability 1.00, before any model existed
    from slic_lib.plots.validation import plot_class_images

    rng = np.random.default_rng(0)
    fig = plot_class_images([rng.random((16, 16)) for _ in range(5)], range(5), CLASSES, title="One image per class (data: mine)")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == list(CLASSES) and not any("predicted" in t for t in titles)
    assert fig._suptitle.get_text() == "One image per class (data: mine)"
