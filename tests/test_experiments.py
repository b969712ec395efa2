"""The paper's analysis on the published Slic release path, offline, with a fake release.

The release cannot be downloaded here; files in its exact layout (npz rows of a label and a
flattened square image in 0..255; a bare state_dict in the published key layout) are put
where ``slic fetch`` keeps them, which ``fetch`` accepts and records in its manifest.
"""

import numpy as np
import pytest
import torch

import slic_lib.experiments as experiments
from slic_lib import results, summary
from slic_lib.classes import CLASSES
from slic_lib.dataset import SolarData, load_dataset, save_dataset
from slic_lib.errors import SlicError
from slic_lib.model import ModelConfig, SlicNet
from slic_lib.preprocess import PreprocessConfig
from slic_lib.synthetic import generate
from slic_lib.train import TrainConfig, train


@pytest.fixture()
def fake_release(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    rel = tmp_path / "data" / "slic-release"
    rel.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("solar_train_data.npz", 20), ("solar_test_data.npz", 10)):
        labels = np.arange(n) % 5
        images = rng.integers(0, 256, (n, 64 * 64))
        np.savez_compressed(rel / name, data=np.concatenate([labels[:, None], images], axis=1))
    torch.manual_seed(0)
    torch.save(SlicNet(arch="slic", input_size=64, width=0.125, hidden=32).state_dict(), rel / "sol_class_4.pth")
    yield experiments


def test_release_path_gives_the_published_table_1(fake_release):
    experiments = fake_release
    run = experiments.start("smoke", "slic-release")
    data = experiments.curation.curate(run, progress=False).data
    assert len(data) == 30 and int(data.fixed_val.sum()) == 10 and not data.is_synthetic
    ev = experiments.validation.published_validation(run, progress=False)
    assert ev.report.n == 10  # exactly the released validation file
    np.testing.assert_array_equal(np.sort(ev.indices), np.arange(20, 30))
    s = summary.read("smoke")
    assert s["published"]["n"] == 10 and s["data_source"] == "slic-release" and s["synthetic_data"] is False
    assert not (run.figures / "table1_published_confusion_matrix.md").exists()
    # the figures are drawn from the stored results alone
    figs = experiments.validation._evaluation_figures(run, "validation_published", "table1_published", "Table 1 of sol_class_4.pth", False)
    assert len(figs) == 1 and (run.figures / "table1_published_confusion_matrix.md").exists()
    assert "Table 1 of sol_class_4.pth" in (run.figures / "table1_published_confusion_matrix.md").read_text()


def test_other_sources_skip_the_published_evaluation(fake_release):
    run = fake_release.start("smoke", "simulator")
    assert fake_release.validation.published_validation(run) is None


@pytest.fixture()
def grouped_run(tmp_path, monkeypatch):
    """A smoke run on a tiny dataset of 2-frame runs, with a selected model, in a private folder."""
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))

    run = experiments.start("smoke", "simulator")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 10)
    groups = np.arange(50) // 2  # runs of two frames, in time order within each class
    images = rng.random((50, 32, 32), dtype=np.float32) + labels[:, None, None] / 5
    data = SolarData.from_arrays(images, labels, CLASSES, PreprocessConfig(size=32), groups=groups, synthetic=True)
    save_dataset(data, run.dataset_path)
    model = ModelConfig(arch="slic", input_size=32, width=0.125, hidden=16)
    r = train(data, model, TrainConfig(epochs=1, batch_size=8, lr=1e-3, amp=False, device="cpu"), run.models / "sweep", progress=False)
    run.models.mkdir(parents=True, exist_ok=True)
    r.best_path.replace(run.best_model)
    return run


def test_split_comparison_reports_mean_and_spread_over_seeds(grouped_run):
    run = grouped_run
    validation = experiments.validation
    res = validation.split_comparison(run, progress=False, last_epochs=1)
    assert res["seeds"] == [run.profile.seed + k for k in range(3)]
    for kind in ("grouped", "every-nth"):
        per_seed = res[kind]["val_accuracy_per_seed"]
        assert len(per_seed) == 3 and res[kind]["val_accuracy_mean"] == pytest.approx(np.mean(per_seed))
        assert res[kind]["val_accuracy_std"] == pytest.approx(np.std(per_seed, ddof=1))
    diff = np.subtract(res["every-nth"]["val_accuracy_per_seed"], res["grouped"]["val_accuracy_per_seed"])
    assert res["inflation"] == pytest.approx(diff.mean()) and res["inflation_std"] == pytest.approx(diff.std(ddof=1))
    # every 10th frame of 2-frame runs: each validation frame's run-mate trains; grouped: none
    assert res["every-nth"]["validation_with_run_mate_in_training"] == 1.0 and res["every-nth"]["sequences_on_both_sides"] == 5
    assert res["grouped"]["validation_with_run_mate_in_training"] == 0.0 and res["grouped"]["sequences_on_both_sides"] == 0
    assert summary.read("smoke")["split_comparison"] == res
    assert len(results.read_table("smoke", "split_comparison")) == 6
    sentence = validation.split_sentence(res)
    assert f"{res['inflation']:+.3f}" in sentence and "3 seeds" in sentence
    assert all(f"{d:+.3f}" in sentence for d in res["inflation_per_seed"])
    mixed = {**res, "inflation_per_seed": [0.04, -0.01, 0.02]}
    assert "no consistent difference (every-10th higher in 2 of 3 seeds, lower in 1)" in validation.split_sentence(mixed)
    assert "higher in all 3 seeds" in validation.split_sentence({**res, "inflation_per_seed": [0.04, 0.01, 0.02]})
    fig = validation.split_figure(run)  # from the result files alone
    assert f"{res['inflation']:+.3f}" in fig._suptitle.get_text() and len(fig.axes[0].lines) == 4
    with pytest.raises(SlicError, match="at least 2 seeds"):
        validation.split_comparison(run, n_seeds=1)
    # a finished training is reused, but not once the dataset file has been rebuilt
    last = run.models / "split-grouped-seed0" / "last.pt"
    stamp = last.stat().st_mtime_ns
    assert validation.split_comparison(run, progress=False, last_epochs=1) == res and last.stat().st_mtime_ns == stamp
    save_dataset(load_dataset(run.dataset_path), run.dataset_path)
    validation.split_comparison(run, progress=False, last_epochs=1)
    assert last.stat().st_mtime_ns > stamp


def test_published_network_on_simulated_images_class_by_class(fake_release):
    run = fake_release.start("smoke", "simulator")
    generate(run.data_dir / "sim", per_class=8, seed=2, size=64, frames_per_sequence=run.profile.frames_per_sequence,
             workers=1, progress=False)
    curation = fake_release.curation
    res = curation.published_on_simulated(run, progress=False)
    assert set(res["per_class"]) == set(CLASSES) == set(res["class_names"])
    cm = np.asarray(res["confusion_matrix"])
    # 8 frames per class in runs of 4: one frame of each of the 2 runs per class
    assert res["n"] == cm.sum() == sum(v["n"] for v in res["per_class"].values()) == 2 * len(CLASSES)
    for i, c in enumerate(res["class_names"]):
        v = res["per_class"][c]
        assert v["n"] == cm[i].sum() == 2 and v["correct"] == cm[i, i] and v["accuracy"] == pytest.approx(v["correct"] / 2)
    assert res["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert summary.read("smoke")["published_on_simulated"]["n"] == res["n"]
    stored = results.read_arrays("smoke", "published_on_simulated")
    assert stored["probs"].shape == (res["n"], len(CLASSES)) and np.allclose(stored["probs"].sum(1), 1, atol=1e-5)
    assert f"{res['n']} simulated images" in curation.published_sentence(res)
    fig = curation.published_figure(run)  # from the result files alone
    assert "simulated" in fig._suptitle.get_text() and (run.figures / "table_published_on_simulated.md").exists()


def test_published_network_on_simulated_images_skips_without_the_release(fake_release):
    run = fake_release.start("smoke", "simulator")
    (fake_release.curation.release_weights()).unlink()
    assert fake_release.curation.published_on_simulated(run) is None
    assert "Skipped" in fake_release.curation.published_sentence(None)


def test_the_profiles_training_settings_reach_the_engine(tmp_path, monkeypatch):
    from slic_lib.experiments.run import Run
    from slic_lib.experiments.training import train_config
    from slic_lib.profiles import get_profile

    monkeypatch.setenv("SLIC_DATA", str(tmp_path))
    data = SolarData.from_arrays(np.zeros((5, 8, 8), np.float32), np.arange(5), CLASSES, PreprocessConfig(size=8, mode="relative"))
    cpu = train_config(Run(get_profile("cpu"), "simulator"), data)
    assert (cpu.randomise, cpu.label_smoothing, cpu.cpu_amp) == ("full", 0.0, True)
    tuned = train_config(Run(get_profile("cpu", cpu_amp=False, label_smoothing=0.1), "simulator"), data)
    assert (tuned.cpu_amp, tuned.label_smoothing) == (False, 0.1)
    assert get_profile("cpu").preprocessing == "relative" and get_profile("paper").preprocessing == "standard"


def test_a_folder_of_simulated_frames_as_data_source_is_one_sentence(tmp_path, monkeypatch):
    # notebook 01 stopped with "AssertionError: simulated images are marked as such"
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    generate(tmp_path / "sim", 2, seed=1, size=64, progress=False)
    run = experiments.start("smoke", str(tmp_path / "sim"))
    with pytest.raises(SlicError, match=r"10 of the 10 images in .*sim are simulated .*--data-source simulator"):
        experiments.curation.curate(run, progress=False)


def test_a_dataset_built_from_another_source_is_refused_by_the_notebooks_after_01(tmp_path, monkeypatch):
    # `--only 02` without the --data-source of 01 labelled simulated results with a folder's name
    from conftest import make_tree

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    mine = make_tree(tmp_path / "mine", per_class=2, frames_per_sequence=1, plain=True)
    simulated = experiments.start("smoke", "simulator")
    data = SolarData.from_arrays(np.ones((5, 8, 8), np.float32), np.arange(5), CLASSES, PreprocessConfig(size=8), synthetic=True,
                                 source="simulator")  # as notebook 01 builds it
    save_dataset(data, simulated.dataset_path)
    assert simulated.require_dataset() == simulated.dataset_path
    monkeypatch.chdir(tmp_path)
    theirs = experiments.start("smoke", "mine")  # relative: the same folder as its absolute name
    assert theirs.data_source == str(mine.resolve())
    with pytest.raises(SlicError, match=r"dataset.h5 was built from simulator, but this run's data source is .*mine: run notebook 01"):
        experiments.training.train_sweep(theirs)
    with pytest.raises(SlicError, match="was built from simulator"):
        experiments.validation.validation(theirs)
    with pytest.raises(SlicError, match="was built from simulator"):  # notebooks 04-06 through the model they need
        theirs.require_model()


def test_a_class_without_images_is_one_sentence_before_any_table(tmp_path, monkeypatch):
    # it was "AssertionError: every class has images", after the tables and figures of four classes
    import shutil

    from conftest import make_tree

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    mine = make_tree(tmp_path / "mine", per_class=2, frames_per_sequence=1, plain=True)
    shutil.rmtree(mine / "prominences")
    run = experiments.start("smoke", str(mine))
    with pytest.raises(SlicError, match=r"every class needs images, and .*mine has none of prominences \(no usable image in .*prominences\)"):
        experiments.curation.curate(run, progress=False)
    assert not results.exists("smoke", "dataset_counts", ".csv") and "data_source" not in summary.read("smoke")


def test_results_of_steps_that_do_not_apply_are_not_drawn_again_under_this_runs_label(fake_release):
    # a run on a user's folder redrew the simulator run's published-network tables, captioned with the folder
    experiments = fake_release
    run = experiments.start("smoke", "slic-release")
    experiments.curation.curate(run, progress=False)
    experiments.validation.published_validation(run, progress=False)
    experiments.validation._evaluation_figures(run, "validation_published", "table1_published", "Table 1 of sol_class_4.pth", False)
    results.write_json("smoke", "published_on_simulated", {"stale": True})
    summary.update("smoke", published_on_simulated={"stale": True})
    (run.figures / "fig_published_on_simulated.png").write_bytes(b"stale")
    assert (run.figures / "table1_published_confusion_matrix.md").exists()
    other = experiments.start("smoke", "simulator")
    assert experiments.validation.published_validation(other) is None
    assert experiments.curation.published_on_simulated(other) is None  # no simulated frames
    assert not results.exists("smoke", "validation_published") and not results.exists("smoke", "published_on_simulated")
    assert not {"published", "published_on_simulated"} & set(summary.read("smoke"))  # nor their numbers
    assert not (run.figures / "table1_published_confusion_matrix.md").exists()
    assert not (run.figures / "fig_published_on_simulated.png").exists()


def _evaluation(probs, labels, groups):
    from slic_lib.evaluate import Evaluation
    from slic_lib.metrics import report

    n = len(labels)
    data = SolarData.from_arrays(np.random.default_rng(0).random((n, 8, 8)), labels, CLASSES, PreprocessConfig(size=8), groups=groups)
    indices = np.arange(n)[::-1]  # the validation split in another order than the dataset's
    probs, labels = np.asarray(probs), np.asarray(labels)[indices]
    return Evaluation(report(labels, probs.argmax(1), CLASSES), probs, labels, indices, data)


def test_figure_7_without_errors_shows_the_closest_calls_one_per_observing_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    run = experiments.start("smoke", "simulator")
    labels = [3, 3, 3, 0, 0, 4]
    groups = [7, 7, 7, 8, 9, 9]  # dataset order; the evaluation sees them reversed
    true_p = np.array([0.95, 0.99, 0.97, 0.60, 0.62, 0.90])  # validation positions 0-5: runs 9, 9, 8, 7, 7, 7
    probs = np.zeros((6, 5))
    probs[np.arange(6), np.asarray(labels)[::-1]] = true_p
    probs[:, 1] += 1 - true_p
    experiments.validation._store_evaluation(run, "validation", _evaluation(probs, labels, groups))
    arr = results.read_arrays("smoke", "validation")
    # least sure first, one image per run: run 7's position 3 (0.60, not 4 at 0.62), run 9's 0, run 8's 2
    assert arr["close_positions"].tolist() == [3, 0, 2]
    figs = experiments.validation._evaluation_figures(run, "validation", "table1", "Table 1", True)
    assert "closest calls, one per observing run" in figs[-1].get_suptitle()
    assert [ax.get_title().split(",")[0] for ax in figs[-1].axes if ax.get_title()] == ["#3: quiet", "#0: sunspots", "#2: filaments"]
    probs[0] = [0, 0.9, 0, 0, 0.1]  # now one error
    experiments.validation._store_evaluation(run, "validation", _evaluation(probs, labels, groups))
    figs = experiments.validation._evaluation_figures(run, "validation", "table1", "Table 1", True)
    assert "1 misclassified of 6" in figs[-1].get_suptitle()
    assert [ax.get_title() for ax in figs[-1].axes if ax.get_title()][0].startswith("#0: true: sunspots")


def test_resolution_sentence_takes_every_number_from_the_result():
    triplet = {k: {"predicted": p, "scale_arcsec": a} for k, p, a in
               (("sot_full", "sunspots", 0.16), ("sot_degraded", "sunspots", 0.6), ("aia_1600", "flares", 0.6))}
    res = {"triplet": triplet, "sot_to_aia_factor": 3.6, "curve_images": 300,
           "curve": [{"factor": f, "accuracy": a} for f, a in ((1, 0.99), (2, 0.98), (3.6, 0.90), (8, 0.95))],
           "curve_psf_only": [{"factor": f, "accuracy": a} for f, a in ((1, 0.99), (2, 0.98), (3.6, 0.97), (8, 0.95))]}
    table = experiments.resolution.curve_table(res)
    assert table.shape == (4, 3) and table.iloc[2, 1:].tolist() == [0.90, 0.97]
    text = experiments.resolution.sentence(res)
    assert "AIA 1600 Å as flares" in text and "0.990 undegraded, 0.900 at its lowest (factor 3.6), to 0.950 at factor 8" in text
    assert "at AIA's factor 3.6 it is 0.900" in text and "Resampling twice costs at most 0.070 (factor 3.6)" in text
    falling = {**res, "curve": [{"factor": f, "accuracy": a} for f, a in ((1, 0.7), (2, 0.68), (8, 0.63))],
               "curve_psf_only": [{"factor": f, "accuracy": a} for f, a in ((1, 0.7), (2, 0.68), (8, 0.63))]}
    text = experiments.resolution.sentence(falling)
    assert "from 0.700 undegraded to 0.630 at factor 8; at factor 2, nearest AIA's 3.6, it is 0.680." in text and "lowest" not in text
    flat = {**res, "curve": [{"factor": f, "accuracy": 1.0} for f in (1, 8)], "curve_psf_only": [{"factor": f, "accuracy": 1.0} for f in (1, 8)]}
    assert "accuracy is 1.000 at every factor from 1 to 8." in experiments.resolution.sentence(flat)
    no_curve = experiments.resolution.sentence({**res, "curve": None})
    assert experiments.resolution.curve_table({**res, "curve": None}) is None and "held-out" not in no_curve


def test_the_adversarial_sentence_names_what_is_and_is_not_reproduced():
    from slic_lib import observations

    adversarial = experiments.adversarial
    obs = observations.observation("ar11638-1600")
    wrong = adversarial._sequence_summary(obs, list(CLASSES), np.eye(5)[[1, 1, 4]])  # flares, flares, sunspots
    right = adversarial._sequence_summary(observations.observation("prominence-2013-01-01-ne-304"), list(CLASSES), np.eye(5)[[2, 2]])
    assert wrong["fails_here"] is True and right["fails_here"] is False and wrong["paper"] == obs.paper_result
    text = adversarial.sentence({"a": wrong, "b": right})
    assert "The paper's network was wrong on all 2 sequences, at least in part; this run's network is wrong on most frames of 1." in text
    assert f"Mostly wrong here: a (flares 2, sunspots 1 of 3 frames; the paper: {obs.paper_result})." in text
    assert "Mostly right here: b (prominences 2 of 2 frames; the paper: classified as flares)." in text
    one = adversarial.sentence({"b": adversarial._sequence_summary(observations.observation("prominence-2013-01-01-ne-304"),
                                                                   list(CLASSES), np.eye(5)[[1]])})
    assert "wrong on the one sequence" in one and "(flares 1 of 1 frame;" in one
