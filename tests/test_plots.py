"""The paper's figures: each returns a Figure with the expected panels, drawn from the data given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from slic_lib import plotting as P  # noqa: E402
from slic_lib.classes import CLASSES  # noqa: E402
from slic_lib.model import SlicNet  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def suptitle(fig: Figure) -> str:
    return fig.get_suptitle()


def all_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


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
def test_architecture_has_one_box_per_stage_with_forward_pass_sizes(arch, size, width):
    model = SlicNet(arch=arch, input_size=size, width=width, hidden=32)
    model.train()
    fig = P.plot_architecture(model)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert model.training  # drawing does not leave the model in eval mode
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


def test_architecture_colours_follow_feature_map_counts_and_pools_are_circles():
    model = SlicNet(arch="slic", input_size=32, width=0.125, hidden=32)
    fig = P.plot_architecture(model)
    boxes = {a.get_gid(): a for a in fig.axes[0].patches if str(a.get_gid()).startswith("stage:")}
    colour = {}
    for gid, patch in boxes.items():
        name = gid.split(":")[2]
        if name == "max_pool":
            assert isinstance(patch, matplotlib.patches.Circle)
            assert to_hex(patch.get_facecolor()) == P.POOL_COLOUR
        else:
            colour.setdefault(name, set()).add(to_hex(patch.get_facecolor()))
    assert colour["layer1"] == colour["layer2"] == {P.FEATURE_COLOURS[0]}
    assert colour["layer3"] == {P.FEATURE_COLOURS[1]}
    assert colour["layer5"] == {P.FEATURE_COLOURS[2]}
    assert colour["layer7"] == colour["layer8"] == {P.FEATURE_COLOURS[3]}


def test_architecture_classifier_panel_reads_unit_counts_from_linear_layers():
    model = SlicNet(arch="slic", input_size=64, width=0.125, hidden=48)
    fig = P.plot_architecture(model)
    texts = " ".join(t.get_text() for t in fig.axes[1].texts)
    in_features = model.classifier[0].in_features  # 64 maps x 2 x 2 = 256
    assert f"{in_features:,} → 48" in texts and "48 → 48" in texts and "48 → 5" in texts
    assert texts.count("Dropout p=0.5") == 2


@pytest.mark.parametrize("synthetic", [True, False])
def test_synthetic_flag_says_simulated_in_the_title(synthetic):
    cm = np.diag([5, 6, 7, 8, 9])
    fig = P.plot_confusion(cm, CLASSES, synthetic=synthetic)
    assert ("simulated" in suptitle(fig)) == synthetic


def sweep_history() -> pd.DataFrame:
    rows = []
    for lr, best_epoch in ((1e-3, 3), (5e-4, 5), (1e-4, 8)):
        for epoch in range(1, 11):
            acc = 0.9 - 0.01 * abs(epoch - best_epoch) + (0.05 if lr == 5e-4 else 0)
            rows.append(dict(lr=lr, epoch=epoch, val_accuracy=acc, train_loss=1.0 / epoch))
    return pd.DataFrame(rows)


def test_lr_sweep_marks_the_best_epoch_of_the_best_rate():
    history = sweep_history()
    assert P.select_from_sweep(history) == (5e-4, 5)
    fig = P.plot_lr_sweep(history, synthetic=True)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].get_lines()) == 3 + 1  # one per rate and the star
    star = [line for line in fig.axes[0].get_lines() if line.get_marker() == "*"][0]
    assert list(star.get_xdata()) == [5] and star.get_ydata()[0] == pytest.approx(95.0)
    assert "simulated" in suptitle(fig)


def test_lr_sweep_rejects_a_history_without_the_columns():
    with pytest.raises(ValueError, match="val_accuracy"):
        P.plot_lr_sweep(pd.DataFrame({"lr": [1e-3], "epoch": [1]}))


PAPER_CM = np.array([[175, 1, 0, 0, 0], [0, 270, 0, 0, 0], [0, 0, 304, 0, 0], [0, 0, 0, 242, 0], [0, 0, 0, 0, 326]])


def test_confusion_figure_annotates_every_count_and_flags_errors():
    fig = P.plot_confusion(PAPER_CM, CLASSES)
    assert len(fig.axes) == 2  # matrix and colour bar
    cells = fig.axes[0].texts
    assert [t.get_text() for t in cells] == [str(v) for v in PAPER_CM.ravel()]
    error = cells[1]  # the filament classified as a flare
    assert to_hex(error.get_color()) == P.WRONG_COLOUR
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "filaments (176)"


def test_confusion_table_markdown_has_true_rows_and_predicted_columns():
    md = P.confusion_table_markdown(PAPER_CM, CLASSES).splitlines()
    assert len(md) == 2 + 5
    assert md[0].split("|")[2:7] == [f" {c} " for c in CLASSES]
    assert md[2] == "| filaments | 175 | 1 | 0 | 0 | 0 |"


def test_metrics_table():
    df = P.metrics_table([1, 0.9963, 1, 1, 1], [0.9943, 1, 1, 1, 1], CLASSES)
    assert list(df.index) == list(CLASSES)
    assert df.loc["flares", "precision"] == pytest.approx(0.9963)
    assert df.loc["filaments", "recall"] == pytest.approx(0.9943)
    md = P.metrics_table_markdown([1, 0.5, np.nan, 1, 1], [1] * 5, CLASSES)
    assert "| flares | 0.5000 | 1.0000 |" in md and "n/a" in md
    with pytest.raises(ValueError):
        P.metrics_table([1], [1, 1], CLASSES)


def example_data(n=6):
    images = [RNG.random((40, 40)) for _ in range(n)]
    probs = RNG.dirichlet(np.ones(5), n)
    return images, probs


def test_examples_one_column_per_image_with_true_and_predicted():
    images, probs = example_data()
    labels = [0, 1, 2, 3, 4, 0]
    fig = P.plot_examples(images, probs, labels, CLASSES, n=3, synthetic=True)
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    pred0 = CLASSES[int(np.argmax(probs[0]))]
    assert titles[0].replace("\n", " ") == f"true: filaments / predicted: {pred0}"
    bars = fig.axes[3].patches  # probabilities of the first example (row 2, column 1)
    assert [b.get_width() for b in bars] == pytest.approx(list(probs[0]))
    assert to_hex(bars[0].get_facecolor()) == P.TRUE_COLOUR
    assert "simulated" in suptitle(fig)


def test_many_examples_wrap_onto_rows():
    images, probs = example_data(8)
    fig = P.plot_misclassified(images, probs, [0] * 8, [1] * 8, CLASSES, max_n=8)
    assert len(fig.axes) == 16


def test_misclassified_shows_only_the_errors():
    images, probs = example_data()
    labels = np.array([0, 1, 2, 3, 4, 0])
    preds = labels.copy()
    preds[[1, 4]] = [0, 3]
    fig = P.plot_misclassified(images, probs, labels, preds, CLASSES)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("#1: true: flares") and titles[1].startswith("#4: true: sunspots")


def test_no_misclassified_images_says_so():
    images, probs = example_data()
    labels = np.arange(6) % 5
    fig = P.plot_misclassified(images, probs, labels, labels, CLASSES, synthetic=True)
    assert len(fig.axes) == 1
    assert any("no misclassified images" in t for t in all_texts(fig))
    assert "simulated" in suptitle(fig)


def test_resolution_triplet():
    images, probs = example_data(3)
    fig = P.plot_resolution_triplet(images[0], images[1][::3, ::3], images[2], probs, CLASSES, titles=("SOT", "SOT degraded", "AIA"))
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[1].startswith("SOT degraded (14×14 px)")
    with pytest.raises(ValueError):
        P.plot_resolution_triplet(*images, probs[:2], CLASSES)


def test_degradation_curve_marks_the_sot_to_aia_factor():
    df = pd.DataFrame({"factor": [1, 2, 4, 8], "accuracy": [1, 0.9, 0.6, 0.3], "n": 10, "recall_flares": [1, 1, 0.5, 0.2]})
    fig = P.plot_degradation_curve(df, synthetic=True)
    assert len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    vertical = [line for line in lines if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2]
    assert any(line.get_xdata()[0] == pytest.approx(1.2 / 0.33) for line in vertical)
    accuracy = [line for line in lines if line.get_label() == "accuracy"][0]
    assert list(accuracy.get_ydata()) == pytest.approx([100, 90, 60, 30])


def test_sequence_with_and_without_example_frames():
    times = pd.date_range("2013-01-01 12:00:16", periods=12, freq="5min")
    probs = RNG.dirichlet(np.ones(5), 12)
    fig = P.plot_sequence(times, probs, CLASSES, "sunspots", title="AR11638", synthetic=True)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 5
    expected_line = [line for line in fig.axes[0].get_lines() if "expected" in line.get_label()]
    assert [line.get_label() for line in expected_line] == ["sunspots (expected)"]
    frames = [RNG.random((20, 20)) for _ in range(12)]
    fig = P.plot_sequence(times, probs, CLASSES, "sunspots", images=frames)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles[0].startswith("(a) 12:00:16") and f"predicted: {CLASSES[int(np.argmax(probs[0]))]}" in titles[0]
    fig = P.plot_sequence(np.arange(12.0), probs, CLASSES, None, images={2: frames[2]}, kind="stacked")
    assert len(fig.axes) == 2


def test_sequence_rejects_misaligned_probabilities():
    with pytest.raises(ValueError):
        P.plot_sequence(np.arange(3.0), np.ones((4, 5)) / 5, CLASSES, "quiet")


def test_inference_times_normalised_per_image_next_to_the_paper():
    df = pd.DataFrame([{"device": "CPU (2 threads)", "precision": "float32", "n_images": 100, "seconds": 2.0}])
    fig = P.plot_inference_times(df)
    assert len(fig.axes) == 1
    heights = [b.get_height() for b in fig.axes[0].patches if isinstance(b, matplotlib.patches.Rectangle)][:3]
    assert heights == pytest.approx([0.02, 4.66 / 1318, 895 / 1318])


def test_save_figure_writes_png_and_pdf_at_150_dpi(tmp_path):
    fig = P.plot_confusion(PAPER_CM, CLASSES)
    paths = P.save_figure(fig, tmp_path / "sub" / "table1.v2")
    assert [p.name for p in paths] == ["table1.v2.png", "table1.v2.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    w, h = fig.get_size_inches()
    assert Image.open(paths[0]).size == (round(w * 150), round(h * 150))
    assert paths[1].read_bytes().startswith(b"%PDF")
