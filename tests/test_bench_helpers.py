"""The benchmarks' shared helpers (benchmarks/benchlib.py): interleaving, peaks, FLOPs and the table."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import benchlib  # noqa: E402


def test_interleaved_runs_round_robin_after_warmup_and_returns_medians(monkeypatch):
    calls = []
    clock = iter(range(1000))
    monkeypatch.setattr(benchlib.time, "perf_counter", lambda: next(clock))
    seconds = benchlib.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed rounds, alternating
    assert seconds == {"a": 1, "b": 1}  # each call spans one tick of the fake clock
    with pytest.raises(ValueError):
        benchlib.interleaved({"a": lambda: None}, repeats=0)


def test_peaks_turn_matrix_product_seconds_into_gflops_and_leave_the_rest():
    seconds = {"net": 2.0, "peak float32": 0.5}
    peak = benchlib.peaks(seconds, n=1000)
    assert peak == {"float32": pytest.approx(2e9 / 0.5 / 1e9)}
    assert seconds == {"net": 2.0}
    assert set(benchlib.peak_variants(n=8)) == {"peak float32", "peak bfloat16"}


def test_network_flops_counts_two_per_multiply_add():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    expected = 2 * (8 * 8 * 4 * 9) + 2 * (4 * 8 * 8 * 5)
    assert benchlib.network_flops(net, 8) == expected
    assert net.training  # mode restored


def test_rows_give_speed_ups_either_way_and_the_table_shows_the_peak():
    slower = benchlib.Row("x", "old", "new", 3.0, 1.0, unit="s")
    faster = benchlib.Row("y", "old", "new", 10.0, 25.0, unit="images/s", higher_is_better=True, gflops=50.0, peak_name="bfloat16")
    assert slower.ratio == 3.0 and faster.ratio == 2.5
    table = benchlib.Table("t", peaks={"bfloat16": 100.0}, rows=[slower, faster])
    text = table.render()
    assert "bfloat16 100 GFLOP/s" in text and "50 % of bfloat16" in text and "2.50x" in text
    assert "machine:" in text and str(torch.__version__) in text


def test_fits_files_for_benchmarks_are_readable_images(tmp_path):
    from slic_lib.preprocess import PreprocessConfig, preprocess

    paths = benchlib.write_fits_files(tmp_path, 3, size=32, classes=("a", "b"))
    assert [p.parent.name for p in paths] == ["a", "b", "a"]
    assert preprocess(paths[0], PreprocessConfig(size=16)).shape == (16, 16)


def test_the_sweep_benchmark_runs_and_prints_one_row(capsys):
    import bench_sweep

    table = bench_sweep.main(["--n", "40", "--epochs", "1", "--repeats", "1"])
    assert len(table.rows) == 1 and table.rows[0].baseline_value > 0 and table.rows[0].candidate_value > 0
    assert "sweep wall time" in capsys.readouterr().out


def test_the_paper_bound_counts_the_profiles_epoch_runs(capsys, tmp_path, monkeypatch):
    import json

    import bench_paper_bound

    from slic_lib.profiles import get_profile

    monkeypatch.setenv("SLIC_FIGURES", str(tmp_path))  # no run yet: the profile's epochs, no notebook times
    floor = bench_paper_bound.main(["--profile", "smoke", "--n", "256"])
    out = capsys.readouterr().out
    p = get_profile("smoke")
    assert floor > 0 and "the training alone at 100 % of peak" in out and "no notebook times" in out
    assert f"| {len(p.learning_rates) * p.epochs} |" in out  # the sweep's epoch-runs
    # after a run: its split epochs and notebook times, from its summary.json
    (tmp_path / "smoke").mkdir(exist_ok=True)
    (tmp_path / "smoke" / "summary.json").write_text(json.dumps(
        {"split_comparison": {"epochs": 3}, "notebook_seconds": {"01_data_curation.ipynb": 10.0, "02_training_sweep.ipynb": 99.0}}))
    assert bench_paper_bound.last_run("smoke") == (3, {"01_data_curation.ipynb": 10.0, "02_training_sweep.ipynb": 99.0})
    bench_paper_bound.main(["--profile", "smoke", "--n", "256"])
    out = capsys.readouterr().out
    assert "3 seeds x 2 splits x 3 epochs" in out and "without the two that train: 10 s" in out
