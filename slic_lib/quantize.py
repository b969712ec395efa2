"""int8 inference on CPUs: the convolutions in 8-bit integers, the classifier in float32.

A trained network's convolutions run in int8 with PyTorch's quantized kernels (the ``x86``
engine: oneDNN and FBGEMM with AVX-512 VNNI), after post-training static quantization
(``torch.ao.quantization``): each Conv-BatchNorm-ReLU block is fused into one quantized
convolution with per-channel weight scales, and each block's output gets one scale and zero
point, chosen from calibration images with PyTorch's histogram observer. The classifier's
fully connected layers stay float32 (they are 4 % of the work). Measured on the published
network at 256x256 on a 2-core AVX-512 VNNI CPU: 23.4 images/s against 10.4 for bfloat16
channels-last (the bfloat16 matrix-product peak allows 12-14), batch 16
(``benchmarks/bench_inference.py``).

The activation scales are data-dependent, so they are computed once, by ``slic calibrate``
(:func:`calibrate` on a sample of the model's training images), stored in the checkpoint as
plain numbers, and applied at every load (:func:`quantize`): the labels of a file never depend
on which other files are classified with it. ``slic calibrate`` also reports how often int8
labels agree with float32 ones on the model's validation images; use ``--precision int8``
where that agreement is good enough for the work. A bare published state_dict has no place for
the scales: ``slic calibrate sol_class_4.pth DATASET --out NEW.pt`` writes it as a project
checkpoint with them, calibrated on the release's own validation images.

``torch.ao.quantization`` and the quantized dtypes (``quint8``, ``qint8``) it runs on are
deprecated since PyTorch 2.13, to be removed in a later release (pytorch/pytorch#184982), in
favour of torchao, whose int8 convolutions on CPUs run through ``torch.compile`` (PT2E and
Inductor): tens of seconds of compilation in every process here (21 s for the bfloat16
network, measured for issue 13), more than int8 saves on a run of a hundred files. So the eager
API is used while PyTorch ships it (2.13 does, the version CI and `make` install), its deprecation
notices silenced; where it is gone, :func:`supported` is False and ``--precision int8`` says so.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import SlicError

#: The quantized engine: AVX-512 VNNI / AVX2 kernels on x86 CPUs.
ENGINE = "x86"
#: Calibration images used by :func:`calibrate` at most.
N_CALIBRATION = 256


def supported() -> bool:
    """Whether this PyTorch build has eager quantization and the x86 quantized engine (x86 CPUs)."""
    try:
        import torch.ao.quantization  # noqa: F401
    except ImportError:  # deprecated in favour of torchao (see the module docstring)
        return False
    return ENGINE in torch.backends.quantized.supported_engines


class Int8Net(nn.Module):
    """A SlicNet whose feature extractor runs in int8; same interface as the network.

    ``stages()`` lists the quantize step, the fused blocks and pools in the network's order,
    and the dequantize step; ``forward`` returns float32 logits.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from torch.ao.quantization import DeQuantStub, QuantStub, fuse_modules

        net = model.cpu().eval()  # taken over: its blocks are fused in place
        if any(isinstance(m, nn.Identity) for m in net.modules()):
            raise SlicError("int8 needs the network's BatchNorm layers; quantize a model whose BatchNorm was not folded.")
        for name, block in net.named_children():
            if name.startswith("layer"):
                fuse_modules(block, [["0", "1", "2"]], inplace=True)
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.net = net
        self.config, self.class_names, self.preprocessing = net.config, net.class_names, net.preprocessing

    @property
    def classifier(self) -> nn.Module:
        return self.net.classifier

    def stages(self) -> list[tuple[str, nn.Module]]:
        return [("quant", self.quant), *self.net.stages(), ("dequant", self.dequant)]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for _, module in self.stages():
            x = module(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.classifier(torch.flatten(self.features(x), 1))


def has_vnni() -> bool:
    """Whether the CPU has 8-bit dot products (AVX-512 VNNI or AVX-VNNI), from ``/proc/cpuinfo``
    (no: where there is none to read, so the engine's safe 7-bit range is used)."""
    from .inference import cpu_flags

    return bool({"avx512_vnni", "avx_vnni"} & (cpu_flags() or set()))


def quiet_deprecations() -> None:
    """Silence (for the process) the notices of the deprecation described in the module docstring,
    which would otherwise be printed by every ``slic classify --precision int8``. A filter, not
    ``warnings.catch_warnings``: that restores the filters of the whole process when it ends,
    which races with the reader thread's own."""
    warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quantize_per_channel", category=UserWarning)
    warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated", category=DeprecationWarning)


def _prepared(model: nn.Module, observer: Any) -> Int8Net:
    from torch.ao.quantization import HistogramObserver, QConfig, get_default_qconfig, prepare

    quiet_deprecations()
    torch.backends.quantized.engine = ENGINE
    q = Int8Net(model)
    # The full 8-bit range where VNNI multiplies bytes without overflow: the engine's default
    # 7-bit range (for AVX2's 16-bit sums) disagreed with float32 on 3 of 300 validation images
    # of the cpu-profile model, the full range on none.
    activation = observer or HistogramObserver.with_args(dtype=torch.quint8, quant_min=0, quant_max=255 if has_vnni() else 127)
    q.qconfig = QConfig(activation=activation, weight=get_default_qconfig(ENGINE).weight)
    q.net.classifier.qconfig = None  # float32
    prepare(q, inplace=True)
    return q


def _convert(q: Int8Net) -> Int8Net:
    from torch.ao.quantization import convert

    convert(q, inplace=True)
    return q.eval()


def _quantized(q: Int8Net) -> dict[str, nn.Module]:
    """The converted modules that carry an output scale, by name (the quantize step and convolutions)."""
    return {name: m for name, m in q.named_modules() if hasattr(m, "scale") and hasattr(m, "zero_point") and name}


@torch.no_grad()
def calibrate(model: nn.Module, images: np.ndarray, batch_size: int = 32, seed: int = 0) -> dict:
    """The int8 activation scales of ``model`` from (a seeded sample of at most 256 of) ``images``.

    Returns a plain dictionary (engine, scales and zero points by module, images used) to store
    in the checkpoint and give to :func:`quantize`.
    """
    if not supported():
        raise SlicError(f"this PyTorch has no '{ENGINE}' quantized engine (int8 needs an x86 CPU).")
    x = np.asarray(images, dtype=np.float32)
    if len(x) > N_CALIBRATION:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), N_CALIBRATION, replace=False))]
    q = _prepared(copy.deepcopy(model), None)
    for start in range(0, len(x), batch_size):
        q(torch.from_numpy(x[start : start + batch_size]).unsqueeze(1))
    _convert(q)
    scales = {name: [float(m.scale), int(m.zero_point)] for name, m in _quantized(q).items()}
    return {"engine": ENGINE, "torch": torch.__version__.split("+")[0], "n_images": int(len(x)), "activations": scales}


def quantize(model: nn.Module, int8: dict) -> Int8Net:
    """``model`` with its feature extractor in int8, using the stored scales of :func:`calibrate`.

    The model is taken over (its blocks are fused in place): pass a copy to keep it.

    Raises
    ------
    SlicError
        Without the x86 engine, or if the stored scales do not fit the network.
    """
    if not supported():
        raise SlicError(f"this PyTorch has no '{ENGINE}' quantized engine (int8 needs an x86 CPU); use --precision auto.")
    from torch.ao.quantization import MinMaxObserver

    q = _prepared(model, MinMaxObserver.with_args(dtype=torch.quint8))
    for m in q.modules():  # any range, so that converting has one; the stored scales replace it below
        if isinstance(m, MinMaxObserver):
            m(torch.tensor([0.0, 1.0]))
    _convert(q)
    modules, stored = _quantized(q), int8.get("activations", {})
    if set(modules) != set(stored):
        raise SlicError("the checkpoint's int8 calibration does not fit its network; run 'slic calibrate' again.")
    for name, m in modules.items():
        scale, zero_point = stored[name]
        if isinstance(m.scale, torch.Tensor):  # the quantize step keeps them as buffers
            m.scale.fill_(scale)
            m.zero_point.fill_(zero_point)
        else:
            m.scale, m.zero_point = float(scale), int(zero_point)
    return q


def agreement(model: nn.Module, int8: dict, images: np.ndarray, batch_size: int = 32) -> float:
    """Share of ``images`` on which the int8 network's label equals the float32 network's."""
    from .inference import logits

    if len(images) == 0:
        return float("nan")
    ref = logits(model, images, batch_size, precision="float32").argmax(1)
    got = logits(quantize(copy.deepcopy(model), int8), images, batch_size, precision="float32").argmax(1)
    return float((ref == got).float().mean())
