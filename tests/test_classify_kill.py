"""A classify run killed with SIGKILL at several moments, then rerun, ends with one complete row per input."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from slic_lib import catalogue as cat
from slic_lib.classify import classify_files
from slic_lib.cli import main


@pytest.fixture(scope="module")
def model(dataset_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("killrun")
    assert main(["train", str(dataset_file), "--out", str(out), "--lr", "5e-3", "--epochs", "2", "--batch-size", "8",
                 "--width", "0.125", "--hidden", "32", "--no-progress"]) == 0
    return out / "best.pt"


def _start(model, fits_tree, out):
    cmd = [sys.executable, "-m", "slic_lib.cli", "classify", str(fits_tree), "--model", str(model), "--out", str(out),
           "--batch-size", "2", "--workers", "0", "--precision", "float32", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _kill_when(proc, ready, timeout=120):
    t0 = time.monotonic()
    while not ready() and proc.poll() is None and time.monotonic() - t0 < timeout:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_kill_at_several_moments_then_resume(model, fits_tree, tmp_path):
    """CSV, the format a cut write would damage; Parquet catalogues go through the same journal."""
    out = tmp_path / "cat.csv"
    parts = cat.journal_dir(out)
    n_parts = lambda: len(list(parts.glob("part-*.parquet"))) if parts.is_dir() else 0  # noqa: E731
    moments = [
        lambda: parts.is_dir(),      # journal opened, nothing committed yet
        lambda: n_parts() >= 1,      # after the first batch
        lambda: n_parts() >= 9,      # further on (a resumed run adds parts after the old ones)
        lambda: n_parts() >= 17,
    ]
    for ready in moments:
        _kill_when(_start(model, fits_tree, out), ready)
    assert not out.exists() and n_parts() > 0  # killed before the end, with committed work kept
    proc = _start(model, fits_tree, out)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    df = pd.read_csv(out)
    expected = sorted(str(p) for p in fits_tree.rglob("*.fits"))
    assert sorted(df["path"]) == expected  # exactly one row per input
    assert (df["status"] == "ok").all() and df["label"].notna().all() and df["p_quiet"].notna().all()
    assert not parts.exists()
    # the same catalogue as a run that was never interrupted
    ref = tmp_path / "ref.csv"
    classify_files([fits_tree], model, ref, batch_size=2, workers=0, precision="float32", progress=False)
    r = pd.read_csv(ref)
    assert list(r["path"]) == list(df["path"]) and list(r["label"]) == list(df["label"])
    pd.testing.assert_series_equal(r["p_quiet"], df["p_quiet"], rtol=1e-5)
