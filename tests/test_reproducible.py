"""The smoke profile end to end, twice: the same numbers both times, and every figure redrawn from
the stored result files alone (nothing recomputed)."""

from __future__ import annotations

import shutil

import matplotlib.pyplot as plt
import pytest

from slic_lib import experiments, results, summary

pytestmark = pytest.mark.slow

STEPS = ("curation", "training", "validation", "resolution", "adversarial")


def _point_at(root, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(root / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(root / "figures"))


def _smoke_run(root, monkeypatch):
    _point_at(root, monkeypatch)
    run = experiments.start("smoke", "simulator", "simulator")
    experiments.curation.curate(run, progress=False)
    experiments.curation.realism_check(run)
    experiments.training.train_sweep(run, progress=False)
    experiments.validation.validation(run, progress=False)
    experiments.validation.inference_timing(run)
    experiments.validation.split_comparison(run, progress=False)
    experiments.resolution.resolution_test(run, progress=False)
    experiments.adversarial.adversarial(run, progress=False)
    return root, summary.read(run.name)


def _numbers(obj):
    """The summary without what may differ between identical runs: timings and folders."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items() if "seconds" not in k and k not in ("checkpoint", "base_model")}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        first = _smoke_run(tmp_path_factory.mktemp("first"), mp)
        second = _smoke_run(tmp_path_factory.mktemp("second"), mp)
    finally:
        mp.undo()
    return first, second


def test_two_smoke_runs_give_identical_numbers(two_runs):
    (_, a), (_, b) = two_runs
    assert {"validation_accuracy", "best_learning_rate", "resolution_test", "adversarial", "split_comparison"} <= set(a)
    assert _numbers(a) == _numbers(b)


def test_every_figure_is_redrawn_from_the_result_files_alone(two_runs, monkeypatch):
    (root, _), _ = two_runs
    _point_at(root, monkeypatch)  # the run's folders are read from the environment at call time
    run = experiments.start("smoke", "simulator", "simulator")
    assert str(run.data_dir).startswith(str(root))
    # no dataset, no model, no simulated FITS: only the result files are left to draw from
    shutil.rmtree(run.figures)
    for path in (run.dataset_path, run.best_model):
        path.unlink()
    for folder in ("sim", "aia", "resolution_test"):
        shutil.rmtree(run.data_dir / folder, ignore_errors=True)
    assert results.exists(run.name, "validation") and not run.best_model.exists()
    drawn = {}
    for step in STEPS:
        figs = getattr(experiments, step).figures(run)
        drawn[step] = len(figs)
        plt.close("all")
    pngs = {p.stem for p in run.figures.glob("*.png")}
    assert {"fig_data_examples", "fig_lr_sweep", "fig1_fig2_architecture_trained", "table1_confusion_matrix", "fig3_examples",
            "fig7_misclassified", "fig_inference_time", "fig5_resolution_triplet", "fig_resolution_curve"} <= pngs
    assert sum(p.startswith("fig_aia_") for p in pngs) == drawn["adversarial"] == 9
    assert {p.stem for p in run.figures.glob("*.md")} >= {"lr_sweep", "table1_confusion_matrix", "precision_recall", "table_adversarial"}
