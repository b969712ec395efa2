"""A classify run killed with SIGKILL at several moments, then rerun, ends with one complete row per input."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

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


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(stat))
    return kids


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_and_outlived(proc: subprocess.Popen, pids: list[int], within: float = 20.0) -> list[int]:
    """``kill -9`` ``proc``; the processes of ``pids`` still alive ``within`` seconds after it."""
    proc.kill()
    proc.wait()
    t0 = time.monotonic()
    while any(_alive(p) for p in pids) and time.monotonic() - t0 < within:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_decoding_workers_end_with_a_killed_parent():
    # a pool like slic classify's on a machine of more than two CPUs, then the parent killed outright
    code = ("import time; from slic_lib import readahead; pool, _ = readahead.decode_pool(2, use_sunpy=False); "
            "[f.result() for f in [pool.submit(time.sleep, 0) for _ in range(4)]]; print('ready', flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.stdout.readline().strip() == b"ready"
    workers = [k for k in _children(proc.pid) if b"multiprocessing" in open(f"/proc/{k}/cmdline", "rb").read()
               and b"resource_tracker" not in open(f"/proc/{k}/cmdline", "rb").read()]
    assert len(workers) == 2
    assert not kill_and_outlived(proc, workers)  # before the fix they ran on, holding memory and the parent's pipes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_stops_like_ctrl_c_and_the_rerun_completes(model, fits_tree, tmp_path):
    out = tmp_path / "cat.parquet"
    parts = cat.journal_dir(out)
    cmd = [sys.executable, "-m", "slic_lib.cli", "classify", str(fits_tree), "--model", str(model), "--out", str(out),
           "--batch-size", "2", "--workers", "1", "--precision", "float32", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    t0 = time.monotonic()
    while not (parts.is_dir() and any(parts.glob("part-*.parquet"))) and proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.005)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # returns: no worker holds the pipes open
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert "terminated; finished work" in err.decode() and "Traceback" not in err.decode()
    time.sleep(1)
    assert not any(_alive(w) for w in workers)
    assert any(parts.glob("part-*.parquet")) and not out.exists()  # committed rows kept for the rerun
    rerun = subprocess.run(cmd, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    df = pd.read_parquet(out)
    assert sorted(df["path"]) == sorted(str(p) for p in fits_tree.rglob("*.fits")) and (df["status"] == "ok").all()


def test_a_closed_output_pipe_is_no_traceback_and_the_catalogue_is_complete(model, fits_tree, tmp_path):
    # `slic classify ... | head -1`: the reader is gone before the summary is printed
    read, write = os.pipe()
    os.close(read)
    out = tmp_path / "c.csv"
    files = sorted(str(p) for p in fits_tree.rglob("*.fits"))[:6]
    proc = subprocess.run([sys.executable, "-m", "slic_lib.cli", "classify", *files, "--model", str(model), "--out", str(out),
                           "--workers", "0", "--precision", "float32", "--no-progress"], stdout=write, stderr=subprocess.PIPE,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    os.close(write)
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr and b"Exception ignored" not in proc.stderr, proc.stderr
    assert sorted(pd.read_csv(out)["path"]) == files


def _sweep_running(dataset_file, out, epochs: int, checkpoints: int, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """``slic train`` of two rates side by side (joblib workers and a Manager), once ``checkpoints`` of them have saved an epoch."""
    cmd = [sys.executable, "-m", "slic_lib.cli", "train", str(dataset_file), "--out", str(out), "--lr", "5e-3", "--lr", "1e-3",
           "--epochs", str(epochs), "--batch-size", "8", "--width", "0.125", "--hidden", "32", "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "OMP_NUM_THREADS": "1"})
    t0 = time.monotonic()
    while len(list(out.glob("lr_*/last.pt"))) < checkpoints and proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    return proc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_sweep_leaves_no_rate_training_on(dataset_file, tmp_path):
    # two rates side by side in joblib workers (and a Manager for the progress), then the parent killed outright
    out = tmp_path / "sweep"
    proc = _sweep_running(dataset_file, out, epochs=40, checkpoints=1)
    helpers = _children(proc.pid)
    assert len(helpers) >= 3  # two training workers and the Manager's server (and loky's bookkeeping)
    assert not kill_and_outlived(proc, helpers)  # before: the rates trained on to the end, and their workers stayed
    epochs = {p: torch.load(p, weights_only=True)["epoch"] for p in out.glob("lr_*/last.pt")}
    time.sleep(2)
    assert epochs == {p: torch.load(p, weights_only=True)["epoch"] for p in out.glob("lr_*/last.pt")}  # nothing writes on


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_sweep_stopped_by_sigterm_leaks_no_semaphore(dataset_file, tmp_path):
    # tqdm's lock in a loky worker was a named semaphore, left behind when the worker ended with its parent
    out = tmp_path / "sweep"
    proc = _sweep_running(dataset_file, out, epochs=400, checkpoints=2, stderr=subprocess.PIPE)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    time.sleep(1)  # the resource tracker warns as it exits, just after its last client
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"leaked semaphore" not in err and b"Traceback" not in err, err.decode()


def _synth_running(out, per_class: int, size: int, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """``slic synth --workers 2``, once its first frame is written."""
    cmd = [sys.executable, "-m", "slic_lib.cli", "synth", str(out), "--per-class", str(per_class), "--size", str(size), "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "OMP_NUM_THREADS": "1"})
    t0 = time.monotonic()
    while not any(out.rglob("*.fits")) and proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    return proc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_synth_workers_end_with_a_killed_parent(tmp_path):
    proc = _synth_running(tmp_path / "sim", per_class=400, size=64)
    workers = _children(proc.pid)
    assert len(workers) >= 2
    assert not kill_and_outlived(proc, workers)  # before: they went on writing frames, then waited for work forever


def test_a_worker_pool_left_by_an_interrupt_does_not_finish_its_queue():
    from slic_lib.processes import worker_pool

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(2) as pool:
            futures = [pool.submit(time.sleep, 0.5) for _ in range(40)]  # 10 s of work on two workers
            futures[0].result()
            raise KeyboardInterrupt
    assert time.monotonic() - t0 < 5  # a plain executor's `with` waited for all 40
    assert sum(f.cancelled() for f in futures) >= 30


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_synth_stops_at_sigterm_instead_of_writing_every_frame(tmp_path):
    out = tmp_path / "sim"
    proc = _synth_running(out, per_class=300, size=256, stderr=subprocess.PIPE)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert len(list(out.rglob("*.fits"))) < 1000  # of 1500: before, every frame was written first
    from astropy.io import fits

    for path in out.rglob("*.fits"):  # each frame whole: written beside, renamed when complete
        with fits.open(path) as hdul:
            assert hdul[0].data.shape == (256, 256)
