"""Training: THE engine (:func:`fit`) and, on it, one learning rate's run (:func:`train`); sweeps are in :mod:`slic_lib.sweep`.

Cross-entropy, SGD with Nesterov momentum, constant learning rates (section 3.1). Every
training of the project runs on :func:`fit`: ``slic train``, notebook 02's learning-rate sweep,
notebook 03's split comparison and notebook 06's fine-tuning (:mod:`slic_lib.finetune`).

* Parameter groups each have their own learning rate (layer-wise decay); parameters in no
  group are frozen, and a module whose parameters are all frozen runs in eval mode, so a
  frozen block's BatchNorm keeps its running statistics.
* Every epoch's randomness (shuffling, dropout, augmentation) comes from a seed derived from
  ``(seed, epoch)``, not from a generator whose state runs on, so a run resumed from
  ``last.pt`` ends with exactly the weights of an uninterrupted run (same device and versions).
* The best epoch (highest validation accuracy, ties to the earlier epoch, as the paper chose
  5 of 100) is kept as ``best.pt`` beside ``last.pt``, both written atomically, or in memory
  for the many small fits of fine-tuning. Validation runs through
  :func:`slic_lib.inference.logits`, the project's one prediction loop.
* Under torchrun (``torchrun --nproc-per-node 4 -m slic_lib.cli train ...``) each process takes
  its shard of every epoch's permutation, the global batch stays ``batch_size``,
  DistributedDataParallel averages gradients, every process validates on the whole
  validation set (so all agree on the best epoch) and only rank 0 writes files; CPU processes
  use the gloo backend.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.distributed as tdist
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from .progress import tqdm

from .augment import augment_batch, preset, randomise_batch
from .dataset import SolarData, load_dataset
from .splits import SPLITS, split
from .errors import SlicError
from .inference import as_batch, autocast, logits, resolve_device, resolve_precision, to_channels_last
from .model import Checkpoint, ModelConfig, SlicNet, read_checkpoint, save_checkpoint
from .paper import MOMENTUM
from .preprocess import PreprocessConfig
from .processes import end_with_parent

log = logging.getLogger(__name__)

BATCH_POLICIES = ("full", "all")
"""How :func:`fit` cuts an epoch into batches (see its ``batches`` parameter)."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (the paper's are the defaults, but for epochs).

    Parameters
    ----------
    lr : float
        Constant learning rate (of the first parameter group, when :func:`fit` gets groups).
    epochs, batch_size : int
        Epochs (the paper: 100 per rate, best after 5) and global batch size (the paper: 32),
        split across processes under torchrun.
    momentum, nesterov, weight_decay
        SGD settings (the paper: momentum 0.9, Nesterov).
    seed : int
        Seeds initialisation, the split and every epoch's randomness.
    split, val_fraction : {"grouped", "every-nth", "fixed"}, float
        Train/validation split of :func:`train` (see :mod:`slic_lib.dataset`).
    augment : bool
        Random flips and 90-degree turns (solar features have no preferred orientation);
        off in the paper.
    randomise : {"off", "cheap", "full"}
        Domain randomisation: every training image re-observed by a random instrument
        (resolution, pixel scale, contrast, limb darkening, exposure, noise, JPEG; see
        :mod:`slic_lib.augment`), after the flips; off in the paper.
    amp, device : bool, str
        bfloat16 autocast on a CUDA GPU that computes it natively (Ampere on), float32
        elsewhere or when False; ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
    cpu_amp : bool
        bfloat16 autocast on a CPU that computes it natively (AVX-512 BF16 or AMX:
        :func:`slic_lib.inference.resolve_precision`). About twice the images per second
        of a plain float32 loop for the cpu profile (``benchmarks/bench_train.py``), which
        trains with it: at full length (3000 images, 12 epochs) its sweep reached the same
        simulated validation and development-day accuracy as float32 within the spread of
        float32 runs. Off by default, as the paper trained in float32.
    label_smoothing : float
        Cross-entropy against targets smoothed by this much (``torch.nn.functional.cross_entropy``'s
        ``label_smoothing``); 0 as the paper.
    ema : float
        Decay per step of an exponential moving average of the weights (and BatchNorm
        statistics; :class:`torch.optim.swa_utils.AveragedModel`), which is then what is
        validated, checkpointed and returned: at a constant learning rate SGD's iterates keep
        circling the minimum, and their average sits nearer its centre (Polyak averaging).
        0 (the paper's training) switches it off; 0.995 averages over about 200 steps.
    schedule : {"constant", "cosine"}
        The learning rate over the epochs: constant (the paper), or ``lr`` times
        :func:`cosine_factor`, which falls from 1 in the first epoch to nearly 0 in the last
        (Loshchilov & Hutter 2017), so that the last epochs settle into a minimum instead of
        circling it. With ``"cosine"`` a resumed run must keep its number of epochs.
    """

    lr: float = 5e-4
    epochs: int = 5
    batch_size: int = 32
    momentum: float = MOMENTUM
    nesterov: bool = True
    weight_decay: float = 0.0
    seed: int = 0
    split: str = "grouped"
    val_fraction: float = 0.1
    augment: bool = False
    randomise: str = "off"
    amp: bool = True
    device: str = "auto"
    cpu_amp: bool = False
    label_smoothing: float = 0.0
    ema: float = 0.0
    schedule: str = "constant"

    def __post_init__(self) -> None:
        if not (0 < self.lr < math.inf) or self.epochs < 1 or self.batch_size < 1:  # not `lr <= 0`, which NaN passed
            raise SlicError(f"learning rate, epochs and batch size must be positive and finite, got {self.lr}, {self.epochs} and {self.batch_size}.")
        if self.split not in SPLITS:
            raise SlicError(f"unknown split {self.split!r}; choose one of {', '.join(SPLITS)}.")
        preset(self.randomise)
        if not 0 <= self.label_smoothing < 1:
            raise SlicError(f"label smoothing must lie in [0, 1), got {self.label_smoothing}.")
        if not 0 <= self.ema < 1:
            raise SlicError(f"the weight average's decay must lie in [0, 1), got {self.ema}.")
        if self.schedule not in SCHEDULES:
            raise SlicError(f"unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")


SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules of :class:`TrainConfig`."""


def cosine_factor(epoch: int, epochs: int) -> float:
    """The share of the learning rate in ``epoch`` (1-based) of ``epochs`` under the cosine schedule.

    ``torch.optim.lr_scheduler.CosineAnnealingLR``'s closed form (``eta_min`` 0, stepped
    once an epoch), computed from the epoch so that a resumed run takes up the same rates
    without a scheduler's state in the checkpoint.

    Examples
    --------
    >>> [round(cosine_factor(e, 4), 3) for e in range(1, 5)]
    [1.0, 0.854, 0.5, 0.146]
    """
    return 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / epochs))


@dataclass
class TrainResult:
    """Outcome of one :func:`fit`: the per-epoch history, the best epoch, the checkpoints' folder."""

    out_dir: Path | None
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_accuracy: float = 0.0
    model: nn.Module | None = field(default=None, repr=False)
    """The trained network (its best epoch's weights when :func:`fit` was given ``keep_best``)."""

    @property
    def best_path(self) -> Path:
        return Path(self.out_dir or ".") / "best.pt"

    @property
    def last_path(self) -> Path:
        return Path(self.out_dir or ".") / "last.pt"


def _init_distributed(device: torch.device) -> tuple[int, int]:
    """``(rank, world size)``: joins the process group under torchrun, else ``(0, 1)``."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    if not tdist.is_initialized():
        end_with_parent(os.getppid())  # a killed torchrun must not leave its ranks training on, writing one folder
        tdist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return tdist.get_rank(), tdist.get_world_size()


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def sgd_step(net: nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
             precision: str = "float32", label_smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One cross-entropy optimisation step; returns the batch's summed loss and correct count.

    The batch is made channels-last here (a no-op when it already is), the layout :func:`fit`
    keeps the weights in; the loss is computed in float32 whatever the autocast precision.
    Both results are 0-d tensors on the batch's device, so that a GPU is never made to wait
    for the host between steps (``float()`` of them would synchronise every step).
    """
    xb = xb.contiguous(memory_format=torch.channels_last)
    with autocast(xb.device, precision):
        out = net(xb)
        loss = F.cross_entropy(out.float(), yb, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach() * len(yb), (out.detach().argmax(1) == yb).sum()


def _batches(n: int, batch_size: int, generator: torch.Generator, rank: int, world: int, policy: str) -> list[torch.Tensor]:
    """One epoch's batches of indices into ``n`` images (see :func:`fit`'s ``batches``)."""
    perm = torch.randperm(n, generator=generator)
    if policy == "full":
        perm = perm[rank::world]
        count = max(1, (n // world) // batch_size)
        return [perm[b * batch_size : (b + 1) * batch_size] for b in range(count)]
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()  # a batch of one image gives BatchNorm nothing to normalise with
    return [perm[s : s + batch_size] for s in starts]


def _frozen_modules(model: nn.Module) -> list[nn.Module]:
    """Modules that have parameters, none of which learns: they run in eval mode while training."""
    frozen = []
    for module in model.modules():
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            frozen.append(module)
    return frozen


def _selection_key(row: dict) -> tuple[float, float]:
    """What makes an epoch better: the validation accuracy, then the lower validation loss.

    On simulated data many epochs reach the same accuracy (often 100 %); the loss tells the
    confidently right from the barely right, where the first epoch to reach the accuracy was
    kept before (issue 12: such early models transferred worst to real images).
    """
    return float(row["val_accuracy"]), -float(row.get("val_loss", 0.0))


def _validate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, precision: str) -> tuple[float, float]:
    """Validation loss and accuracy of the whole set, through the project's prediction loop."""
    out = logits(model, x, batch_size, precision=precision)
    y = y.cpu()
    loss = 0.0
    for s in range(0, len(y), batch_size):  # summed per batch in float64, as the totals grow large
        loss += float(F.cross_entropy(out[s : s + batch_size], y[s : s + batch_size], reduction="sum").double())
    n = max(len(y), 1)
    return loss / n, float((out.argmax(1) == y).sum()) / n


def _tensors(images: Any, labels: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    # labels may already be a tensor on the GPU (np.asarray would copy it to the host, or fail)
    y = labels.long() if isinstance(labels, torch.Tensor) else torch.as_tensor(np.asarray(labels, dtype=np.int64))
    x = as_batch(images)
    if device.type == "cuda":  # the whole set fits on one GPU for this problem's sizes
        x, y = x.to(device), y.to(device)
    return x, y


def _differences(ckpt: Checkpoint, model_config: ModelConfig, config: TrainConfig, preprocessing: PreprocessConfig) -> list[str]:
    """The settings in which ``ckpt`` differs from this training, as ``name (saved -> wanted)``."""
    # a resumed run may run on another device, and longer at a constant rate (the cosine
    # schedule's rates depend on the number of epochs)
    may_differ = ("epochs", "device") if config.schedule == "constant" else ("device",)
    # older runs had no randomise, cpu_amp, label_smoothing, ema or schedule
    saved = {"randomise": "off", "cpu_amp": False, "label_smoothing": 0.0, "ema": 0.0, "schedule": "constant",
             **{k: v for k, v in ckpt.train_config.items() if k not in may_differ}}
    wanted = {k: v for k, v in asdict(config).items() if k not in may_differ}
    diffs = [f"{k} ({saved.get(k)!r} -> {wanted.get(k)!r})" for k in sorted(set(saved) | set(wanted)) if saved.get(k) != wanted.get(k)]
    if ckpt.model_config != model_config:
        old, new = asdict(ckpt.model_config), asdict(model_config)
        diffs += [f"{k} ({old.get(k)!r} -> {new.get(k)!r})" for k in sorted(new) if old.get(k) != new.get(k)] or ["the model"]
    if ckpt.preprocessing != preprocessing:
        diffs.append(f"preprocessing ({ckpt.preprocessing} -> {preprocessing})")
    return diffs


def refuse_other_settings(last: Path, ckpt: Checkpoint, model_config: ModelConfig, config: TrainConfig,
                          preprocessing: PreprocessConfig, extra: Sequence[str] = ()) -> None:
    """Raise, in one sentence that names what changed, where ``last`` (its checkpoint ``ckpt``)
    cannot be resumed by this training; ``extra``: differences found elsewhere, named first."""
    diffs = [*extra, *_differences(ckpt, model_config, config, preprocessing)]
    if diffs:
        raise SlicError(f"{last} was written with other settings ({'; '.join(diffs[:4])}); use another --out "
                        "folder or --no-resume.")


def _same_settings(ckpt: Checkpoint, model_config: ModelConfig, config: TrainConfig, preprocessing: PreprocessConfig) -> bool:
    return not _differences(ckpt, model_config, config, preprocessing)


def resumable(out_dir: str | os.PathLike, model_config: ModelConfig, config: TrainConfig, preprocessing: PreprocessConfig) -> bool:
    """Whether ``out_dir/last.pt`` exists and continues this training (same settings; more epochs only at a constant rate).

    Pipelines resume an interrupted training only then, and otherwise start afresh, so that
    changed settings (a profile switched to bfloat16, say) retrain instead of stopping with
    :func:`fit`'s error.
    """
    last = Path(out_dir) / "last.pt"
    return last.exists() and _same_settings(read_checkpoint(last), model_config, config, preprocessing)


def data_fingerprint(*sets: tuple[Any, Any] | None) -> str:
    """A short hash of training (and validation) sets ``(images, labels)``: every label, the
    images' shape and a strided sample of their pixels (every pixel would cost seconds for the
    paper's 13,000 images at 256x256). A resumed training must continue on the same data."""
    h = hashlib.sha256()
    for s in sets:
        if s is None:
            continue
        x, y = torch.as_tensor(s[0]), torch.as_tensor(s[1])
        h.update(repr(tuple(x.shape)).encode())
        h.update(y.detach().cpu().to(torch.int64).numpy().tobytes())
        if len(x):
            h.update(x.detach().reshape(len(x), -1)[:, ::61].to(torch.float32).cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _resume(result: TrainResult, model: SlicNet, optimizer: torch.optim.Optimizer, config: TrainConfig, device: torch.device,
            ema: AveragedModel | None = None, fingerprint: str | None = None) -> int:
    """Load ``last.pt`` into the model, its weight average, the optimizer and result; returns the epoch it ended."""
    try:
        ckpt = read_checkpoint(result.last_path, map_location=device)
    except SlicError as exc:
        raise SlicError(f"{exc} To start this training afresh, use --no-resume (or remove {result.last_path}).") from None
    extra = []
    saved = (ckpt.metrics or {}).get("data_fingerprint")  # None in checkpoints of older versions: not compared
    if saved is not None and fingerprint is not None and saved != fingerprint:
        extra.append("the training data (another dataset, split or class list)")
    if tuple(ckpt.class_names) != tuple(getattr(model, "class_names", ckpt.class_names)):
        extra.append(f"class_names ({list(ckpt.class_names)} -> {list(model.class_names)})")
    refuse_other_settings(result.last_path, ckpt, model.config, config, getattr(model, "preprocessing", ckpt.preprocessing), extra)
    if ema is not None:
        ema.module.load_state_dict(ckpt.state_dict)
        ema.n_averaged.fill_(int(ckpt.metrics.get("ema_steps", 1)))
    model.load_state_dict(ckpt.training_state if ckpt.training_state is not None else ckpt.state_dict)
    optimizer.load_state_dict(ckpt.optimizer)
    result.history = list(ckpt.metrics.get("history", []))
    result.best_epoch = int(ckpt.metrics.get("best_epoch", 0))
    result.best_val_accuracy = float(ckpt.metrics.get("best_val_accuracy", 0.0))
    log.info("resumed %s at epoch %d", result.out_dir, ckpt.epoch)
    return ckpt.epoch


def fit(
    model: SlicNet, config: TrainConfig, train_set: tuple[Any, Any], val_set: tuple[Any, Any] | None = None, *,
    groups: Sequence[dict] | None = None, batches: str = "full", out_dir: str | os.PathLike | None = None, resume: bool = True,
    keep_best: bool = False, metrics: dict | None = None, stop_after: int | None = None,
    on_epoch: Callable[[dict], None] | None = None, progress: bool = True, desc: str = "", compile: bool = False,
) -> TrainResult:
    """Train ``model`` in place for ``config.epochs`` epochs, validating after each.

    Parameters
    ----------
    model : SlicNet
        The initialised network (seed before building it); its ``class_names`` and
        ``preprocessing`` go into the checkpoints.
    config : TrainConfig
        Optimisation settings (``split`` and ``val_fraction`` are :func:`train`'s).
    train_set, val_set : (images, labels)
        Preprocessed images ``(N, S, S)`` and integer labels; without a validation set the
        last epoch counts as the best.
    groups : sequence of dict, optional
        SGD parameter groups ``{"params", "lr", "name"}``; parameters in none are frozen.
        Default: every parameter at ``config.lr``.
    batches : {"full", "all"}
        ``"full"`` (training, and torchrun): each process takes its shard of the epoch's
        permutation and only full batches, so every process steps equally often (DDP needs
        it); the few images left over wait for another epoch. ``"all"`` (fine-tuning on a few
        dozen images, where those would be a large share): every image, the last batch
        partial, but never a last batch of one image (BatchNorm cannot normalise it); one
        process only. The policies give different numbers, so each caller keeps the one its
        published results were made with.
    out_dir : path, optional
        Folder for ``last.pt`` (every epoch) and ``best.pt`` (each new best); None: no files.
    resume : bool
        Continue from ``out_dir/last.pt`` when it exists (same settings required).
    keep_best : bool
        Load the best epoch's weights (kept in memory) into ``model`` at the end.
    metrics : dict, optional
        Extra entries of the checkpoints' ``metrics`` (e.g. ``synthetic_data``).
    stop_after : int, optional
        Stop after this many epochs *in this call* (to simulate or schedule an interruption).
    on_epoch : callable, optional
        Called with each epoch's history row (e.g. to update a live plot).
    progress, desc : bool, str
        Show progress bars, labelled ``desc``.
    compile : bool
        Run the training steps through ``torch.compile`` (the first epoch pays minutes of
        compilation). Worth it on a GPU for long runs (``benchmarks/bench_gpu.py``); on this
        project's 2-core CPU it measured slower than eager, so it is off by default. The
        weights, checkpoints and validation are those of the uncompiled model.

    Returns
    -------
    TrainResult
        History rows: ``lr`` (the first group's, before any schedule), ``epoch``, ``train_loss``, ``train_accuracy``,
        ``val_loss`` and ``val_accuracy`` (with a validation set), ``seconds``, ``n_train``,
        ``n_val``, ``world_size``, ``precision`` (``float32`` or ``bfloat16``).
    """
    if batches not in BATCH_POLICIES:
        raise SlicError(f"unknown batch policy {batches!r}; choose one of {', '.join(BATCH_POLICIES)}.")
    device = resolve_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    rank, world = _init_distributed(device)
    if batches == "all" and world > 1:
        raise SlicError("the 'all' batch policy gives processes unequal batch counts; use batches='full' under torchrun.")
    metrics = {**(metrics or {}), "data_fingerprint": data_fingerprint(train_set, val_set)}
    x, y = _tensors(*train_set, device)
    if len(y) == 0:
        raise SlicError("no training images were given.")
    xv, yv = _tensors(*val_set, device) if val_set is not None and len(val_set[1]) else (None, None)

    params = list(model.parameters())
    groups = [{"params": params, "lr": config.lr}] if groups is None else [dict(g) for g in groups]
    trainable = {id(p) for g in groups for p in g["params"]}
    if not trainable:
        raise SlicError("no parameter would learn; give at least one non-empty parameter group.")
    requires_grad = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(id(p) in trainable)
    frozen = _frozen_modules(model)
    to_channels_last(model.to(device))  # same values, faster convolutions (CPU and GPU)
    base_lrs = [float(g["lr"]) for g in groups]
    optimizer = torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=config.momentum, nesterov=config.nesterov, weight_decay=config.weight_decay)

    # the running average of the weights and BatchNorm statistics: what is validated and saved
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True) if config.ema > 0 else None
    evaluated = model if ema is None else ema.module
    result = TrainResult(None if out_dir is None else Path(out_dir), model=model)
    start_epoch = 0
    if result.out_dir is not None:
        if rank == 0:
            result.out_dir.mkdir(parents=True, exist_ok=True)
        if resume and result.last_path.exists():
            start_epoch = _resume(result, model, optimizer, config, device, ema, metrics["data_fingerprint"])
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        net = torch.compile(net)

    wants_bf16 = config.cpu_amp if device.type == "cpu" else config.amp
    precision = resolve_precision("auto" if wants_bf16 else "float32", device)
    local_batch = max(1, config.batch_size // world)
    if world > 1 and rank == 0 and config.batch_size % world:
        log.warning("a batch of %d over %d processes: %d each, %d in all", config.batch_size, world, local_batch, local_batch * world)
    best_state = None
    randomisation = preset(config.randomise)
    units = "relative" if getattr(model, "preprocessing", None) is not None and model.preprocessing.mode == "relative" else "standard"
    for epoch in range(start_epoch + 1, config.epochs + 1):
        if stop_after is not None and epoch - start_epoch > stop_after:
            break
        t0 = time.perf_counter()
        seed = _epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)  # dropout (and CUDA) randomness of this epoch
        gen = torch.Generator().manual_seed(seed)
        if config.schedule == "cosine":
            for group, base in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base * cosine_factor(epoch, config.epochs)
        epoch_batches = _batches(len(y), local_batch, gen, rank, world, batches)
        net.train()
        for module in frozen:
            module.eval()
        # running sums stay on the device (float64 where it has it): read once per epoch, and by the bar now and then
        acc_dtype = torch.float32 if device.type == "mps" else torch.float64
        loss_sum, correct, seen = torch.zeros((), dtype=acc_dtype, device=device), torch.zeros((), dtype=torch.int64, device=device), 0
        bar = tqdm(epoch_batches, desc=f"{desc} epoch {epoch}/{config.epochs}".strip(), leave=False, disable=not (progress and rank == 0))
        for step, idx in enumerate(bar):
            xb = x[idx.to(x.device)].to(device, non_blocking=True)
            yb = y[idx.to(y.device)].to(device, non_blocking=True)
            if config.augment:
                xb = augment_batch(xb, gen)
            if randomisation is not None:
                xb = randomise_batch(xb, gen, randomisation, units)
            batch_loss, batch_correct = sgd_step(net, optimizer, xb, yb, precision, config.label_smoothing)
            if ema is not None:
                ema.update_parameters(model)
            loss_sum += batch_loss
            correct += batch_correct
            seen += len(yb)
            if not bar.disable and step % 10 == 0:
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.3f}")
        if world > 1:  # every rank's share of the epoch, not rank 0's alone
            totals = torch.stack([loss_sum.double(), correct.double(), torch.tensor(float(seen), dtype=torch.float64, device=device)])
            tdist.all_reduce(totals)
            loss_sum, correct, seen = totals[0], int(totals[1]), int(totals[2])
        row: dict[str, Any] = {"lr": base_lrs[0], "epoch": epoch, "train_loss": float(loss_sum) / max(seen, 1),
                               "train_accuracy": int(correct) / max(seen, 1)}
        improved = True
        if xv is not None:
            row["val_loss"], row["val_accuracy"] = _validate(evaluated, xv, yv, 2 * local_batch, precision)
            best = next((r for r in result.history if r["epoch"] == result.best_epoch), None)
            improved = best is None or _selection_key(row) > _selection_key(best)
        row.update(seconds=time.perf_counter() - t0, n_train=len(y), n_val=0 if yv is None else len(yv), world_size=world, precision=precision)
        result.history.append(row)
        if improved:
            result.best_epoch, result.best_val_accuracy = epoch, row.get("val_accuracy", float("nan"))
            if keep_best and xv is not None:
                best_state = {k: v.detach().clone() for k, v in evaluated.state_dict().items()}
        if result.out_dir is not None and rank == 0:
            _save(result, model, optimizer, config, epoch, row, improved, metrics, ema)
        if on_epoch is not None and rank == 0:
            on_epoch(row)
    if best_state is not None:
        model.load_state_dict(best_state)
    elif ema is not None:  # the caller gets the weights that were validated and saved
        model.load_state_dict(ema.module.state_dict())
    for p, flag in zip(params, requires_grad):
        p.requires_grad_(flag)
    return result


def _save(result: TrainResult, model: SlicNet, optimizer, config: TrainConfig, epoch: int, row: dict, improved: bool, metrics: dict,
          ema: AveragedModel | None = None) -> None:
    cpu = lambda module: {k: v.detach().cpu() for k, v in module.state_dict().items()}  # noqa: E731
    if ema is not None:
        metrics = {**metrics, "ema_steps": int(ema.n_averaged)}
    ckpt = Checkpoint(
        state_dict=cpu(model if ema is None else ema.module),
        training_state=None if ema is None else cpu(model),
        model_config=model.config,
        preprocessing=model.preprocessing,
        class_names=model.class_names,
        train_config=asdict(config),
        metrics={"history": result.history, "best_epoch": result.best_epoch, "best_val_accuracy": result.best_val_accuracy,
                 "val_accuracy": row.get("val_accuracy"), **metrics},
        epoch=epoch,
        optimizer=optimizer.state_dict(),
    )
    if improved:
        save_checkpoint(ckpt, result.best_path)
    save_checkpoint(ckpt, result.last_path)
    log.info("%s epoch %d: train loss %.4f, val acc %s", result.out_dir, epoch, row["train_loss"], row.get("val_accuracy"))


def train(
    data: SolarData | str | os.PathLike, model_config: ModelConfig, config: TrainConfig, out_dir: str | os.PathLike,
    resume: bool = True, progress: bool = True, stop_after: int | None = None, on_epoch: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train one learning rate from a fresh He initialisation, checkpointing every epoch.

    Parameters
    ----------
    data
        A dataset file (``slic build``) or a :class:`~slic_lib.dataset.SolarData`, split by ``config.split``.
    model_config, config
        Architecture (its ``input_size`` must be the dataset's image size) and optimisation.
    out_dir
        Folder for ``last.pt`` and ``best.pt``.
    resume, progress, stop_after, on_epoch
        See :func:`fit`.
    """
    data = data if isinstance(data, SolarData) else load_dataset(data)
    size = data.images.shape[-1]
    if model_config.input_size != size:
        raise SlicError(f"the model expects {model_config.input_size}px images but the dataset holds {size}px images; rebuild one of them.")
    if model_config.n_classes != len(data.class_names):
        raise SlicError(f"the model has {model_config.n_classes} outputs but the dataset has {len(data.class_names)} classes.")
    train_idx, val_idx = split(data, config.split, config.val_fraction, config.seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise SlicError(f"the {config.split} split left an empty side ({len(train_idx)} train, {len(val_idx)} validation images); add data or change --split.")
    if len(np.unique(data.labels[train_idx])) < 2:
        raise SlicError(f"the training images hold one class only ({data.class_names[int(data.labels[train_idx][0])]}); "
                        "a classifier needs images of at least two classes.")
    torch.manual_seed(config.seed)
    model = SlicNet(model_config)
    model.class_names = data.class_names
    model.preprocessing = data.preprocessing
    return fit(
        model, config, (data.images[train_idx], data.labels[train_idx]), (data.images[val_idx], data.labels[val_idx]),
        out_dir=out_dir, resume=resume, metrics={"synthetic_data": data.is_synthetic, "data_source": data.source},
        stop_after=stop_after, on_epoch=on_epoch, progress=progress, desc=f"lr {config.lr:g}",
    )
