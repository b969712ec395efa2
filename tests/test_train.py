"""Training: learns, resumes exactly, sweeps, runs under torchrun with two processes."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY
from slic_lib.dataset import load_dataset
from slic_lib.errors import SlicError
from slic_lib.evaluate import evaluate
from slic_lib.model import ModelConfig, SlicNet, read_checkpoint
from slic_lib.train import TrainConfig, sweep, train

ROOT = Path(__file__).resolve().parent.parent


def test_overfits_a_small_batch_to_zero_error():
    torch.manual_seed(0)
    model = SlicNet(arch="slic", input_size=32, width=0.25, hidden=64, dropout=0.0)
    x = torch.randn(10, 1, 32, 32)
    y = torch.arange(10) % 5
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    assert (model(x).argmax(1) == y).all()


def test_train_writes_best_and_last_and_learns(dataset_file, tmp_path):
    result = train(dataset_file, ModelConfig(**TINY), TrainConfig(lr=5e-3, epochs=8, batch_size=8), tmp_path, progress=False)
    assert [r["epoch"] for r in result.history] == list(range(1, 9))
    assert result.best_val_accuracy >= 0.8  # five stripe patterns are easy
    best = read_checkpoint(result.best_path)
    assert best.epoch == result.best_epoch and best.metrics["best_val_accuracy"] == result.best_val_accuracy
    assert read_checkpoint(result.last_path).epoch == 8
    ev = evaluate(result.best_path, dataset_file)
    assert ev.report.accuracy == pytest.approx(result.best_val_accuracy)


def test_interrupted_run_resumed_ends_with_the_same_weights(dataset_file, tmp_path):
    cfg = TrainConfig(lr=5e-3, epochs=3, batch_size=16, augment=True)
    model = ModelConfig(**{**TINY, "dropout": 0.5})  # dropout and augmentation: randomness to reproduce
    full = train(dataset_file, model, cfg, tmp_path / "full", progress=False)
    part = train(dataset_file, model, cfg, tmp_path / "part", progress=False, stop_after=1)
    assert len(part.history) == 1
    resumed = train(dataset_file, model, cfg, tmp_path / "part", progress=False)
    a, b = read_checkpoint(full.last_path).state_dict, read_checkpoint(resumed.last_path).state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["val_accuracy"] for r in full.history] == [r["val_accuracy"] for r in resumed.history]


def test_resume_with_other_settings_is_refused(dataset_file, tmp_path):
    train(dataset_file, ModelConfig(**TINY), TrainConfig(lr=5e-3, epochs=1, batch_size=16), tmp_path, progress=False)
    with pytest.raises(SlicError, match="other settings"):
        train(dataset_file, ModelConfig(**TINY), TrainConfig(lr=1e-3, epochs=2, batch_size=16), tmp_path, progress=False)


def test_model_and_dataset_sizes_must_agree(dataset_file, tmp_path):
    with pytest.raises(SlicError, match="64px"):
        train(dataset_file, ModelConfig(**{**TINY, "input_size": 64}), TrainConfig(epochs=1), tmp_path, progress=False)


def test_sweep_selects_best_rate_and_writes_best(dataset_file, tmp_path):
    result = sweep(dataset_file, ModelConfig(**TINY), TrainConfig(epochs=2, batch_size=16), [5e-3, 1e-5], tmp_path, progress=False)
    hist = result.history()
    assert set(hist["lr"]) == {5e-3, 1e-5} and len(hist) == 4
    assert result.best_val_accuracy == hist["val_accuracy"].max()
    ckpt = read_checkpoint(result.best_path)
    assert ckpt.metrics["selected_lr"] == result.best_lr
    assert ckpt.metrics["synthetic_data"] is False  # the fixture is not marked synthetic


def test_torchrun_two_processes_gloo(dataset_file, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29533", "-m", "slic_lib.cli",
           "train", str(dataset_file), "--out", str(tmp_path), "--lr", "5e-3", "--epochs", "2", "--batch-size", "16",
           "--width", "0.125", "--hidden", "32", "--no-progress"]  # dropout 0.5 here: the CLI default
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = read_checkpoint(tmp_path / "lr_0.005" / "last.pt")
    hist = ckpt.metrics["history"]
    assert [h["world_size"] for h in hist] == [2, 2]
    assert ckpt.epoch == 2 and 0 <= hist[-1]["val_accuracy"] <= 1
    assert proc.stdout.count("best: learning rate") == 1  # only rank 0 reports
