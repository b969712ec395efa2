"""The inference loop and the training engine on a CUDA GPU (skipped where none is present).

CI has no GPU; these run on the device machine (``pytest tests/test_gpu.py``), beside
``benchmarks/bench_gpu.py``.
"""

import numpy as np
import pytest
import torch

from slic_lib.inference import logits, resolve_precision
from slic_lib.model import SlicNet
from slic_lib.train import TrainConfig, fit

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _net() -> SlicNet:
    torch.manual_seed(0)
    return SlicNet(arch="slic", input_size=64, width=0.25, hidden=64)


def test_gpu_logits_match_cpu():
    x = torch.randn(40, 64, 64)
    net = _net()
    on_cpu = logits(net, x, batch_size=16, device="cpu", precision="float32")
    on_gpu = logits(net, x, batch_size=16, device="cuda", precision="float32")
    assert on_gpu.device.type == "cpu"  # the loop hands back CPU tensors wherever it ran
    # cuDNN convolutions run in TF32 by default (PyTorch's setting): ~1e-3 relative, seen 7e-3 at most on an H200
    torch.testing.assert_close(on_gpu, on_cpu, rtol=2e-2, atol=2e-2)
    assert resolve_precision("auto", "cuda") == "bfloat16"  # every lent GPU (H100/H200) computes bfloat16
    fast = logits(net, x, batch_size=16, device="cuda", precision="auto")
    # an untrained network's logits are near ties, so compare values, not labels: bfloat16 keeps 8 bits of mantissa
    assert (fast - on_cpu).abs().max() <= 0.05 * on_cpu.abs().max()


@pytest.mark.parametrize("randomise", ["off", "full"])
def test_gpu_fit_with_data_on_the_gpu(randomise):
    # two classes that survive flips, turns and re-observation: noise, and noise with a dark half-plane
    g = torch.Generator().manual_seed(1)
    y = torch.arange(128) % 2
    x = torch.randn(128, 64, 64, generator=g) * 0.2 + 1
    x[y == 1, :, :32] -= 0.8
    net = _net()
    cfg = TrainConfig(lr=1e-2, epochs=3, batch_size=32, amp=True, device="cuda", randomise=randomise, augment=randomise != "off")
    result = fit(net, cfg, (x.cuda(), y.cuda()), (x[:64].cuda(), y[:64].cuda()), progress=False)
    assert next(net.parameters()).device.type == "cuda"
    assert all(np.isfinite(h["train_loss"]) for h in result.history)
    if randomise == "off":  # learnt in 3 epochs; with domain randomisation it takes longer (the chain runs on the GPU: the point here)
        pred = logits(net, x[:64], device="cuda", precision="auto").argmax(1).numpy()
        assert np.mean(pred == y[:64].numpy()) >= 0.9, result.history
