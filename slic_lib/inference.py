"""Running a trained network: THE batched prediction loop, its device and threads, and timing.

Every prediction in the project goes through :func:`logits` (classification of FITS files,
evaluation on a dataset, degradation curves, fine-tuning scores, inference timing and the
training engine's validation), so precision, memory format and batch size are chosen in one
place and a speed-up here speeds up all of them.

Nothing on this path imports training or dataset-building code: classifying a file needs
the model, the preprocessing and this module only.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from .progress import tqdm

from .errors import SlicError

PRECISIONS = ("float32", "bfloat16")
"""Arithmetic of the forward pass: full precision, or bfloat16 autocast (weights stay float32)."""

PRECISION_CHOICES = ("auto", *PRECISIONS)
"""What a user may ask for: ``auto`` resolves with :func:`resolve_precision`."""


def resolve_device(name: str | torch.device = "auto", local_rank: int = 0) -> torch.device:
    """A torch device from ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``; ``auto`` takes a GPU when present.

    Parameters
    ----------
    name
        Device name or device.
    local_rank
        Process index on this machine under torchrun: ``auto`` then takes GPU ``local_rank``.

    Raises
    ------
    SlicError
        When a GPU is asked for and none is available.
    """
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SlicError(f"unknown device {name!r}; use auto, cpu or cuda[:N].") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SlicError(f"device {name!r} was asked for but no CUDA GPU is available; use --device cpu.")
    return device


def model_device(model: nn.Module) -> torch.device:
    """The device a model's parameters are on (the CPU for a model without parameters)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def cpu_has_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX-512 BF16 or AMX), so bfloat16 autocast pays.

    The CPU flags of ``/proc/cpuinfo`` (Linux) decide; elsewhere oneDNN's check
    (``torch.ops.mkldnn._is_mkldnn_bf16_supported``, which also says yes for plain AVX-512,
    where bfloat16 is emulated) is asked. CPUs without these instructions emulate bfloat16
    more slowly than float32, so ``auto`` falls back to float32 there.
    """
    flags = cpu_flags()
    if flags is not None:
        return bool({"avx512_bf16", "amx_bf16"} & flags)
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - a torch without oneDNN
        return False


def cpu_flags() -> set[str] | None:
    """The CPU feature flags of ``/proc/cpuinfo``, or None where there is no such file."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else :mod:`platform`), e.g. ``AMD EPYC``."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "CPU"


def resolve_precision(precision: str = "auto", device: str | torch.device = "cpu") -> str:
    """The precision to run at: ``auto`` becomes ``bfloat16`` where the device computes it natively.

    ``auto`` is ``bfloat16`` on a CUDA GPU that supports it (Ampere and newer) and on a CPU
    with AVX-512 BF16 or AMX (:func:`cpu_has_bf16`), else ``float32``. An explicit
    ``float32`` or ``bfloat16`` is returned as given (bfloat16 on other CPUs is emulated:
    correct but slow).

    Raises
    ------
    SlicError
        For an unknown precision name.
    """
    if precision not in PRECISION_CHOICES:
        raise SlicError(f"unknown precision {precision!r}; use one of {', '.join(PRECISION_CHOICES)}.")
    if precision != "auto":
        return precision
    dev = resolve_device(device)
    if dev.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if dev.type == "cpu":
        return "bfloat16" if cpu_has_bf16() else "float32"
    return "float32"


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run torch's CPU operations on ``n`` threads inside the block (None: leave as is).

    Tiny networks gain nothing from intra-op threads, and on a shared, busy machine two
    OpenMP threads fighting for two cores ran the smoke profile's fits ten times slower than one.
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast(device: torch.device, precision: str = "float32") -> contextlib.AbstractContextManager:
    """The autocast context of a precision on a device (a no-op for ``float32``; ``auto`` is resolved first)."""
    precision = resolve_precision(precision, device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store the model's 4-D weights channels-last (in place), the layout oneDNN and cuDNN convolve fastest.

    The weights' values are unchanged (only their strides), so results and checkpoints are
    the same; measured on the published network at 256x256 on an AVX-512 BF16 CPU, float32
    channels-last ran 1.4 times and bfloat16 channels-last 2.7 times as fast as float32 in the
    default layout (``benchmarks/bench_inference.py``).
    """
    return model.to(memory_format=torch.channels_last)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm that follows a convolution into it (in place), for inference only.

    In eval mode a BatchNorm is an affine map per channel, so the convolution before it can
    absorb it (``torch.nn.utils.fusion.fuse_conv_bn_eval``); the BatchNorm becomes an
    ``Identity``. The same function up to rounding, one pass over the feature maps fewer: on the
    published network at 256x256 under bfloat16 autocast the BatchNorms took 1.0 s of 16 s of a
    ``slic classify`` over 96 files, as they run in float32. A folded model cannot be trained
    (it has no BatchNorm statistics left): fold a model loaded to classify, not one to train.
    Returns the model, in eval mode.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model.eval()
    for block in model.modules():
        if not isinstance(block, nn.Sequential):
            continue
        for i in range(len(block) - 1):
            conv, bn = block[i], block[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                block[i], block[i + 1] = fuse_conv_bn_eval(conv, bn), nn.Identity()
    return model


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put a model in eval mode inside the block and restore its previous mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def as_batch(images: Any) -> torch.Tensor:
    """Images ``(N, S, S)`` or ``(N, 1, S, S)``, numpy or torch, as a float32 tensor ``(N, 1, S, S)``."""
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise SlicError(f"expected images of shape (N, S, S) or (N, 1, S, S), got {tuple(x.shape)}.")
    return x if x.dtype == torch.float32 else x.float()


@torch.no_grad()
def logits(
    model: nn.Module,
    images: Any,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    precision: str = "float32",
    channels_last: bool = True,
    progress: bool = False,
) -> torch.Tensor:
    """The network's float32 logits ``(N, n_classes)`` for preprocessed images, on the CPU.

    The one prediction loop of the project: the model in eval mode (its previous mode is
    restored), no gradients, batches of ``batch_size`` moved to the device one at a time.

    Parameters
    ----------
    model
        The network.
    images
        Preprocessed images ``(N, S, S)`` or ``(N, 1, S, S)`` (numpy or torch).
    batch_size
        Images per forward pass.
    device
        Where to run: ``None`` keeps the model where it is; otherwise the model is moved there.
    precision
        ``"float32"``, ``"bfloat16"`` autocast, or ``"auto"`` (:func:`resolve_precision`:
        bfloat16 where the device computes it natively).
    channels_last
        Run in the channels-last memory format (the default: faster convolutions on CPUs and
        GPUs, same values); the model's weights are left channels-last.
    progress
        Show a progress bar over batches.
    """
    if batch_size < 1:
        raise SlicError(f"batch_size must be >= 1, got {batch_size}.")
    dev = model_device(model) if device is None else resolve_device(device)
    model.to(dev)
    precision = resolve_precision(precision, dev)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        to_channels_last(model)
    x = as_batch(images)
    config = getattr(model, "config", None)
    size = getattr(config, "input_size", None)
    if size is not None and (x.shape[1] != 1 or tuple(x.shape[-2:]) != (size, size)):  # else a matrix-product error deep in torch
        raise SlicError(f"the model takes {size}x{size} images of one channel; got images of shape {tuple(x.shape[1:])} "
                        "(preprocess them with slic_lib.preprocess.preprocess_array and the model's preprocessing).")
    out = []
    with eval_mode(model), autocast(dev, precision):
        for start in tqdm(range(0, len(x), batch_size), desc="classifying", unit="batch", disable=not progress):
            xb = x[start : start + batch_size].to(dev, non_blocking=True).contiguous(memory_format=fmt)
            out.append(model(xb).float().cpu())
    n_out = getattr(getattr(model, "config", None), "n_classes", 0)
    return torch.cat(out) if out else torch.zeros((0, n_out))


def predict_proba(
    model: nn.Module,
    images: Any,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    precision: str = "float32",
    progress: bool = False,
    channels_last: bool = True,
) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` (softmax of :func:`logits`) as a numpy array."""
    return torch.softmax(logits(model, images, batch_size, device, precision, channels_last, progress), 1).numpy()


def time_inference(
    model: nn.Module,
    images: Any,
    device: str = "auto",
    precision: str = "float32",
    batch_size: int = 64,
    repeats: int = 3,
    channels_last: bool = True,
) -> dict:
    """Seconds to classify ``images`` (N, S, S) end to end on a device, median of ``repeats``.

    Times :func:`logits`, the loop every user of the project runs, including moving batches
    to the device and reading predictions back; one untimed warm-up pass comes first.

    Returns
    -------
    dict
        ``device`` (name), ``precision``, ``n_images``, ``seconds``, ``seconds_per_image``,
        ``batch_size``.
    """
    dev = resolve_device(device)
    x = as_batch(images)

    def once() -> None:
        logits(model, x, batch_size, dev, precision, channels_last).argmax(1)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    once()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    seconds = float(np.median(times))
    threads = torch.get_num_threads()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU {cpu_name()} ({threads} thread{'s' if threads > 1 else ''})"
    return {"device": name, "precision": resolve_precision(precision, dev), "n_images": len(x), "seconds": seconds,
            "seconds_per_image": seconds / max(len(x), 1), "batch_size": batch_size}
