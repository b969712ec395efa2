"""The training engine: learns, resumes exactly, freezes, keeps the best epoch, sweeps, and runs
under torchrun with two processes."""

import os
import subprocess
import sys
import time
from pathlib import Path

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import TINY
from slic_lib.errors import SlicError
from slic_lib.evaluate import evaluate
from slic_lib.model import ModelConfig, SlicNet, read_checkpoint
from slic_lib.sweep import select_best, sweep
from slic_lib.train import TrainConfig, _batches, fit, train

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


def test_resume_onto_another_preprocessing_is_refused(dataset_file, fits_tree, tmp_path):
    from slic_lib.dataset import build_dataset
    from slic_lib.preprocess import PreprocessConfig

    build_dataset(fits_tree, tmp_path / "relative.h5", PreprocessConfig(size=32, mode="relative"), workers=1, progress=False)
    cfg = TrainConfig(lr=5e-3, epochs=1, batch_size=16)
    train(dataset_file, ModelConfig(**TINY), cfg, tmp_path / "run", progress=False)
    with pytest.raises(SlicError, match="other settings"):  # weights of standardised inputs must not go on with relative ones
        train(tmp_path / "relative.h5", ModelConfig(**TINY), replace(cfg, epochs=2), tmp_path / "run", progress=False)


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


def test_trainings_side_by_side_give_what_one_after_another_gives(dataset_file, tmp_path):
    from slic_lib.dataset import load_dataset
    from slic_lib.sweep import TrainJob, train_each

    data = load_dataset(dataset_file)
    cfg = TrainConfig(epochs=2, batch_size=16)
    jobs = lambda root: [TrainJob(ModelConfig(**TINY), replace(cfg, lr=lr, seed=s), root / f"{lr}-{s}") for lr, s in ((5e-3, 0), (1e-3, 1), (5e-3, 2))]
    one = train_each(data, jobs(tmp_path / "one"), workers=1, progress=False)
    side = train_each(data, jobs(tmp_path / "side"), workers=3, progress=False)
    assert [[r["epoch"] for r in res.history] for res in side] == [[1, 2]] * 3
    # one thread per worker instead of the caller's: the same trainings up to the rounding of sums
    for a, b in zip(one, side):
        assert np.allclose([r["train_loss"] for r in a.history], [r["train_loss"] for r in b.history], rtol=0.05)
    assert all((j.out_dir / "best.pt").exists() and (j.out_dir / "last.pt").exists() for j in jobs(tmp_path / "side"))


def test_a_failing_training_in_a_worker_raises_in_the_caller(dataset_file, tmp_path):
    from slic_lib.dataset import load_dataset
    from slic_lib.sweep import TrainJob, train_each

    data = load_dataset(dataset_file)
    bad = TrainJob(ModelConfig(**{**TINY, "input_size": 64}), TrainConfig(epochs=1), tmp_path / "bad")
    with pytest.raises(SlicError, match="64px"):
        train_each(data, [TrainJob(ModelConfig(**TINY), TrainConfig(epochs=1, batch_size=16), tmp_path / "ok"), bad], workers=2, progress=False)


def test_resumable_only_with_the_same_settings(dataset_file, tmp_path):
    from slic_lib.dataset import load_dataset
    from slic_lib.train import resumable

    cfg, prep = TrainConfig(lr=5e-3, epochs=1, batch_size=16), load_dataset(dataset_file).preprocessing
    assert not resumable(tmp_path, ModelConfig(**TINY), cfg, prep)  # nothing there yet
    train(dataset_file, ModelConfig(**TINY), cfg, tmp_path, progress=False)
    assert resumable(tmp_path, ModelConfig(**TINY), replace(cfg, epochs=5), prep)  # only longer
    assert not resumable(tmp_path, ModelConfig(**TINY), replace(cfg, cpu_amp=True), prep)
    assert not resumable(tmp_path, ModelConfig(**TINY), cfg, replace(prep, mode="relative"))


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_torchrun_leaves_no_rank_training_on(dataset_file, tmp_path):
    from test_classify_kill import _children, kill_and_outlived

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29534", "-m", "slic_lib.cli",
           "train", str(dataset_file), "--out", str(tmp_path), "--lr", "5e-3", "--epochs", "400", "--batch-size", "16",
           "--width", "0.125", "--hidden", "32", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)
    last = tmp_path / "lr_0.005" / "last.pt"
    t0 = time.monotonic()
    while not last.exists() and proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    ranks = _children(proc.pid)
    assert len(ranks) >= 2
    assert not kill_and_outlived(proc, ranks)  # before: both ranks trained on to the last epoch, re-parented
    epoch = read_checkpoint(last).epoch
    time.sleep(2)
    assert read_checkpoint(last).epoch == epoch  # nothing writes on


def _tiny_set(n: int = 20, seed: int = 0):
    from conftest import pattern

    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 5
    images = np.stack([pattern(int(k), rng, 32) for k in labels])
    images = (images - images.mean(axis=(1, 2), keepdims=True)) / images.std(axis=(1, 2), keepdims=True)
    return images.astype(np.float32), labels


def test_frozen_blocks_keep_weights_and_batchnorm_statistics():
    torch.manual_seed(0)
    model = SlicNet(ModelConfig(**TINY))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    groups = [{"params": list(model.classifier.parameters()), "lr": 1e-2}, {"params": list(model.layer8.parameters()), "lr": 1e-3}]
    result = fit(model, TrainConfig(lr=1e-2, epochs=2, batch_size=8), _tiny_set(), groups=groups, progress=False)
    after = model.state_dict()
    moved = {k.split(".")[0] for k in before if before[k].is_floating_point() and not torch.equal(before[k], after[k])}
    assert moved == {"classifier", "layer8"}  # layer8's BatchNorm statistics move, layer1-7's do not
    assert all(p.requires_grad for p in model.parameters())  # restored after the fit
    assert [r["epoch"] for r in result.history] == [1, 2] and "val_accuracy" not in result.history[0]
    with pytest.raises(SlicError, match="no parameter"):
        fit(model, TrainConfig(epochs=1), _tiny_set(), groups=[{"params": [], "lr": 1e-2}], progress=False)


def test_keep_best_returns_the_best_epochs_weights():
    torch.manual_seed(1)
    model = SlicNet(ModelConfig(**TINY))
    states = {}
    x, y = _tiny_set(30)
    result = fit(model, TrainConfig(lr=0.3, epochs=6, batch_size=10), (x[:20], y[:20]), (x[20:], y[20:]), keep_best=True, progress=False,
                 on_epoch=lambda row: states.update({row["epoch"]: {k: v.clone() for k, v in model.state_dict().items()}}))
    accs = [r["val_accuracy"] for r in result.history]
    assert result.best_epoch == 1 + int(np.argmax(accs)) < 6, accs  # a large rate: the best epoch is not the last
    assert all(torch.equal(v, states[result.best_epoch][k]) for k, v in model.state_dict().items())


def test_batch_policies():
    gen = torch.Generator().manual_seed(0)
    full = _batches(21, 8, gen, 0, 1, "full")  # training: full batches only, the rest waits
    assert [len(b) for b in full] == [8, 8]
    every = _batches(17, 8, gen, 0, 1, "all")  # fine-tuning: every image, but no batch of one
    assert [len(b) for b in every] == [8, 8]
    every = _batches(18, 8, gen, 0, 1, "all")
    assert [len(b) for b in every] == [8, 8, 2] and sorted(torch.cat(every).tolist()) == list(range(18))
    shard = [_batches(20, 4, torch.Generator().manual_seed(3), r, 2, "full") for r in (0, 1)]
    assert len(shard[0]) == len(shard[1]) == 2  # equal step counts on every process
    assert not set(torch.cat(shard[0]).tolist()) & set(torch.cat(shard[1]).tolist())
    with pytest.raises(SlicError, match="batch policy"):
        fit(SlicNet(ModelConfig(**TINY)), TrainConfig(epochs=1), _tiny_set(), batches="some", progress=False)


def test_select_best_prefers_accuracy_then_lower_loss_then_earlier_epoch_then_larger_rate():
    rows = [{"lr": 1e-3, "epoch": 1, "val_accuracy": 0.5}, {"lr": 1e-3, "epoch": 3, "val_accuracy": 0.9},
            {"lr": 1e-2, "epoch": 3, "val_accuracy": 0.9}, {"lr": 1e-4, "epoch": 2, "val_accuracy": 0.9}]
    assert select_best(rows) == (1e-4, 2, 0.9)
    assert select_best(rows[:3]) == (1e-2, 3, 0.9)
    with_loss = [dict(r, val_loss=0.3) for r in rows] + [{"lr": 1e-3, "epoch": 7, "val_accuracy": 0.9, "val_loss": 0.1}]
    assert select_best(with_loss) == (1e-3, 7, 0.9)  # equally accurate, more confidently right
    assert select_best(with_loss + [{"lr": 1e-3, "epoch": 8, "val_accuracy": 0.95, "val_loss": 0.9}])[1] == 8  # accuracy first
    with pytest.raises(SlicError):
        select_best([])


def test_fit_keeps_the_lower_loss_epoch_among_equally_accurate_ones(monkeypatch):
    from slic_lib import train as engine

    scores = iter([(0.5, 1.0), (0.4, 1.0), (0.2, 1.0), (0.3, 0.9)])  # (loss, accuracy) of epochs 1-4
    monkeypatch.setattr(engine, "_validate", lambda *a, **k: next(scores))
    x, y = _tiny_set()
    result = fit(SlicNet(ModelConfig(**TINY)), TrainConfig(epochs=4, batch_size=8), (x, y), (x, y), progress=False)
    assert (result.best_epoch, result.best_val_accuracy) == (3, 1.0)


def test_resume_is_exact_with_domain_randomisation(dataset_file, tmp_path):
    cfg = TrainConfig(lr=5e-3, epochs=2, batch_size=16, augment=True, randomise="full")
    full = train(dataset_file, ModelConfig(**TINY), cfg, tmp_path / "full", progress=False)
    train(dataset_file, ModelConfig(**TINY), cfg, tmp_path / "part", progress=False, stop_after=1)
    resumed = train(dataset_file, ModelConfig(**TINY), cfg, tmp_path / "part", progress=False)
    a, b = read_checkpoint(full.last_path).state_dict, read_checkpoint(resumed.last_path).state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)
    plain = train(dataset_file, ModelConfig(**TINY), TrainConfig(lr=5e-3, epochs=2, batch_size=16, augment=True), tmp_path / "plain", progress=False)
    assert not all(torch.equal(a[k], read_checkpoint(plain.last_path).state_dict[k]) for k in a)  # it does change training


@pytest.mark.parametrize("amp", [True, False])
def test_engine_trains_in_bfloat16_on_a_cpu_that_has_it_when_asked_and_channels_last(amp, monkeypatch):
    from slic_lib import inference

    monkeypatch.setattr(inference, "cpu_flags", lambda: {"avx512_bf16"})
    seen = []
    real = torch.nn.Conv2d.forward

    def spy(self, x):
        seen.append((x.dtype, x.is_contiguous(memory_format=torch.channels_last)))
        return real(self, x)

    monkeypatch.setattr(torch.nn.Conv2d, "forward", spy)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 32, 32)).astype(np.float32), rng.integers(0, 5, 32)
    result = fit(SlicNet(**TINY), TrainConfig(epochs=1, batch_size=16, cpu_amp=amp, device="cpu"), (x, y), progress=False)
    assert result.history[0]["precision"] == ("bfloat16" if amp else "float32")
    assert all(cl for _, cl in seen)  # every convolution ran channels-last
    # under autocast the first convolution receives float32, the later ones bfloat16 activations
    assert any(dt == torch.bfloat16 for dt, _ in seen) == amp
    assert TrainConfig().cpu_amp is False  # float32 on a CPU unless asked (see TrainConfig)


def test_label_smoothing_is_checked_and_changes_the_loss():
    with pytest.raises(SlicError, match="label smoothing"):
        TrainConfig(label_smoothing=1.0)
    x, y = _tiny_set()
    torch.manual_seed(0)
    plain = fit(SlicNet(ModelConfig(**TINY)), TrainConfig(epochs=1, batch_size=8, seed=3), (x, y), progress=False)
    torch.manual_seed(0)  # the same initialisation and batches: only the targets differ
    smooth = fit(SlicNet(ModelConfig(**TINY)), TrainConfig(epochs=1, batch_size=8, seed=3, label_smoothing=0.1), (x, y), progress=False)
    assert plain.history[0]["train_loss"] != smooth.history[0]["train_loss"]


def test_weight_average_is_what_is_validated_saved_and_resumed_exactly(dataset_file, tmp_path):
    cfg = TrainConfig(lr=5e-3, epochs=3, batch_size=16, augment=True, ema=0.9)
    model = ModelConfig(**TINY)
    full = train(dataset_file, model, cfg, tmp_path / "full", progress=False)
    last = read_checkpoint(full.last_path)
    assert last.training_state is not None and last.metrics["ema_steps"] > 1
    # the saved model is the average, not the last iterate, and the returned model is the saved one
    assert any(not torch.equal(last.state_dict[k], last.training_state[k]) for k in last.state_dict if k.endswith("weight"))
    assert all(torch.equal(v.cpu(), last.state_dict[k]) for k, v in full.model.state_dict().items())
    assert evaluate(full.last_path, dataset_file).report.accuracy == pytest.approx(full.history[-1]["val_accuracy"])
    part = train(dataset_file, model, cfg, tmp_path / "part", progress=False, stop_after=1)
    resumed = train(dataset_file, model, cfg, tmp_path / "part", progress=False)
    a, b = last, read_checkpoint(resumed.last_path)
    assert len(part.history) == 1
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) and torch.equal(a.training_state[k], b.training_state[k]) for k in a.state_dict)


def test_cosine_schedule_lowers_the_rate_each_epoch_and_resumes_exactly(dataset_file, tmp_path):
    from slic_lib.train import cosine_factor

    assert cosine_factor(1, 12) == 1.0 and 0 < cosine_factor(12, 12) < 0.02
    assert all(cosine_factor(e + 1, 12) < cosine_factor(e, 12) for e in range(1, 12))
    cfg = TrainConfig(lr=5e-3, epochs=3, batch_size=16, augment=True, schedule="cosine")
    model = ModelConfig(**{**TINY, "dropout": 0.5})
    full = train(dataset_file, model, cfg, tmp_path / "full", progress=False)
    rates = [g["lr"] for g in read_checkpoint(full.last_path).optimizer["param_groups"]]
    assert rates == pytest.approx([5e-3 * cosine_factor(3, 3)])  # the last epoch's rate, a quarter of the base
    constant = train(dataset_file, model, replace(cfg, schedule="constant"), tmp_path / "constant", progress=False)
    a, c = read_checkpoint(full.last_path).state_dict, read_checkpoint(constant.last_path).state_dict
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the same run at a constant rate ends elsewhere
    part = train(dataset_file, model, cfg, tmp_path / "part", progress=False, stop_after=1)
    resumed = train(dataset_file, model, cfg, tmp_path / "part", progress=False)
    a, b = read_checkpoint(full.last_path).state_dict, read_checkpoint(resumed.last_path).state_dict
    assert len(part.history) == 1 and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(SlicError, match="other settings"):  # the rates of a cosine depend on the epochs
        train(dataset_file, model, replace(cfg, epochs=4), tmp_path / "part", progress=False)
    with pytest.raises(SlicError, match="schedule"):
        TrainConfig(schedule="step")


def test_non_finite_settings_are_refused_before_training(dataset_file, tmp_path, capsys):
    from slic_lib.cli import main

    for flag, value in (("--lr", "nan"), ("--lr", "inf"), ("--width", "nan")):  # nan passed `lr <= 0` and trained NaN weights
        args = ["train", str(dataset_file), "--out", str(tmp_path / "r"), "--epochs", "1", "--width", "0.125", "--hidden", "32",
                "--no-progress", flag, value]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert ("must be positive and finite" if flag == "--lr" else "width must be > 0") in err and "Traceback" not in err
    assert not list(tmp_path.rglob("*.pt"))
