"""The slic command: help everywhere, the catalogue, and one sentence for a user's bad input."""

import csv
import subprocess
import sys

import pytest

from slic_lib.cli import COMMANDS, main
from slic_lib.model import load_checkpoint


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


def test_classify_writes_a_catalogue_with_error_rows(trained, fits_tree, tmp_path):
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"no FITS here")
    out = tmp_path / "cat.csv"
    files = sorted((fits_tree / "sunspots").glob("*.fits"))[:3] + [broken, tmp_path / "missing.fits"]
    assert main(["classify", *map(str, files), "--model", str(trained), "--out", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["path"] for r in rows] == list(map(str, files))
    assert list(rows[0]) == ["path", "label", "status", "error", "p_filaments", "p_flares", "p_prominences", "p_quiet", "p_sunspots"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 3 and all(r["error"] == "" for r in ok)
    assert all(abs(sum(float(r[f"p_{c}"]) for c in ("filaments", "flares", "prominences", "quiet", "sunspots")) - 1) < 1e-4 for r in ok)
    assert sum(r["label"] == "sunspots" for r in ok) >= 2
    errors = {r["path"].rsplit("/", 1)[-1]: r for r in rows if r["status"] == "error"}
    assert "not a readable FITS" in errors["broken.fits"]["error"] and "does not exist" in errors["missing.fits"]["error"]
    assert all(r["label"] == "" for r in errors.values())


def test_classify_folder_and_resume_keeps_finished_rows(trained, fits_tree, tmp_path):
    out = tmp_path / "cat.csv"
    first = sorted((fits_tree / "quiet").glob("*.fits"))[:4]
    main(["classify", *map(str, first), "--model", str(trained), "--out", str(out), "--no-progress"])
    before = out.read_text()
    main(["classify", str(fits_tree / "quiet"), "--model", str(trained), "--out", str(out), "--no-progress"])
    after = out.read_text()
    assert after.startswith(before)  # finished rows kept as they were
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12 and len({r["path"] for r in rows}) == 12


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
