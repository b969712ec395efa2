"""The headline table names the commit and puts the dark-pixel rule beside the network on real crops."""

from __future__ import annotations

import json

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
        "sweep_models": [{"learning_rate": 3e-3, "selected": True, "test_days": 0.9375, "simulated_validation": 1.0},
                         {"learning_rate": 1e-3, "selected": False, "test_days": 0.8125, "simulated_validation": 0.98667}],
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


def test_a_whole_paper_run_starts_a_new_summary_and_only_adds_to_it(tmp_path, monkeypatch):
    # numbers of an interrupted notebook 06 appeared in the headline of a later run without 06
    import argparse

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path / "figures"))
    summary.update("smoke", profile="smoke", transfer_learning={"zero_shot": {}})
    headline.write("smoke")
    seen = []

    def notebooks(profile, data_source, aia_source, names, kernel):
        seen.append(dict(summary.read("smoke")))
        raise SlicError("stop here")

    monkeypatch.setattr(pipeline, "run_notebooks", notebooks)
    args = dict(profile="smoke", data_source=None, aia_source=None, with_transfer=False, kernel=None)
    try:
        pipeline.run(argparse.Namespace(only=["03_validation_metrics.ipynb"], **args))
    except SlicError:
        pass
    assert "transfer_learning" in seen[-1]  # --only adds to the last run's summary
    try:
        pipeline.run(argparse.Namespace(only=None, **args))
    except SlicError:
        pass
    assert seen[-1] == {}  # a whole run starts afresh
    folder = summary.path("smoke").parent
    assert "transfer_learning" in json.loads((folder / "summary.previous.json").read_text())  # kept, not lost
    assert (folder / "summary.previous.json").exists() and (folder / "headline.previous.md").exists()
    assert not (folder / "headline.md").exists()


def test_a_notebook_name_that_is_not_there_is_refused_before_any_runs(tmp_path, monkeypatch):
    import pytest

    from slic_lib import pipeline
    from slic_lib.errors import SlicError

    with pytest.raises(SlicError, match="nonexist.ipynb is missing"):
        pipeline.run_notebooks("smoke", notebooks=("01_data_curation.ipynb", "nonexist.ipynb"))  # 01 had run first
