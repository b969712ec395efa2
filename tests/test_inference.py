"""The one prediction loop: precision detection, channels-last, bfloat16 autocast."""

import numpy as np
import pytest
import torch

from slic_lib import inference
from slic_lib.errors import SlicError
from slic_lib.inference import autocast, cpu_has_bf16, logits, predict_proba, resolve_precision
from slic_lib.model import SlicNet

from conftest import TINY


@pytest.fixture
def net():
    torch.manual_seed(0)
    return SlicNet(**TINY)


@pytest.fixture
def images():
    return np.random.default_rng(0).normal(size=(12, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("flags, expected", [({"avx512f", "avx512_bf16"}, True), ({"amx_bf16"}, True), ({"avx512f", "avx2"}, False)])
def test_bf16_detection_reads_the_cpu_flags(monkeypatch, flags, expected):
    monkeypatch.setattr(inference, "cpu_flags", lambda: flags)
    assert cpu_has_bf16() is expected
    assert resolve_precision("auto", "cpu") == ("bfloat16" if expected else "float32")


def test_explicit_precisions_pass_through_and_unknown_ones_are_user_errors(monkeypatch):
    monkeypatch.setattr(inference, "cpu_flags", lambda: set())
    assert resolve_precision("bfloat16", "cpu") == "bfloat16"
    assert resolve_precision("float32", "cpu") == "float32"
    with pytest.raises(SlicError, match="unknown precision 'half'"):
        resolve_precision("half", "cpu")


def test_autocast_is_on_only_for_bfloat16(monkeypatch):
    monkeypatch.setattr(inference, "cpu_flags", lambda: {"avx512_bf16"})
    x = torch.randn(4, 4)
    with autocast(torch.device("cpu"), "auto"):
        assert (x @ x).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "float32"):
        assert (x @ x).dtype == torch.float32


def test_channels_last_gives_the_same_logits_and_keeps_the_mode(net, images):
    net.train()
    plain = logits(net, images, batch_size=5, channels_last=False)
    fast = logits(net, images, batch_size=5, channels_last=True)
    assert net.training  # the loop restores the caller's mode
    assert fast.dtype == torch.float32 and fast.shape == (12, 5)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    assert net.layer1[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_folding_batchnorm_keeps_the_function(net, images):
    with torch.no_grad():  # statistics other than the initial ones, so that folding has work to do
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2), m.weight.uniform_(0.5, 2)
    before = logits(net, images, channels_last=False)
    folded = inference.fold_batchnorm(net)
    assert folded is net and not net.training
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert sum(isinstance(m, torch.nn.Identity) for m in net.modules()) == len(net.config.channels)
    torch.testing.assert_close(logits(net, images, channels_last=False), before, rtol=1e-4, atol=1e-4)


def test_bfloat16_logits_are_close_to_float32(net, images):
    f32 = logits(net, images, precision="float32")
    b16 = logits(net, images, precision="bfloat16")
    assert b16.dtype == torch.float32  # read back in float32 whatever the arithmetic
    scale = f32.abs().max()
    assert (b16 - f32).abs().max() < 0.05 * scale  # bfloat16 keeps 8 bits of mantissa
    assert not torch.equal(b16, f32)  # and it did run in bfloat16


def test_predict_proba_rows_are_distributions(net, images):
    p = predict_proba(net, images, batch_size=4, precision="auto")
    assert p.shape == (12, 5)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)


def test_images_of_another_size_are_one_sentence():
    import numpy as np

    from slic_lib.errors import SlicError
    from slic_lib.inference import predict_proba
    from slic_lib.model import ModelConfig, SlicNet

    model = SlicNet(ModelConfig(input_size=64, width=0.125, hidden=32))
    with pytest.raises(SlicError, match="takes 64x64 images of one channel; got images of shape \\(1, 32, 32\\)"):
        predict_proba(model, np.zeros((2, 32, 32), np.float32))  # was "mat1 and mat2 shapes cannot be multiplied"


def test_a_quoted_tilde_in_slic_data_is_the_home_folder(monkeypatch):
    from pathlib import Path

    from slic_lib.paths import data_root

    monkeypatch.setenv("SLIC_DATA", "~/slic-scratch")
    assert data_root() == Path.home().resolve() / "slic-scratch"  # was ./~/slic-scratch


def test_slic_data_where_nothing_can_be_made_is_one_sentence(tmp_path, monkeypatch):
    from slic_lib.errors import SlicError
    from slic_lib.paths import results_dir

    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("SLIC_DATA", str(tmp_path / "afile" / "data"))  # under a file: mkdir fails as on a read-only disk
    with pytest.raises(SlicError, match="cannot make the folder .*set SLIC_DATA to a writable place"):
        results_dir("smoke")
