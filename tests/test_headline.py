"""The headline table names the commit and puts the dark-pixel rule beside the network on real crops."""

from __future__ import annotations

import json
import os

from slic_lib import headline, summary


def test_real_crop_row_has_the_rule_beside_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    summary.update("smoke", synthetic_data=True, transfer_learning={
        "zero_shot": {"test_days": {"accuracy": 0.9375, "balanced_accuracy": 0.94, "n": 96}},
        "baseline": {"test_days": {"accuracy": 0.875, "balanced_accuracy": 0.88, "n": 96},
                     "paired_test_days": {"both": 80, "network_only": 10, "rule_only": 4, "neither": 2, "p_value": 0.179}},
        "two_way": {"test_days": {"accuracy": 0.96875, "balanced_accuracy": 0.96875, "n": 96},
                    "paired_test_days": {"both": 82, "network_only": 11, "rule_only": 2, "neither": 1, "p_value": 0.0225},
                    "auc_test_days": {"network_auc": 0.991, "rule_auc": 0.962, "difference": 0.029, "ci95": [0.004, 0.061]}},
        "sweep_models": [{"learning_rate": 3e-3, "selected": True, "test_days": 0.9375, "validation_accuracy": 1.0},
                         {"learning_rate": 1e-3, "selected": False, "test_days": 0.8125, "validation_accuracy": 0.98667}],
    })
    text = headline.table("smoke")
    row = next(line for line in text.splitlines() if "real BBSO" in line)
    assert "accuracy 0.94, balanced 0.94 (96 crops)" in row
    assert "dark-pixel rule" in row and "accuracy 0.88, balanced 0.88" in row
    assert "network 10, rule 4 (McNemar exact p = 0.18)" in row
    assert "H-alpha data: simulated" in text.splitlines()[0]
    two_way = next(line for line in text.splitlines() if "two-way" in line)
    assert "accuracy 0.97, balanced 0.97; right where the rule is wrong: network 11, rule 2 (McNemar exact p = 0.02)" in two_way
    assert "ROC AUC network 0.991, rule 0.962 (difference +0.029, 95 % interval +0.004 to +0.061)" in two_way
    spread = next(line for line in text.splitlines() if "every learning rate" in line)
    assert "0.003: 0.94 (selected), 0.001: 0.81 (held-out accuracy; simulated validation 1.000, 0.987)" in spread


def test_without_a_rule_the_row_says_nothing_of_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    summary.update("smoke", transfer_learning={"zero_shot": {"test_days": {"accuracy": 0.5, "balanced_accuracy": 0.5, "n": 4}}})
    row = next(line for line in headline.table("smoke").splitlines() if "real BBSO" in line)
    assert "rule" not in row


def _complete_summary(**extra) -> None:
    """A summary with every key slic paper requires (summary.REQUIRED)."""
    summary.update("smoke", profile="smoke", data_source="simulator", synthetic_data=True, validation_accuracy=1.0,
                   best_learning_rate=3e-3, best_epoch=1, confusion_matrix=[[1]], precision={}, recall={}, inference_seconds=[],
                   resolution_test={}, adversarial={}, **extra)
    assert not summary.missing("smoke")


def _stop_in_first_notebook(monkeypatch, seen: list) -> None:
    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    def execute(prof, names, data_source, aia_source, kernel, progress, pm):
        seen.append(dict(summary.read("smoke")))
        raise SlicError("stop here")

    monkeypatch.setattr(pipeline, "_execute", execute)


def _paper(only=None):
    import argparse

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    try:
        pipeline.run(argparse.Namespace(only=only, profile="smoke", data_source=None, aia_source=None, with_transfer=False, kernel=None))
    except SlicError:
        pass


def test_a_whole_paper_run_starts_a_new_summary_and_only_adds_to_it(tmp_path, monkeypatch):
    # numbers of an interrupted notebook 06 appeared in the headline of a later run without 06
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    _complete_summary(transfer_learning={"zero_shot": {}})
    headline.write("smoke")
    seen = []
    _stop_in_first_notebook(monkeypatch, seen)
    _paper(only=["03_validation_metrics.ipynb"])
    assert "transfer_learning" in seen[-1]  # --only adds to the last run's summary
    _paper()
    assert seen[-1] == {}  # a whole run starts afresh
    folder = summary.path("smoke").parent
    assert "transfer_learning" in json.loads((folder / "summary.previous.json").read_text())  # kept, not lost
    assert (folder / "summary.previous.json").exists() and (folder / "headline.previous.md").exists()
    assert not (folder / "headline.md").exists()


def test_failed_runs_do_not_push_out_the_last_complete_summary(tmp_path, monkeypatch):
    # two failed whole runs in a row left summary.json and summary.previous.json both the failed run's
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    _complete_summary(note="the good run")
    headline.write("smoke")
    folder = summary.path("smoke").parent

    def failed_run():
        summary.start("smoke")
        summary.update("smoke", profile="smoke", note="a failed run")  # notebook 01 wrote, 02 failed

    failed_run()
    failed_run()
    assert json.loads((folder / "summary.previous.json").read_text())["note"] == "the good run"
    assert (folder / "headline.previous.md").exists() and not (folder / "headline.md").exists()
    assert summary.read("smoke") == {"profile": "smoke", "note": "a failed run"}


def test_finishing_an_interrupted_run_with_only_writes_the_headline(tmp_path, monkeypatch):
    # the documented way to continue (--only the notebooks left) never gave a headline
    from slic_lib import pipeline

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    summary.update("smoke", profile="smoke")

    def execute(prof, names, data_source, aia_source, kernel, progress, pm):
        _complete_summary()
        return summary.read("smoke")

    monkeypatch.setattr(pipeline, "_execute", execute)
    _paper(only=["05_adversarial_aia.ipynb"])
    head = summary.path("smoke").parent / "headline.md"
    assert head.exists()
    head.unlink()
    _paper(only=["02_training_sweep.ipynb"])  # a complete run's summary, one notebook redone: no new headline
    assert not head.exists()  # (it would mix this notebook's numbers with the others' under one commit)


def test_each_notebooks_time_is_kept_as_it_ends_and_an_interrupt_says_how_to_go_on(tmp_path, monkeypatch, capsys):
    # the times were written after the last notebook only: an interrupted run lost them all; and a rerun
    # of the same command, what a user does after Ctrl-C, started afresh
    import papermill

    from slic_lib import pipeline

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    calls = []

    def execute_notebook(nb, out, **kwargs):
        calls.append(out)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    try:
        pipeline.run_notebooks("smoke", notebooks=("01_data_curation.ipynb", "02_training_sweep.ipynb"), progress=False)
    except KeyboardInterrupt:
        pass
    assert list(summary.read("smoke")["notebook_seconds"]) == ["01_data_curation.ipynb"]
    # the executed copies go beside this run's figures, not into the checkout shared by every SLIC_FIGURES
    assert calls[0] == tmp_path / "figures" / "smoke" / "executed" / "01_data_curation.ipynb"
    assert "to continue: slic paper --profile smoke --only 02_training_sweep.ipynb" in capsys.readouterr().err


def test_only_takes_a_notebook_without_its_suffix(tmp_path, monkeypatch, capsys):
    from slic_lib import pipeline

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    ran = []
    monkeypatch.setattr(pipeline, "_execute", lambda prof, names, *rest: ran.append(names) or {})
    _paper(only=["03_validation_metrics"])
    assert ran == [("03_validation_metrics.ipynb",)] and "ran 1 notebook (smoke profile)" in capsys.readouterr().out
    _paper(only=["notebooks/04_resolution_degradation.ipynb"])  # as the shell completes it from the repository
    assert ran[-1] == ("04_resolution_degradation.ipynb",)


def test_a_second_paper_run_of_one_profile_is_refused(tmp_path, monkeypatch):
    # two runs side by side: one trained on the other's dataset, and both failed with the same assertion
    import pytest
    from filelock import FileLock

    from slic_lib import pipeline
    from slic_lib.errors import SlicError
    from slic_lib.paths import figures_dir

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    _complete_summary()
    with FileLock(str(figures_dir("smoke") / ".slic-paper.lock")):
        with pytest.raises(SlicError, match="another run of profile smoke's notebooks"):
            pipeline.run_notebooks("smoke", notebooks=("01_data_curation.ipynb",), new_summary=True)
    assert not summary.missing("smoke")  # the running one's summary was left alone


def test_relative_paths_mean_the_users_folder_not_the_notebooks(tmp_path, monkeypatch):
    # the kernels run in notebooks/: a relative --data-source was "unknown", a relative SLIC_FIGURES a folder in the repository
    import pytest

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    monkeypatch.setenv("SLIC_FIGURES", "out/figures")
    monkeypatch.setenv("SLIC_DATA", "~/slic-data")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert pipeline.absolute_paths("mine") == str(tmp_path / "mine")
    assert pipeline.absolute_paths("simulator") == "simulator"
    assert os.environ["SLIC_FIGURES"] == str(tmp_path / "out" / "figures")
    assert os.environ["SLIC_DATA"] == str(tmp_path / "home" / "slic-data")
    monkeypatch.setenv("SLIC_DATA_SOURCE", "mine")
    assert pipeline.absolute_paths(None) is None and os.environ["SLIC_DATA_SOURCE"] == str(tmp_path / "mine")
    with pytest.raises(SlicError, match="the data source theirs is not a folder"):
        pipeline.absolute_paths("theirs")


def test_a_notebook_name_that_is_not_there_is_refused_before_any_runs(tmp_path, monkeypatch):
    import pytest

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    with pytest.raises(SlicError, match="nonexist.ipynb is missing"):
        pipeline.run_notebooks("smoke", notebooks=("01_data_curation.ipynb", "nonexist.ipynb"))  # 01 had run first


def test_fido_without_the_manual_sot_frames_is_refused_before_any_notebook(tmp_path, monkeypatch):
    # a whole run trained for minutes in 01-03 and then stopped in 04 on the SOT frame no Fido client serves
    import pytest

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    ran = []
    monkeypatch.setattr(pipeline, "_execute", lambda *args: ran.append(args) or {})
    with pytest.raises(SlicError, match="--aia-source fido needs frames no Fido client serves: .*ar11108-sot-halpha"):
        pipeline.run_notebooks("smoke", aia_source="fido", notebooks=pipeline.PAPER_NOTEBOOKS)
    assert not ran


def test_the_lock_takes_one_folder_once_and_an_unwritable_one_is_one_sentence(tmp_path, monkeypatch):
    import pytest

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "same"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "same"))  # one folder for both: it refused every run as "another"
    with pipeline.one_run_at_a_time("smoke"):
        pass
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "ro"))
    (tmp_path / "ro" / "smoke").mkdir(parents=True)
    (tmp_path / "ro" / "smoke" / ".slic-paper.lock").mkdir()  # cannot be opened as a file, even by root
    with pytest.raises(SlicError, match="cannot write the lock .*set SLIC_DATA and SLIC_FIGURES to writable places"):
        with pipeline.one_run_at_a_time("smoke"):
            pass


def test_a_summary_of_the_previous_version_still_makes_a_headline(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    summary.update("smoke", synthetic_data=True, transfer_learning={"sweep_models": [
        {"learning_rate": 3e-3, "selected": True, "test_days": 0.9, "simulated_validation": 1.0},
        {"learning_rate": 1e-3, "selected": False, "test_days": 0.8, "simulated_validation": 0.98}]})
    assert "simulated validation 1.000, 0.980" in headline.table("smoke")


def test_nbval_takes_the_profile_lock_as_slic_paper_does(tmp_path, monkeypatch):
    # `make notebooks` wrote the profile's dataset and models while a slic paper of it ran
    import subprocess
    import sys

    from slic_lib import pipeline
    from slic_lib.paths import notebooks_dir

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("SLIC_PROFILE", "smoke")
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "--collect-only", "-q", "-p", "no:cacheprovider",
               str(notebooks_dir() / "01_data_curation.ipynb")]
    with pipeline.one_run_at_a_time("smoke"):
        held = subprocess.run(command, capture_output=True, text=True, cwd=notebooks_dir().parent)
    assert held.returncode == 3 and "another run of profile smoke's notebooks" in held.stdout + held.stderr
    free = subprocess.run(command, capture_output=True, text=True, cwd=notebooks_dir().parent)
    assert free.returncode == 0, free.stdout + free.stderr
    # under pytest-xdist the controller holds the lock for its workers, which must not refuse to start
    # (--collect-only starts no workers, so two one-cell notebooks beside a copy of the conftest run)
    import shutil

    import nbformat

    here = tmp_path / "nb"
    here.mkdir()
    shutil.copy(notebooks_dir() / "conftest.py", here / "conftest.py")
    for name in ("a", "b"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), here / f"{name}.ipynb")
    workers = subprocess.run([*command[:3], "-n", "2", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(here)],
                             capture_output=True, text=True, cwd=here)
    assert workers.returncode == 0 and "2 passed" in workers.stdout, workers.stdout + workers.stderr
