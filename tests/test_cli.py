"""The slic command: help everywhere, the catalogue, and one sentence for a user's bad input."""

import json
import subprocess
import sys

import pytest

from slic_lib.cli import COMMANDS, main
from slic_lib import inference
from slic_lib.inference import resolve_precision
from slic_lib.model import load_checkpoint, read_checkpoint


@pytest.fixture(scope="module")
def trained(dataset_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", str(dataset_file), "--out", str(out), "--lr", "5e-3", "--epochs", "6", "--batch-size", "8",
                 "--width", "0.125", "--hidden", "32", "--no-progress"])
    assert code == 0
    return out / "best.pt"


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name):
    proc = subprocess.run([sys.executable, "-m", "slic_lib.cli", name, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"slic {name}" in proc.stdout


def test_build_command_reports_counts(fits_tree, tmp_path, capsys):
    assert main(["build", str(fits_tree), "--out", str(tmp_path / "d.h5"), "--size", "32", "--workers", "1", "--no-progress"]) == 0
    assert "wrote 60 images" in capsys.readouterr().out


def test_train_then_evaluate(trained, dataset_file, tmp_path, capsys):
    assert load_checkpoint(trained).config.input_size == 32
    assert main(["evaluate", str(dataset_file), "--model", str(trained), "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert "confusion matrix" in out and "classified" in out
    assert '"accuracy"' in (tmp_path / "m.json").read_text()
    assert "in float32" in out  # the reference arithmetic unless asked


def test_evaluate_in_bfloat16_reports_it(trained, dataset_file, tmp_path, capsys):
    assert main(["evaluate", str(dataset_file), "--model", str(trained), "--precision", "bfloat16", "--json", str(tmp_path / "m.json")]) == 0
    assert "in bfloat16" in capsys.readouterr().out
    assert json.loads((tmp_path / "m.json").read_text())["timing"]["precision"] == "bfloat16"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["classify", "x.fits", "--model", "/nonexistent/model.pt"], "does not exist"),
        (["train", "/nonexistent/data.h5", "--out", "/tmp/x"], "does not exist"),
        (["build", "/nonexistent/folder", "--out", "/tmp/x.h5"], "not a folder"),
        (["evaluate", "/nonexistent/data.h5", "--model", "/nonexistent/m.pt"], "does not exist"),
    ],
)
def test_bad_input_is_one_sentence_and_nonzero_exit(argv, message):
    proc = subprocess.run([sys.executable, "-m", "slic_lib.cli", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]


def test_train_precision_auto_follows_the_cpu_and_float32_is_kept(dataset_file, tmp_path, capsys):
    args = ["train", str(dataset_file), "--lr", "5e-3", "--epochs", "1", "--batch-size", "8", "--width", "0.125", "--hidden", "32", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "auto")]) == 0
    auto = resolve_precision("auto", "cpu")
    assert f"(trained in {auto})" in capsys.readouterr().out
    assert read_checkpoint(tmp_path / "auto" / "best.pt").metrics["history"][-1]["precision"] == auto
    assert main([*args, "--out", str(tmp_path / "f32"), "--precision", "float32"]) == 0
    assert "(trained in float32)" in capsys.readouterr().out
    assert read_checkpoint(tmp_path / "f32" / "best.pt").train_config["cpu_amp"] is False


def test_train_refuses_bfloat16_where_the_cpu_would_only_emulate_it(dataset_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inference, "cpu_has_bf16", lambda: False)
    code = main(["train", str(dataset_file), "--out", str(tmp_path), "--epochs", "1", "--precision", "bfloat16", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "does not compute bfloat16 natively" in err[0]
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_train_runs_its_rates_side_by_side_with_workers(dataset_file, tmp_path, capsys):
    code = main(["train", str(dataset_file), "--out", str(tmp_path), "--lr", "5e-3", "--lr", "1e-3", "--epochs", "1", "--batch-size", "8",
                 "--width", "0.125", "--hidden", "32", "--workers", "2", "--no-progress"])
    assert code == 0 and (tmp_path / "best.pt").exists()
    assert all((tmp_path / f"lr_{lr}" / "last.pt").exists() for lr in ("0.005", "0.001"))
    assert "best: learning rate" in capsys.readouterr().out
