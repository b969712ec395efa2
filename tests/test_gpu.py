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

from conftest import make_tree

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


def whole_path(tmp_path, device: str) -> None:
    """``slic build``, ``train``, ``calibrate`` and ``classify`` on ``device``, over plain FITS frames
    (no coordinate keywords); the catalogue's labels are the CPU's in float32. A function of the
    device so that it can be checked on a CPU machine too (``tests/test_classify.py`` does)."""
    from slic_lib.classify import classify_files
    from slic_lib.cli import main

    fits_tree, dataset_file, run = make_tree(tmp_path / "tree", plain=True), tmp_path / "tiny.h5", tmp_path / "run"
    assert main(["build", str(fits_tree), "--out", str(dataset_file), "--size", "32", "--workers", "1", "--no-progress"]) == 0
    assert main(["train", str(dataset_file), "--out", str(run), "--lr", "5e-3", "--epochs", "6", "--batch-size", "8",
                 "--width", "0.125", "--hidden", "32", "--device", device, "--no-progress"]) == 0
    assert main(["calibrate", str(run / "best.pt"), str(dataset_file), "--device", device]) == 0
    files = sorted(fits_tree.rglob("*.fits"))
    common = dict(workers=0, progress=False, use_sunpy=False)  # header facts by astropy alone: no sunpy needed there
    on_cpu = classify_files(files, run / "best.pt", device="cpu", precision="float32", **common)
    here = classify_files(files, run / "best.pt", tmp_path / "catalogue.parquet", device=device, precision="auto", **common)
    assert on_cpu.n_ok == here.n_ok == len(files) > 0
    assert here.calibrated and (tmp_path / "catalogue.parquet").is_file()
    labels = np.array(here._column("label")) == np.array(on_cpu._column("label"))
    assert labels.mean() >= 0.95, (here.precision, labels.mean())
    np.testing.assert_allclose(here._column("confidence"), on_cpu._column("confidence"), atol=0.05)
    if device.startswith("cuda"):  # int8 is the CPU's: one sentence, a non-zero exit, nothing written
        assert main(["classify", str(files[0]), "--model", str(run / "best.pt"), "--device", device,
                     "--precision", "int8", "--out", str(tmp_path / "int8.csv"), "--no-progress"]) != 0
        assert not (tmp_path / "int8.csv").exists()


def test_gpu_build_train_calibrate_classify(tmp_path):
    whole_path(tmp_path, "cuda")
