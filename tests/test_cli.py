"""The slic command: help everywhere, the catalogue, and one sentence for a user's bad input."""

import json
import shutil
import subprocess
import sys

import pytest

from slic_lib.errors import SlicError

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
    assert "the validation split of the model's training settings" in out  # which images were scored


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
        (["build", "/tmp", "--out", "/tmp"], "is a folder; name the dataset file"),
        (["build", "/tmp", "--out", "/tmp/x.npz"], "name it *.h5"),
        (["build", "/tmp", "--out", "/tmp/x.h5", "--size", "0"], "a multiple of 32"),
        (["build", "/tmp", "--out", "/tmp/x.h5", "--size", "48"], "a multiple of 32 (five 2x2 pools); use 64"),  # built, then train refused it
        (["train", "/tmp", "--out", "/tmp/x"], "is a folder, not a dataset file; build one"),
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


def test_train_input_errors_are_one_sentence(dataset_file, tmp_path, capsys):
    base = ["train", str(dataset_file), "--epochs", "1", "--batch-size", "8", "--hidden", "32", "--no-progress"]
    (tmp_path / "file").write_text("")
    for extra, words in [(["--out", str(tmp_path / "w"), "--width", "0"], "width must be > 0"),
                         (["--out", str(tmp_path / "file")], "is a file; name a folder")]:
        assert main([*base, "--width", "0.125", *extra]) == 1
        assert words in capsys.readouterr().err


def test_one_class_is_refused_by_train_and_noted_by_build(fits_tree, tmp_path, capsys):
    import shutil

    root = tmp_path / "one"
    shutil.copytree(fits_tree / "sunspots", root / "sunspots")
    shutil.copytree(fits_tree / "quiet", root / "quiet_sun")  # a likely name that is not a class
    assert main(["build", str(root), "--out", str(tmp_path / "one.h5"), "--size", "32", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "ignored the folder(s) quiet_sun" in out and "only one class has images" in out
    assert main(["train", str(tmp_path / "one.h5"), "--out", str(tmp_path / "r"), "--epochs", "1", "--no-progress"]) == 1
    assert "one class only (sunspots)" in capsys.readouterr().err


def test_calibration_survives_a_rerun_of_a_finished_training_and_a_changed_setting_is_named(dataset_file, tmp_path, capsys):
    args = ["train", str(dataset_file), "--out", str(tmp_path), "--lr", "5e-3", "--epochs", "2", "--batch-size", "8",
            "--width", "0.125", "--hidden", "32", "--no-progress"]
    assert main(args) == 0
    assert main(["calibrate", str(tmp_path / "best.pt"), str(dataset_file)]) == 0
    assert main(args) == 0  # nothing left to train
    kept = read_checkpoint(tmp_path / "best.pt").metrics
    assert kept.get("calibration") is not None
    from slic_lib import quantize

    assert kept.get("int8") is not None or not quantize.supported()  # the int8 scales of the same weights too
    assert (tmp_path / "best.pt").stat().st_mode & 0o044  # readable by the group, as umask allows, not mkstemp's 0600
    assert main([*args[:-1], "--batch-size", "4", "--no-progress"]) == 1
    assert "batch_size (8 -> 4)" in capsys.readouterr().err


def test_a_resume_on_another_dataset_is_refused(dataset_file, tmp_path, capsys):
    from conftest import make_tree

    other = tmp_path / "other.h5"
    assert main(["build", str(make_tree(tmp_path / "tree", seed=7)), "--out", str(other), "--size", "32", "--no-progress"]) == 0
    args = ["--out", str(tmp_path / "run"), "--lr", "5e-3", "--batch-size", "8", "--width", "0.125", "--hidden", "32",
            "--no-progress"]
    assert main(["train", str(dataset_file), *args, "--epochs", "1"]) == 0
    capsys.readouterr()
    # the same settings, more epochs, other images: validation accuracies of two datasets must not be compared
    assert main(["train", str(other), *args, "--epochs", "2"]) == 1
    assert "the training data (another dataset, split or class list)" in capsys.readouterr().err
    assert main(["train", str(dataset_file), *args, "--epochs", "2"]) == 0  # its own data resumes


def test_calibrate_refuses_a_dataset_of_other_preprocessing(trained, fits_tree, tmp_path, capsys):
    other = tmp_path / "standard.h5"
    assert main(["build", str(fits_tree), "--out", str(other), "--size", "32", "--mode", "slic-npz", "--no-progress"]) == 0
    before = read_checkpoint(trained).metrics.get("calibration")
    assert main(["calibrate", str(trained), str(other)]) == 1
    assert "preprocessed with" in capsys.readouterr().err
    assert read_checkpoint(trained).metrics.get("calibration") == before  # nothing was rewritten


def test_evaluate_refuses_a_dataset_of_other_classes(trained, dataset_file, tmp_path, capsys):
    from dataclasses import replace

    from slic_lib.dataset import load_dataset, save_dataset

    data = load_dataset(dataset_file)
    save_dataset(replace(data, class_names=tuple(f"{c}_x" for c in data.class_names)), tmp_path / "renamed.h5")
    assert main(["evaluate", str(tmp_path / "renamed.h5"), "--model", str(trained), "--subset", "all"]) == 1
    assert "differ from the model's" in capsys.readouterr().err  # before: another model's classes scored under these names


def test_a_damaged_checkpoint_does_not_block_a_rerun_or_says_how(dataset_file, tmp_path, capsys):
    def train(epochs: int) -> int:
        return main(["train", str(dataset_file), "--out", str(tmp_path), "--lr", "5e-3", "--epochs", str(epochs),
                     "--batch-size", "8", "--width", "0.125", "--hidden", "32", "--no-progress"])

    assert train(1) == 0
    best = tmp_path / "best.pt"
    best.write_bytes(best.read_bytes()[:1000])  # a copy cut short
    assert train(1) == 0 and read_checkpoint(best).epoch == 1  # written again from the rate's own best
    last = tmp_path / "lr_0.005" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    capsys.readouterr()
    assert train(2) == 1
    assert "--no-resume" in capsys.readouterr().err


def test_a_dataset_file_of_another_version_is_one_sentence(dataset_file, tmp_path):
    import shutil

    import h5py

    from slic_lib.dataset import load_dataset

    copy = tmp_path / "newer.h5"
    shutil.copy(dataset_file, copy)
    with h5py.File(copy, "a") as h5:
        h5.attrs["preprocessing"] = '{"size": 32, "mode": "standard", "a_new_field": 1}'
    with pytest.raises(SlicError, match="cannot read.*rebuild it"):
        load_dataset(copy)


def test_evaluate_refuses_a_json_path_it_cannot_write_before_the_work(trained, dataset_file, tmp_path, capsys):
    model = tmp_path / "model.pt"
    shutil.copy(trained, model)
    for bad in (tmp_path, tmp_path / "missing" / "m.json", model, dataset_file):  # the last two had been overwritten
        assert main(["evaluate", str(dataset_file), "--model", str(trained), "--json", str(bad)]) == 1
        captured = capsys.readouterr()
        assert "--json" in captured.err and "confusion matrix" not in captured.out  # refused before any evaluation
    assert model.read_bytes() == trained.read_bytes()


def test_a_sweep_refuses_changed_settings_before_any_rate_trains(dataset_file, tmp_path, capsys):
    common = ["--out", str(tmp_path), "--epochs", "1", "--width", "0.125", "--hidden", "32", "--no-progress"]
    assert main(["train", str(dataset_file), "--lr", "1e-3", "--batch-size", "8", *common]) == 0
    capsys.readouterr()
    # a new rate first, then the old one with another batch size: refused before the new one trains
    assert main(["train", str(dataset_file), "--lr", "5e-3", "--lr", "1e-3", "--batch-size", "4", *common]) == 1
    assert "batch_size (8 -> 4)" in capsys.readouterr().err
    assert not (tmp_path / "lr_0.005").exists()


def test_fewer_epochs_than_a_folder_holds_is_noted(dataset_file, tmp_path, capsys):
    common = ["train", str(dataset_file), "--out", str(tmp_path), "--lr", "5e-3", "--batch-size", "8", "--width", "0.125",
              "--hidden", "32", "--no-progress"]
    assert main([*common, "--epochs", "2"]) == 0
    capsys.readouterr()
    assert main([*common, "--epochs", "1"]) == 0
    assert "had already trained 2 epochs, more than --epochs 1" in capsys.readouterr().out


def test_synth_into_a_folder_that_holds_files_says_so(tmp_path, capsys):
    args = ["synth", str(tmp_path), "--per-class", "1", "--size", "48", "--workers", "1", "--quiet"]
    assert main([*args, "--seed", "1"]) == 0
    assert "already holds" not in capsys.readouterr().out
    assert main([*args, "--seed", "2"]) == 0
    assert "already holds files (filaments, flares, prominences, quiet, sunspots); files of the same names are written again" in capsys.readouterr().out


def test_an_interrupt_says_what_each_command_keeps(monkeypatch, capsys):
    # every command said "finished work (checkpoints, catalogue rows) is kept", also slic build, which keeps nothing
    from slic_lib import cli, dataset

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(dataset, "run", interrupted)
    assert cli.main(["build", "folder", "--out", "x.h5"]) == 130
    assert capsys.readouterr().err.strip() == f"slic build: interrupted; {dataset.INTERRUPTED_KEEPS}."


def test_sigterm_after_the_command_finished_keeps_its_exit_status(tmp_path):
    # the interpreter's shutdown takes a second or two after the work; a SIGTERM then gave 143 for a finished run
    import subprocess
    import sys

    script = ("import os, signal, sys, time\nfrom slic_lib import cli\nsys.argv = ['slic', 'fido', 'list']\nrc = cli.main()\n"
              "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(30)\nsys.exit(99)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ar11638-1600" in done.stdout
