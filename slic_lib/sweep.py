"""Learning-rate sweeps on the training engine, and the ``slic train`` command.

:func:`sweep` trains each learning rate with :func:`slic_lib.train.train` in its own folder
and selects one (rate, epoch) by :func:`select_best`, as section 4.1 of the paper selected
5e-4 at epoch 5 from 1e-3, 5e-4 and 1e-4 over 100 epochs. :func:`train_each` runs
independent trainings (a sweep's rates, the split comparison's seeds) side by side in worker
processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
from dataclasses import dataclass, replace
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import pandas as pd
import torch
from joblib import Parallel, delayed
from .progress import tqdm

from .augment import PRESETS as RANDOMISATIONS
from .dataset import SolarData, load_dataset
from .errors import SlicError
from .model import ModelConfig, read_checkpoint, save_checkpoint
from .paths import make_folder
from .processes import end_with_parent, worker_started
from .paper import LEARNING_RATES as PAPER_LEARNING_RATES
from .splits import SPLITS
from .inference import PRECISION_CHOICES, resolve_device, resolve_precision
from .train import SCHEDULES, TrainConfig, TrainResult, refuse_other_settings, train


def select_best(history: Iterable[dict] | pd.DataFrame) -> tuple[float, int, float]:
    """The sweep's selection rule: ``(lr, epoch, val_accuracy)`` of the chosen model.

    The highest validation accuracy; ties go to the lower validation loss (on simulated data
    many epochs reach 100 %: the loss tells the confidently right from the barely right, and the
    first epoch to reach 100 % transferred worst to real images, issue 12), then to the earlier
    epoch (the paper chose 5 of 100), then to the larger learning rate.

    Parameters
    ----------
    history
        Rows with ``lr``, ``epoch`` and ``val_accuracy`` (e.g. :meth:`SweepResult.history`).
    """
    rows = history.to_dict("records") if isinstance(history, pd.DataFrame) else list(history)
    if not rows:
        raise SlicError("no trained epochs to select from.")
    best = max(rows, key=lambda r: (r["val_accuracy"], -r.get("val_loss", 0.0), -r["epoch"], r["lr"]))
    return float(best["lr"]), int(best["epoch"]), float(best["val_accuracy"])


class TrainJob(NamedTuple):
    """One independent training: the arguments of :func:`slic_lib.train.train`."""

    model_config: ModelConfig
    config: TrainConfig
    out_dir: Path
    resume: bool = True


def _train_in_worker(data: SolarData, job: TrainJob, events, parent: int) -> TrainResult:
    worker_started(parent)  # a killed `slic train` must not leave its rates training on, writing the same folders
    result = train(data, job.model_config, job.config, job.out_dir, resume=job.resume, progress=False, on_epoch=events.put)
    result.model = None  # the checkpoints hold it; do not send the network back through a pipe
    return result


def train_each(data: SolarData, jobs: Sequence[TrainJob], workers: int = 1, progress: bool = True, desc: str = "training") -> list[TrainResult]:
    """Run independent trainings on one dataset, ``workers`` at a time; results in job order.

    With ``workers`` > 1 (and not under torchrun) each training runs in a joblib worker
    process, which joblib gives an equal share of the cores (``OMP_NUM_THREADS``): a small
    network gains little from a second intra-op thread, so one-thread trainings side by side
    beat two-thread trainings one after the other (1.13x for the cpu profile's three rates on
    2 cores, ``benchmarks/bench_sweep.py``). One progress bar counts the epochs of all of them.
    Results differ from a sequential run's only as runs on another number of threads do (the
    order of float sums, which training then amplifies); their ``model`` is None, as the
    checkpoints in each ``out_dir`` hold it.
    """
    if workers <= 1 or len(jobs) <= 1 or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return [train(data, j.model_config, j.config, j.out_dir, resume=j.resume, progress=progress) for j in jobs]
    workers = min(workers, len(jobs))
    manager = SyncManager(ctx=multiprocessing.get_context())
    manager.start(end_with_parent, (os.getpid(),))  # its server process ends with this one too
    with manager:
        events = manager.Queue()
        bar = tqdm(total=sum(j.config.epochs for j in jobs), desc=f"{desc} ({len(jobs)} runs, {workers} processes)", unit="epoch",
                   disable=not progress)

        def count_epochs() -> None:
            while events.get() is not None:
                bar.update()

        counter = threading.Thread(target=count_epochs, daemon=True)
        counter.start()
        try:
            results = Parallel(n_jobs=workers, backend="loky")(delayed(_train_in_worker)(data, job, events, os.getpid()) for job in jobs)
        finally:
            events.put(None)
            counter.join()
            bar.close()
    return list(results)


@dataclass
class SweepResult:
    """A learning-rate sweep: every epoch of every rate, and the selected model."""

    out_dir: Path
    runs: dict[float, TrainResult]
    best_lr: float
    best_epoch: int
    best_val_accuracy: float

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    def history(self) -> pd.DataFrame:
        """All epochs of all rates as a pandas DataFrame."""
        return pd.DataFrame([row for r in self.runs.values() for row in r.history])


def sweep(
    data: SolarData | str | os.PathLike, model_config: ModelConfig, config: TrainConfig,
    learning_rates: Sequence[float] = PAPER_LEARNING_RATES, out_dir: str | os.PathLike = "runs", resume: bool = True, progress: bool = True,
    workers: int = 1,
) -> SweepResult:
    """Train each learning rate in ``out_dir/lr_<rate>/`` and select the best (rate, epoch).

    The selected checkpoint is written to ``out_dir/best.pt``; the rule is :func:`select_best`.
    ``workers`` rates train side by side (:func:`train_each`).
    """
    data = data if isinstance(data, SolarData) else load_dataset(data)
    out_dir = make_folder(out_dir, "--out", "the checkpoints")
    learning_rates = list(dict.fromkeys(float(lr) for lr in learning_rates))  # 1e-2 and 0.01 are one rate, one folder
    jobs = [TrainJob(model_config, replace(config, lr=lr), out_dir / f"lr_{lr:g}", resume) for lr in learning_rates]
    _refuse_changed_settings(jobs, data.preprocessing)
    runs = dict(zip(learning_rates, train_each(data, jobs, workers, progress, desc="learning-rate sweep")))
    best_lr, best_epoch, best_acc = select_best(row for r in runs.values() for row in r.history)
    best = runs[best_lr]
    if int(os.environ.get("RANK", "0")) == 0:
        ckpt = read_checkpoint(best.best_path)
        ckpt.metrics = {**ckpt.metrics, "selected_lr": best_lr, "sweep_learning_rates": list(learning_rates)}
        ckpt.metrics.update(_kept_calibration(out_dir / "best.pt", ckpt))
        save_checkpoint(ckpt, out_dir / "best.pt")
    return SweepResult(out_dir, runs, best_lr, best_epoch, best_acc)


def _refuse_changed_settings(jobs: Sequence[TrainJob], preprocessing) -> None:
    """Every rate that would resume, checked before any trains: else, with rates one after
    another, the first could train to its end before the second's changed settings stop the run."""
    for job in jobs:
        last = job.out_dir / "last.pt"
        if job.resume and last.exists():
            try:
                ckpt = read_checkpoint(last, mmap=True)
            except SlicError:
                continue  # damaged: the rate's own resume says so, with the way out
            refuse_other_settings(last, ckpt, job.model_config, job.config, preprocessing)


def _kept_calibration(path: Path, selected) -> dict:
    """The calibration and int8 scales of the sweep's previous ``best.pt`` (as metrics entries)
    when it holds the very weights selected again.

    ``slic calibrate`` writes into ``best.pt``; a rerun of a finished sweep (nothing left to
    train) must not throw that away. Other weights invalidate both: then nothing is kept.
    """
    if not path.is_file():
        return {}
    try:
        previous = read_checkpoint(path)
    except SlicError:  # damaged: nothing to keep, and the selected model replaces it
        return {}
    kept = {k: v for k, v in (previous.metrics or {}).items() if k in ("calibration", "int8")}
    if not kept or previous.state_dict.keys() != selected.state_dict.keys():
        return {}
    same = all(torch.equal(previous.state_dict[k], v) for k, v in selected.state_dict.items())
    return kept if same else {}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, help="dataset file from 'slic build'")
    parser.add_argument("--out", type=Path, required=True, help="output folder (one sub-folder per learning rate)")
    parser.add_argument("--lr", type=float, action="append", help="learning rate; repeat for a sweep (default: the paper's 1e-3, 5e-4, 1e-4)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per learning rate (default 5; the paper: 100)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per SGD step (default 32, the paper's)")
    parser.add_argument("--arch", choices=("slic", "vgg13"), default="slic",
                        help="slic: the published checkpoint's layout (default); vgg13: the paper's text")
    parser.add_argument("--width", type=float, default=1.0, help="feature-map multiplier (1 = the paper's)")
    parser.add_argument("--hidden", type=int, default=4096, help="classifier hidden units (the paper: 4096)")
    parser.add_argument("--split", choices=SPLITS, default="grouped",
                        help="train/validation split: whole observing runs apart (grouped, default), the Slic release code's every 10th file, or the split the data came with (fixed: the Slic release's)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initialisation, the split and every epoch (default 0)")
    parser.add_argument("--augment", action="store_true", help="random flips and 90-degree rotations")
    parser.add_argument("--randomise", choices=tuple(RANDOMISATIONS), default="off", help="domain randomisation (slic_lib.augment)")
    parser.add_argument("--schedule", choices=SCHEDULES, default="constant",
                        help="learning rate over the epochs: constant (the paper) or falling as a cosine")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="network arithmetic: auto (default) trains with bfloat16 autocast where the CPU/GPU computes it "
                        "natively (about twice the images/s of float32 on a CPU with AVX-512 BF16), else float32")
    parser.add_argument("--no-amp", action="store_true", help=argparse.SUPPRESS)  # before --precision: float32
    parser.add_argument("--workers", type=int, default=1, help="learning rates trained side by side, each in its own process (CPU)")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if last.pt exists")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _mixed_precision(precision: str, device: str) -> bool:
    """Whether ``slic train --precision`` asks the engine for bfloat16 autocast on ``device``.

    ``auto`` leaves the choice to the engine (bfloat16 where the device computes it natively);
    an explicit ``bfloat16`` on a device that would only emulate it is refused rather than
    silently trained in float32.
    """
    if precision == "float32":
        return False
    if precision == "bfloat16" and resolve_precision("auto", device) != "bfloat16":
        raise SlicError(f"this {resolve_device(device).type.upper()} does not compute bfloat16 natively; "
                        "use --precision float32 (or auto).")
    return True


def run(args: argparse.Namespace) -> int:
    data = load_dataset(args.data)
    model_config = ModelConfig(arch=args.arch, input_size=data.images.shape[-1], width=args.width, hidden=args.hidden, n_classes=len(data.class_names))
    mixed = _mixed_precision("float32" if args.no_amp else args.precision, args.device)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, split=args.split, augment=args.augment, randomise=args.randomise,
        schedule=args.schedule, device=args.device, amp=mixed, cpu_amp=mixed,
    )
    result = sweep(data, model_config, config, args.lr or PAPER_LEARNING_RATES, args.out, resume=not args.no_resume, progress=not args.no_progress,
                   workers=args.workers)
    if int(os.environ.get("RANK", "0")) == 0:
        for lr, r in result.runs.items():
            done = max((int(h["epoch"]) for h in r.history), default=0)
            if done > args.epochs:  # a constant rate resumes to more epochs, never back to fewer
                print(f"note: lr {lr:g} had already trained {done} epochs, more than --epochs {args.epochs}; its epochs are kept "
                      "as they are and count in the selection (--no-resume starts afresh)")
        precision = (result.runs[result.best_lr].history or [{}])[-1].get("precision", "float32")
        print(f"best: learning rate {result.best_lr:g}, epoch {result.best_epoch}, validation accuracy {result.best_val_accuracy:.4f} "
              f"(trained in {precision}) -> {result.best_path}")
    return 0
