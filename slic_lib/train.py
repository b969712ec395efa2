"""Training: cross-entropy, SGD with Nesterov momentum, constant learning rate (section 3.1).

One call of :func:`train` trains one learning rate, validating after every epoch and writing
``last.pt`` (every epoch, atomically) and ``best.pt`` (the highest validation accuracy; ties
go to the earlier epoch, as the paper chose 5 epochs). :func:`sweep` runs several learning
rates, as the paper's 1e-3, 5e-4 and 1e-4 over 100 epochs.

Reproducible and resumable by construction: every epoch's randomness (shuffling, dropout,
augmentation) comes from a seed derived from ``(seed, epoch)``, not from a generator whose
state runs on; so a run resumed from ``last.pt`` after an interruption ends with exactly the
weights of an uninterrupted run (on the same device and library versions).

Several GPUs or nodes: launch with torchrun (``torchrun --nproc-per-node 4 -m slic_lib.cli
train ...``); each process takes its shard of every epoch's permutation, the global batch
stays ``batch_size``, gradients are averaged by DistributedDataParallel, validation counts are
summed over processes, and only rank 0 writes files. CPU processes use the gloo backend.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .dataset import SPLITS, SolarData, load_dataset, split
from .errors import SlicError
from .inference import resolve_device
from .model import Checkpoint, ModelConfig, SlicNet, read_checkpoint, save_checkpoint

log = logging.getLogger(__name__)

PAPER_LEARNING_RATES = (1e-3, 5e-4, 1e-4)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (the paper's are the defaults, but for epochs).

    Parameters
    ----------
    lr : float
        Constant learning rate.
    epochs : int
        Epochs to train (the paper: 100 per learning rate; best after 5).
    batch_size : int
        Global batch size (the paper: 32), split across processes under torchrun.
    momentum, nesterov, weight_decay
        SGD settings (the paper: momentum 0.9, Nesterov).
    seed : int
        Seeds initialisation, the split and every epoch's randomness.
    split : {"grouped", "every-nth"}
        Train/validation split (see :mod:`slic_lib.dataset`).
    val_fraction : float
        Share of each class held out for validation.
    augment : bool
        Random flips and 90-degree rotations (solar features have no preferred orientation);
        off in the paper.
    amp : bool
        Mixed precision (bfloat16 autocast) on CUDA; ignored on a CPU.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:N]"``.
    """

    lr: float = 5e-4
    epochs: int = 5
    batch_size: int = 32
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    seed: int = 0
    split: str = "grouped"
    val_fraction: float = 0.1
    augment: bool = False
    amp: bool = True
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.epochs < 1 or self.batch_size < 1:
            raise SlicError("learning rate, epochs and batch size must be positive.")
        if self.split not in SPLITS:
            raise SlicError(f"unknown split {self.split!r}; choose one of {', '.join(SPLITS)}.")


@dataclass
class TrainResult:
    """Outcome of one learning rate: the per-epoch history and where the checkpoints are."""

    out_dir: Path
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_accuracy: float = 0.0

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.pt"


# --------------------------------------------------------------------------------------------
# Distributed helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: torch.device) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply a random element of the square's symmetry group (flips, 90-degree turns) per image."""
    n = x.shape[0]
    flags = torch.rand((n, 3), generator=generator) < 0.5
    flags = flags.to(x.device)
    x = torch.where(flags[:, 0, None, None, None], x.flip(-1), x)
    x = torch.where(flags[:, 1, None, None, None], x.flip(-2), x)
    return torch.where(flags[:, 2, None, None, None], x.transpose(-1, -2), x)


def _autocast(device: torch.device, enabled: bool):
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def sgd_step(net: nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor, device: torch.device, amp: bool = False) -> tuple[float, int]:
    """One cross-entropy optimisation step; returns the batch's summed loss and correct count."""
    with _autocast(device, amp):
        logits = net(xb)
        loss = F.cross_entropy(logits.float(), yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach()) * len(yb), int((logits.detach().argmax(1) == yb).sum())


@torch.no_grad()
def _validate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, device, amp: bool, dist: _Dist) -> tuple[float, float]:
    """Validation loss and accuracy, summed over processes under torchrun."""
    model.eval()
    shard = torch.arange(dist.rank, len(y), dist.world)
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, len(shard), batch_size):
        idx = shard[start : start + batch_size]
        xb, yb = x[idx].to(device, non_blocking=True), y[idx].to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = model(xb).float()
        loss_sum += F.cross_entropy(logits, yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum().double()
    if dist.world > 1:
        import torch.distributed as tdist

        tdist.all_reduce(loss_sum)
        tdist.all_reduce(correct)
    n = max(len(y), 1)
    return float(loss_sum) / n, float(correct) / n


def train(
    data: SolarData | str | os.PathLike,
    model_config: ModelConfig,
    config: TrainConfig,
    out_dir: str | os.PathLike,
    resume: bool = True,
    progress: bool = True,
    stop_after: int | None = None,
    init_from: str | os.PathLike | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train one learning rate, validating and checkpointing after every epoch.

    Parameters
    ----------
    data
        A dataset file (``slic build``) or a loaded :class:`~slic_lib.dataset.SolarData`.
    model_config
        Architecture; its ``input_size`` must equal the dataset's image size.
    config
        Optimisation settings.
    out_dir
        Folder for ``last.pt`` and ``best.pt``.
    resume
        Continue from ``out_dir/last.pt`` when it exists (same settings required).
    progress
        Show progress bars.
    stop_after
        Stop after this many epochs *in this call* (to simulate or schedule an interruption).
    init_from
        Start from this checkpoint's weights (fine-tuning) instead of a fresh initialisation.
    on_epoch
        Called with each epoch's history row (e.g. to update a live plot in a notebook).
    """
    from tqdm.auto import tqdm

    data = data if isinstance(data, SolarData) else load_dataset(data)
    size = data.images.shape[-1]
    if model_config.input_size != size:
        raise SlicError(f"the model expects {model_config.input_size}px images but the dataset holds {size}px images; rebuild one of them.")
    if model_config.n_classes != len(data.class_names):
        raise SlicError(f"the model has {model_config.n_classes} outputs but the dataset has {len(data.class_names)} classes.")

    device = resolve_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = _init_distributed(device)
    out_dir = Path(out_dir)
    if dist.main:
        out_dir.mkdir(parents=True, exist_ok=True)

    train_idx, val_idx = split(data, config.split, config.val_fraction, config.seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise SlicError(f"the {config.split} split left an empty side ({len(train_idx)} train, {len(val_idx)} validation images); add data or change --split.")
    x_train = torch.from_numpy(data.images[train_idx]).unsqueeze(1)
    y_train = torch.from_numpy(data.labels[train_idx])
    x_val = torch.from_numpy(data.images[val_idx]).unsqueeze(1)
    y_val = torch.from_numpy(data.labels[val_idx])
    if device.type == "cuda":  # the whole set fits on one GPU for this problem's sizes
        x_train, y_train, x_val, y_val = (t.to(device) for t in (x_train, y_train, x_val, y_val))

    torch.manual_seed(config.seed)
    model = SlicNet(model_config)
    if init_from is not None:
        model.load_state_dict(read_checkpoint(init_from).state_dict)
    model.class_names = data.class_names
    model.preprocessing = data.preprocessing
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay
    )
    result = TrainResult(out_dir)
    start_epoch = 0
    if resume and result.last_path.exists():
        ckpt = read_checkpoint(result.last_path, map_location=device)
        may_differ = ("epochs", "device")  # a resumed run may run longer or on another device
        saved = {k: v for k, v in ckpt.train_config.items() if k not in may_differ}
        wanted = {k: v for k, v in asdict(config).items() if k not in may_differ}
        if saved != wanted or ckpt.model_config != model_config:
            raise SlicError(f"{result.last_path} was written with other settings; use another --out folder or --no-resume.")
        model.load_state_dict(ckpt.state_dict)
        optimizer.load_state_dict(ckpt.optimizer)
        start_epoch = ckpt.epoch
        result.history = list(ckpt.metrics.get("history", []))
        result.best_epoch = int(ckpt.metrics.get("best_epoch", 0))
        result.best_val_accuracy = float(ckpt.metrics.get("best_val_accuracy", 0.0))
        log.info("resumed %s at epoch %d", out_dir, start_epoch)

    net: nn.Module = model
    if dist.world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    local_batch = max(1, config.batch_size // dist.world)
    epochs_run = 0
    for epoch in range(start_epoch + 1, config.epochs + 1):
        if stop_after is not None and epochs_run >= stop_after:
            break
        t0 = time.perf_counter()
        seed = _epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)  # dropout (and CUDA) randomness of this epoch
        gen = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(y_train), generator=gen)[dist.rank :: dist.world]
        # the same number of full batches on every process (DDP needs it); the rest is dropped
        n_batches = max(1, (len(y_train) // dist.world) // local_batch)
        net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        bar = tqdm(range(n_batches), desc=f"lr {config.lr:g} epoch {epoch}/{config.epochs}", leave=False, disable=not (progress and dist.main))
        for b in bar:
            idx = perm[b * local_batch : (b + 1) * local_batch]
            xb = x_train[idx.to(x_train.device)].to(device, non_blocking=True)
            yb = y_train[idx.to(y_train.device)].to(device, non_blocking=True)
            if config.augment:
                xb = augment_batch(xb, gen)
            batch_loss, batch_correct = sgd_step(net, optimizer, xb, yb, device, config.amp)
            loss_sum += batch_loss
            correct += batch_correct
            seen += len(yb)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        val_loss, val_acc = _validate(model, x_val, y_val, 2 * local_batch, device, config.amp, dist)
        row = {
            "lr": config.lr,
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "seconds": time.perf_counter() - t0,
            "n_train": len(y_train),
            "n_val": len(y_val),
            "world_size": dist.world,
        }
        result.history.append(row)
        improved = val_acc > result.best_val_accuracy or result.best_epoch == 0
        if improved:
            result.best_epoch, result.best_val_accuracy = epoch, val_acc
        if dist.main:
            ckpt = Checkpoint(
                state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
                model_config=model_config,
                preprocessing=data.preprocessing,
                class_names=data.class_names,
                train_config=asdict(config),
                metrics={
                    "history": result.history,
                    "best_epoch": result.best_epoch,
                    "best_val_accuracy": result.best_val_accuracy,
                    "val_accuracy": val_acc,
                    "synthetic_data": data.is_synthetic,
                    "data_source": data.source,
                },
                epoch=epoch,
                optimizer=optimizer.state_dict(),
            )
            if improved:
                save_checkpoint(ckpt, result.best_path)
            save_checkpoint(ckpt, result.last_path)
            log.info("lr %g epoch %d: train loss %.4f, val acc %.4f", config.lr, epoch, row["train_loss"], val_acc)
        if on_epoch is not None and dist.main:
            on_epoch(row)
        epochs_run += 1
    return result


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

    def history(self):
        """All epochs of all rates as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([row for r in self.runs.values() for row in r.history])


def sweep(
    data: SolarData | str | os.PathLike,
    model_config: ModelConfig,
    config: TrainConfig,
    learning_rates: Sequence[float] = PAPER_LEARNING_RATES,
    out_dir: str | os.PathLike = "runs",
    resume: bool = True,
    progress: bool = True,
) -> SweepResult:
    """Train each learning rate in ``out_dir/lr_<rate>/`` and select the best (rate, epoch).

    The selected checkpoint is written to ``out_dir/best.pt``. Ties in validation accuracy go
    to the earlier epoch, then to the larger learning rate (the cheaper model to reach).
    """
    data = data if isinstance(data, SolarData) else load_dataset(data)
    out_dir = Path(out_dir)
    runs: dict[float, TrainResult] = {}
    for lr in learning_rates:
        runs[lr] = train(data, model_config, replace(config, lr=lr), out_dir / f"lr_{lr:g}", resume=resume, progress=progress)
    best_lr = max(runs, key=lambda lr: (runs[lr].best_val_accuracy, -runs[lr].best_epoch, lr))
    best = runs[best_lr]
    if int(os.environ.get("RANK", "0")) == 0:
        ckpt = read_checkpoint(best.best_path)
        ckpt.metrics = {**ckpt.metrics, "selected_lr": best_lr, "sweep_learning_rates": list(learning_rates)}
        save_checkpoint(ckpt, out_dir / "best.pt")
    return SweepResult(out_dir, runs, best_lr, best.best_epoch, best.best_val_accuracy)


# --------------------------------------------------------------------------------------------
# Command line: slic train
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, help="dataset file from 'slic build'")
    parser.add_argument("--out", type=Path, required=True, help="output folder (one sub-folder per learning rate)")
    parser.add_argument("--lr", type=float, action="append", help="learning rate; repeat for a sweep (default: the paper's 1e-3, 5e-4, 1e-4)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--arch", choices=("slic", "vgg13"), default="slic")
    parser.add_argument("--width", type=float, default=1.0, help="feature-map multiplier (1 = the paper's)")
    parser.add_argument("--hidden", type=int, default=4096, help="classifier hidden units (the paper: 4096)")
    parser.add_argument("--split", choices=SPLITS, default="grouped")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", action="store_true", help="random flips and 90-degree rotations")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--no-amp", action="store_true", help="full precision on CUDA")
    parser.add_argument("--no-resume", action="store_true", help="start afresh even if last.pt exists")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    data = load_dataset(args.data)
    model_config = ModelConfig(arch=args.arch, input_size=data.images.shape[-1], width=args.width, hidden=args.hidden, n_classes=len(data.class_names))
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, split=args.split, augment=args.augment,
        device=args.device, amp=not args.no_amp,
    )
    result = sweep(data, model_config, config, args.lr or PAPER_LEARNING_RATES, args.out, resume=not args.no_resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"best: learning rate {result.best_lr:g}, epoch {result.best_epoch}, validation accuracy {result.best_val_accuracy:.4f} -> {result.best_path}")
    return 0
