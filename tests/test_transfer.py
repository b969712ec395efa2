"""Notebook 06's experiments: the simulated-AIA transfer, the per-profile settings, and figures
redrawn from the result files alone."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TINY
from slic_lib import results, summary
from slic_lib.plots import style
from slic_lib.classes import CLASSES
from slic_lib.dataset import SolarData
from slic_lib.errors import SlicError
from slic_lib.experiments import start
from slic_lib.experiments import aia_transfer, transfer
from slic_lib.finetune import CURVE_MODES
from slic_lib.inference import cpu_threads
from slic_lib.model import ModelConfig, SlicNet
from slic_lib.plots.transfer import plot_aia_transfer, plot_learning_curve
from slic_lib.profiles import PROFILES, get_profile
from test_finetune import two_class_data


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with cpu_threads(1):
        yield


def tiny_base() -> SlicNet:
    torch.manual_seed(0)
    return SlicNet(ModelConfig(**TINY)).eval()


def test_aia_frames_are_simulated_and_labelled():
    data, kinds = aia_transfer.aia_frames(("1600_sunspot", "304_prominence"), 2, [0, 1], 64, tiny_base())
    assert isinstance(data, SolarData) and data.is_synthetic and data.images.shape == (4, 32, 32)
    assert kinds.tolist() == ["1600_sunspot"] * 2 + ["304_prominence"] * 2
    assert [data.class_names[i] for i in data.labels] == ["sunspots"] * 2 + ["prominences"] * 2
    again, _ = aia_transfer.aia_frames(("1600_sunspot", "304_prominence"), 2, [0, 1], 64, tiny_base().preprocessing)
    np.testing.assert_array_equal(data.images, again.images)  # seeded
    with pytest.raises(SlicError, match="AIA kind"):
        aia_transfer.aia_frames(("171_loops",), 1, 0, 64, tiny_base())


def test_aia_transfer_table_is_marked_simulated():
    base = tiny_base()
    result = aia_transfer.aia_transfer(base, names=("1600_sunspot", "304_prominence"), n_frames=2, n_test=3, size=64, steps=2, batch_size=4,
                                   halpha=(two_class_data(2), np.arange(4)), replay=(two_class_data(2, seed=1), np.arange(4)), progress=False)
    table = result.table
    assert list(table["kind"]) == ["1600_sunspot", "304_prominence"]
    assert list(table["expected"]) == ["sunspots", "prominences"]
    assert table["synthetic"].all() and (table["n_replay"] == 4).all()
    for col in ("accuracy_before", "accuracy_after", "accuracy_scratch"):
        assert table[col].between(0, 1).all()
    assert result.test.is_synthetic and len(result.test) == 6
    assert result.probs_after.shape == (6, 5) and np.allclose(result.probs_after.sum(1), 1, atol=1e-5)
    assert 0 <= result.halpha["accuracy_after"] <= 1
    assert "simulated" in result.to_dict()["note"]


def test_every_profile_has_transfer_settings():
    for profile in PROFILES.values():
        s = profile.transfer
        assert set(s.modes) <= set(CURVE_MODES) and s.repeats >= 1 and "zero-shot" in s.modes
        assert s.to_dict()["aia_kinds"] == s.aia_kinds
    assert max(PROFILES["smoke"].transfer.sizes) < max(PROFILES["cpu"].transfer.sizes)
    assert "transfer" in get_profile("smoke").to_dict()


def test_plots_name_their_data():
    curve = pd.DataFrame({"mode": ["zero-shot", "top"] * 2, "n_train": [4, 4, 8, 8], "repeat": 0, "accuracy": [0.5, 0.7, 0.5, 0.9],
                          "balanced_accuracy": [0.5, 0.7, 0.5, 0.9]})
    fig = plot_learning_curve(curve)
    assert "BBSO" in fig._suptitle.get_text() and len(fig.axes[0].lines) >= 2
    assert "simulated" in plot_learning_curve(curve, title="x", synthetic=True)._suptitle.get_text()
    table = pd.DataFrame({"wavelength": [1600], "expected": ["sunspots"], "n_train": [4], "n_replay": [0], "accuracy_before": [0.0],
                          "accuracy_after": [1.0]})
    fig = plot_aia_transfer(table)
    assert "simulated" in fig._suptitle.get_text() and len(fig.axes[0].patches) == 2
    plt.close("all")


def test_aia_step_writes_results_and_figures_redraw_from_them(tmp_path, monkeypatch):
    """Step (c) on a tiny model, then its figure and table redrawn with the model and dataset gone."""
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    run = start("smoke", "simulator", "simulator")
    base = tiny_base()
    monkeypatch.setattr(transfer, "_base", lambda run: base)  # no trained model needed for the plumbing
    small = dict(aia_kinds=("1600_sunspot",), aia_frames=2, aia_test=2, aia_size=64, aia_steps=2, batch_size=4, aia_replay=0)
    monkeypatch.setattr(run, "profile", replace(run.profile, transfer=replace(run.profile.transfer, **small)))
    result = transfer.aia(run, progress=False)
    assert summary.read(run.name)["transfer_learning"]["aia"]["kinds"][0]["kind"] == "1600_sunspot"
    assert results.read_table(run.name, "transfer_aia")["accuracy_after"].tolist() == result.table["accuracy_after"].tolist()
    results.write_json(run.name, "transfer_bbso", {"bbso": None})  # as when the BBSO images are not installed
    monkeypatch.setattr(transfer, "_base", None)  # drawing must not need the model
    figs = transfer.figures(run)
    assert len(figs) == 1 and (run.figures / "fig_transfer_aia.png").exists() and (run.figures / "table_transfer_aia.md").exists()
    plt.close("all")


def test_bbso_figures_and_tables_are_drawn_from_result_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    run = start("smoke", "simulator", "simulator")
    confusion = {"filaments": dict(zip(CLASSES, [3, 1, 0, 0, 0])), "quiet": dict(zip(CLASSES, [0, 2, 0, 2, 0]))}
    scores = {"accuracy": 0.5, "balanced_accuracy": 0.5, "n": 8}
    rule = {"dev_days": {**scores, "confusion": {}}, "test_days": {**scores, "confusion": {"filaments": {"filaments": 2, "quiet": 2}}}}
    results.write_json(run.name, "transfer_bbso", {"bbso": {"days": ["2015-08-01"]}, "baseline": rule, "zero_shot": {
        "confusion": confusion, "confusion_test_days": confusion, "dev_days": scores, "test_days": scores}})
    rng = np.random.default_rng(0)
    results.write_arrays(run.name, "transfer_bbso_examples", images=rng.normal(size=(2, 32, 32)), probs=np.eye(5)[[0, 1]],
                         labels=np.array([0, 3]), class_names=np.array(CLASSES), days=np.array(["2015-08-01", "2015-08-02"]),
                         held_out=np.array([False, True]))
    results.write_table(run.name, "transfer_learning_curve", pd.DataFrame(
        {"mode": ["zero-shot", "top"] * 2, "n_train": [4, 4, 8, 8], "repeat": 0, "accuracy": [0.5, 0.7, 0.5, 0.9], "balanced_accuracy": [0.5, 0.7, 0.5, 0.9]}))
    figs = transfer.figures(run)
    assert len(figs) == 2 and len(figs[0].axes) == 4  # two crops, each an image and its probability bars
    # each crop says its day, and whether that is a held-out one (the examples come from every day)
    assert [ax.get_title().split("\n")[-1] for ax in figs[0].axes if ax.get_title()] == ["2015-08-01 (development)", "2015-08-02 (held out)"]
    assert {p.stem for p in run.figures.glob("*.png")} == {"fig_transfer_bbso_zero_shot", "fig_transfer_learning_curve"}
    table = pd.read_csv(run.figures / "table_transfer_zero_shot.csv")
    assert table.iloc[:, 0].tolist() == ["filaments", "quiet"] and table["flares"].tolist() == [1, 2]
    assert pd.read_csv(run.figures / "table_transfer_zero_shot_test_days.csv")["quiet"].tolist() == [0, 2]
    assert pd.read_csv(run.figures / "table_transfer_baseline.csv")["method"].nunique() == 2
    plt.close("all")


def test_baseline_comparison_puts_the_rule_beside_the_network_on_the_same_days():
    net_conf = {"filaments": dict(zip(CLASSES, [6, 0, 0, 2, 2])), "quiet": dict(zip(CLASSES, [1, 0, 0, 9, 0]))}
    rule_conf = {"filaments": {"filaments": 9, "quiet": 1}, "quiet": {"filaments": 0, "quiet": 10}}
    bbso_result = {
        "zero_shot": {"dev_days": {"accuracy": 0.9, "balanced_accuracy": 0.9, "n": 20},
                      "test_days": {"accuracy": 0.75, "balanced_accuracy": 0.75, "n": 20}, "confusion_test_days": net_conf},
        "baseline": {"dev_days": {"accuracy": 1.0, "balanced_accuracy": 1.0, "n": 20, "confusion": {}},
                     "test_days": {"accuracy": 0.95, "balanced_accuracy": 0.95, "n": 20, "confusion": rule_conf}},
    }
    table = transfer.baseline_comparison(bbso_result).set_index(["method", "days"])
    assert len(table) == 4
    net, rule = table.loc[("network (five-way)", "test_days")], table.loc[("dark-pixel rule (two-way)", "test_days")]
    assert net["recall_filaments"] == pytest.approx(0.6) and net["recall_quiet"] == pytest.approx(0.9)
    assert rule["recall_filaments"] == pytest.approx(0.9) and rule["accuracy"] == 0.95
    two_way = {"threshold": 0.5, "test_days": {"accuracy": 0.9, "balanced_accuracy": 0.9, "n": 20,
                                               "confusion": {"filaments": {"filaments": 8, "quiet": 2}, "quiet": {"filaments": 0, "quiet": 10}}}}
    table = transfer.baseline_comparison({**bbso_result, "two_way": two_way})
    assert len(table) == 5 and table.iloc[-1]["method"].startswith("network (two-way")
    assert table.iloc[-1]["recall_quiet"] == 1.0 and table.iloc[-1]["recall_filaments"] == pytest.approx(0.8)


def test_held_out_crops_get_both_answers_and_the_errors_figure_shows_the_wrong_ones(tmp_path, monkeypatch):
    from datetime import datetime
    from pathlib import Path

    from slic_lib.baseline import DarkPixelRule
    from slic_lib.plots.transfer import plot_disagreements, plot_roc
    from slic_lib.preprocess import PreprocessConfig
    from slic_lib.realdata.bbso import Crop
    from slic_lib.realdata.bbso_dataset import CropSet

    quiet = np.ones((16, 16), np.float32)
    filament = quiet.copy()
    filament[4:12, 7:9] = 0.6  # 16 of 256 pixels dark
    labelled = [(filament, "filaments"), (quiet, "filaments"), (quiet, "quiet")]
    crops = [Crop(im, label, datetime(2015, 8, 7, 12), np.zeros_like(im, bool), (0, 0), 16, 1.0, (0.0, 0.0), True, Path("b.jpg"), k)
             for k, (im, label) in enumerate(labelled)]
    data = SolarData.from_arrays(np.stack([c.data for c in crops]), [0, 0, 3], CLASSES, PreprocessConfig(size=16),
                                 paths=[f"b.jpg#{k}" for k in range(3)])
    probs = np.eye(5)[[0, 3, 0]] * 0.8 + 0.04  # the network: filaments, quiet, filaments
    rows = transfer.test_day_crops(CropSet(crops, data), np.arange(3), probs, DarkPixelRule(0.85, 0.01), threshold=0.0)
    assert rows["network"].tolist() == ["filaments", "quiet", "filaments"]
    assert rows["network_right"].tolist() == [True, False, False]
    assert rows["rule"].tolist() == ["filaments", "quiet", "quiet"] and rows["rule_right"].tolist() == [True, False, True]
    assert rows["dark_share"].tolist() == [16 / 256, 0.0, 0.0] and rows["p_true"].round(2).tolist() == [0.84, 0.04, 0.04]
    # the two-way answer: log P(filaments) - log P(quiet) = +-log(21), cut at 0
    assert rows["network_score"].round(3).tolist() == [3.045, -3.045, 3.045]
    assert rows["two_way"].tolist() == ["filaments", "quiet", "filaments"] and rows["two_way_right"].tolist() == [True, False, False]
    fig = plot_roc(rows, trained_on="simulated images")
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and len(ax.lines) == 2 + 3 + 1  # two curves, three decisions, the diagonal; and a zoom
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # network: one filament tied with the quiet crop, one below it (0.25); rule: one above, one tied (0.75)
    assert "network: log P(filaments) - log P(quiet) (AUC 0.250)" in legend and "dark-pixel rule: share of dark pixels (AUC 0.750)" in legend
    assert ax.lines[4].get_xydata().tolist() == [[1.0, 0.5]]  # five-way: the quiet crop called a filament, one of two filaments found
    assert "network trained on simulated images" in fig._suptitle.get_text().replace("\n", " ")
    wrong = np.flatnonzero(~(rows["network_right"] & rows["rule_right"]))
    fig = plot_disagreements([crops[i].data for i in wrong], rows.iloc[wrong], title="held out")
    assert len(fig.axes) == 2
    texts = [[t for t in ax.texts] for ax in fig.axes]  # the two answers, annotations of each crop
    assert [t.get_color() for t in texts[0]] == [style.WRONG_COLOUR, style.WRONG_COLOUR]  # both wrong on the second crop
    assert [t.get_color() for t in texts[1]] == [style.WRONG_COLOUR, "black"]  # only the network on the third
    plt.close("all")


def test_every_sweep_model_is_scored_on_the_same_real_crops(tmp_path, monkeypatch):
    """Two rates whose models always answer one class: each row scores its own model, and the selected one is marked."""
    from datetime import datetime
    from pathlib import Path

    from slic_lib.model import Checkpoint, save_checkpoint
    from slic_lib.realdata.bbso import Crop
    from slic_lib.realdata.bbso_dataset import CropSet

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    run = start("smoke", "simulator", "simulator")
    assert transfer.bbso_sweep_models(run, None) is None  # no BBSO images: nothing to score
    lrs = run.profile.learning_rates
    answers = {lrs[0]: CLASSES.index("filaments"), lrs[1]: CLASSES.index("quiet")}
    for lr, answer in answers.items():
        model = tiny_base()
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(10.0 * torch.eye(len(CLASSES))[answer])
        metrics = {"best_epoch": 3, "best_val_accuracy": 0.9 + 0.05 * answer / 3}
        ckpt = Checkpoint(model.state_dict(), model.config, model.preprocessing, metrics=metrics)
        save_checkpoint(ckpt, run.models / "sweep" / f"lr_{lr:g}" / "best.pt")
        if lr == lrs[1]:
            save_checkpoint(replace(ckpt, metrics={**metrics, "selected_lr": lr}), run.best_model)
    labels = ["filaments", "quiet", "filaments", "filaments", "filaments", "quiet"]  # 2 development crops, then 4 held out
    image = np.ones((16, 16), np.float32)
    crops = [Crop(image, label, datetime(2015, 8, 1 if k < 2 else 7, 12), np.zeros_like(image, bool), (0, 0), 16, 1.0, (0.0, 0.0),
                  True, Path("b.jpg"), k) for k, label in enumerate(labels)]
    data = SolarData.from_arrays(np.ones((6, 32, 32), np.float32), [CLASSES.index(c) for c in labels], CLASSES,
                                 tiny_base().preprocessing, paths=[f"b.jpg#{k}" for k in range(6)])
    zero_shot = transfer.BBSOZeroShot(CropSet(crops, data), np.arange(2), np.arange(2, 6), {})
    table = transfer.bbso_sweep_models(run, zero_shot)
    assert table.learning_rate.tolist() == list(lrs) and table.selected.tolist() == [False, True]
    assert table.test_days.tolist() == [0.75, 0.25] and table.dev_days.tolist() == [0.5, 0.5]
    assert table.test_recall_filaments.tolist() == [1.0, 0.0] and table.test_recall_quiet.tolist() == [0.0, 1.0]
    assert table.epoch.tolist() == [3, 3] and table.validation_accuracy.iloc[1] == pytest.approx(0.95)
    assert summary.read(run.name)["transfer_learning"]["sweep_models"] == table.to_dict("records")
    (run.models / "sweep" / f"lr_{lrs[0]:g}" / "best.pt").unlink()
    with pytest.raises(SlicError, match="missing"):
        transfer.bbso_sweep_models(run, zero_shot)


def test_held_out_and_aia_sentences_take_their_numbers_from_the_results():
    pair = {"both": 82, "network_only": 6, "rule_only": 6, "neither": 2, "p_value": 1.0}
    two_way = {"threshold": -0.23, "paired_test_days": {**pair, "network_only": 7, "p_value": 0.9},
               "auc_test_days": {"network_auc": 0.986, "rule_auc": 0.992, "difference": -0.006, "ci95": [-0.023, 0.008]}}
    zero_shot = transfer.BBSOZeroShot(None, np.arange(3), np.arange(96), {"test_days": {"n": 96}}, {"paired_test_days": pair}, two_way)
    text = transfer.held_out_sentence(zero_shot)
    assert "96 crops: the network (five-way) is right on 88, the dark-pixel rule on 88; right where the other is wrong: " \
           "network 6, rule 6 (McNemar exact p = 1.000)" in text
    assert "cut at -0.23" in text and "network 7, rule 6 (McNemar exact p = 0.900)" in text and "difference -0.006" in text
    tiny_p = transfer.BBSOZeroShot(None, np.arange(3), np.arange(96), {"test_days": {"n": 96}},
                                   {"paired_test_days": {**pair, "network_only": 22, "rule_only": 2, "p_value": 3.6e-5}}, two_way)
    assert "(McNemar exact p < 0.001)" in transfer.held_out_sentence(tiny_p)
    table = pd.DataFrame({"kind": ["1600_sunspot", "304_prominence"], "failed_before": [True, False], "repaired": [True, False]})
    aia = SimpleNamespace(table=table, halpha={"n": 300, "accuracy_before": 1.0, "accuracy_after": 0.9867, "synthetic": True})
    assert transfer.aia_sentence(aia) == ("Failed before fine-tuning (under 50% right): 1600_sunspot; repaired (at least 80% right "
                                          "after): 1600_sunspot. H-alpha validation accuracy 1.000 before and 0.987 after, on 300 "
                                          "simulated images.")
    # no H-alpha dataset: transfer.aia fine-tunes without replay and has no cost to report
    assert transfer.aia_sentence(SimpleNamespace(table=table, halpha=None)).endswith("No H-alpha validation images to score the cost on (no dataset).")
