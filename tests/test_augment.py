"""Domain randomisation: reproducible from the generator, physical where it claims to be
(the resolution test's PSF, JPEG's quantisation), and a no-op where it is switched off."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from slic_lib.augment import _DCT, DomainRandomisation, _bin_each, _blocks, _blur, _top_quantile, _unblocks, jpeg, preset, randomise_batch
from slic_lib.degrade import convolve_psf
from slic_lib.errors import SlicError
from slic_lib.train import TrainConfig


def _images(n=6, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, 1, size, size), generator=g)
    return (x - x.mean(dim=(-1, -2), keepdim=True)) / x.std(dim=(-1, -2), keepdim=True)


def test_same_generator_state_gives_the_same_images_and_another_differs():
    x = _images()
    a = randomise_batch(x, torch.Generator().manual_seed(3), preset("full"))
    b = randomise_batch(x, torch.Generator().manual_seed(3), preset("full"))
    c = randomise_batch(x, torch.Generator().manual_seed(4), preset("full"))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_randomised_images_are_standardised_and_changed():
    x = _images(8)
    always = replace(DomainRandomisation(), p_image=1.0, p_stage=1.0)
    y = randomise_batch(x, torch.Generator().manual_seed(0), always)
    assert y.shape == x.shape and torch.isfinite(y).all()
    torch.testing.assert_close(y.mean(dim=(-1, -2)), torch.zeros(8, 1), atol=1e-4, rtol=0)
    torch.testing.assert_close(y.std(dim=(-1, -2)), torch.ones(8, 1), atol=1e-3, rtol=0)
    assert ((y - x).abs().mean(dim=(1, 2, 3)) > 0.05).all()


def test_no_image_chosen_leaves_the_batch_unchanged():
    x = _images()
    y = randomise_batch(x, torch.Generator().manual_seed(0), replace(DomainRandomisation(), p_image=0.0))
    assert torch.equal(x, y)


def test_an_images_instrument_does_not_depend_on_which_others_were_chosen():
    x = _images(12)
    every = randomise_batch(x, torch.Generator().manual_seed(5), replace(DomainRandomisation(), p_image=1.0), "relative")
    some = randomise_batch(x, torch.Generator().manual_seed(5), replace(DomainRandomisation(), p_image=0.5), "relative")
    chosen = torch.rand(12, generator=torch.Generator().manual_seed(5)) < 0.5  # the first draw
    assert 0 < chosen.sum() < 12
    torch.testing.assert_close(some[chosen], every[chosen], atol=1e-4, rtol=1e-4)
    assert torch.equal(some[~chosen], x[~chosen])


def test_top_quantile_is_torchs_quantile():
    flat = torch.randn((5, 4096), generator=torch.Generator().manual_seed(0))
    levels = torch.tensor([1.0, 0.999, 0.995, 0.99123, 0.99])
    expected = torch.stack([torch.quantile(row, float(q)) for row, q in zip(flat, levels)])
    torch.testing.assert_close(_top_quantile(flat, levels), expected)


def test_jpeg_is_the_block_dct_of_the_standard():
    """The batched form (pixel_unshuffle and one product) against the 8x8 DCT written out per block."""
    x = (128 + 50 * torch.randn((2, 1, 16, 24), generator=torch.Generator().manual_seed(1))).clamp(0, 255)
    quality = torch.tensor([80.0, 40.0])
    out = jpeg(x, quality)
    from slic_lib.augment import _JPEG_TABLE

    for n, q in enumerate(quality):
        scale = (5000.0 / q if q < 50 else 200.0 - 2.0 * q) / 100.0
        table = (_JPEG_TABLE * scale).clamp_min(1.0)
        for by in range(0, 16, 8):
            for bx in range(0, 24, 8):
                block = x[n, 0, by : by + 8, bx : bx + 8] - 128.0
                coef = torch.round(_DCT @ block @ _DCT.T / table) * table
                want = (_DCT.T @ coef @ _DCT + 128.0).clamp(0, 255)
                torch.testing.assert_close(out[n, 0, by : by + 8, bx : bx + 8], want, atol=1e-3, rtol=0)


def test_blur_is_the_resolution_tests_psf():
    image = np.zeros((33, 33))
    image[16, 16] = 1.0
    ours = _blur(torch.tensor(image, dtype=torch.float32)[None, None], np.array([3.0]))[0, 0].numpy()
    np.testing.assert_allclose(ours, convolve_psf(image, 3.0), atol=1e-4)


def test_jpeg_keeps_flat_blocks_and_loses_more_at_low_quality():
    flat = torch.full((1, 1, 16, 16), 100.0)
    torch.testing.assert_close(jpeg(flat, torch.tensor([50.0])), flat, atol=0.5, rtol=0)
    noisy = (128 + 40 * torch.randn((2, 1, 32, 32), generator=torch.Generator().manual_seed(0))).clamp(0, 255)
    out = jpeg(noisy, torch.tensor([95.0, 30.0]))
    err = (out - noisy).abs().mean(dim=(1, 2, 3))
    assert 0 < err[0] < err[1]


def test_unknown_settings_are_refused_in_one_sentence():
    with pytest.raises(SlicError, match="choose one of"):
        TrainConfig(randomise="sometimes")
    with pytest.raises(SlicError):
        DomainRandomisation(p_image=1.5)


def test_relative_images_keep_their_contrast_and_units():
    # four disc frames at 1 with a filament at 0.8 (relative units: -2), four limb frames with sky (intensity 0)
    x = torch.zeros((8, 1, 32, 32))
    x[:4, :, 12:16, :] = -2.0
    x[4:, :, :16, :] = -10.0
    out = randomise_batch(x, torch.Generator().manual_seed(0), replace(preset("full"), p_image=1.0), units="relative")
    assert torch.isfinite(out).all() and out.shape == x.shape
    # limb darkening (up to 15 % across the field) moves parts of the disc by up to ~1.5 units
    for img in out[:4, 0]:  # the disc stays near 0 and the filament well below it: the contrast is kept
        assert abs(float(img[20:, :].median())) < 2
        assert float(img[12:16, :].mean()) < float(img[20:, :].median()) - 0.8
    for img in out[4:, 0]:  # the sky stays far below the disc; standardised, it would sit near -1
        assert abs(float(img[20:, :].median())) < 2
        assert float(img[:10, :].mean()) < -6


def test_unknown_units_are_refused():
    with pytest.raises(SlicError, match="relative"):
        randomise_batch(_images(), torch.Generator().manual_seed(0), preset("full"), units="slic-npz")


def test_the_tensor_disc_level_is_the_preprocessings():
    from slic_lib.augment import _disc_level
    from slic_lib.preprocess import disc_level

    rng = np.random.default_rng(2)
    imgs = rng.gamma(4.0, 0.25, (5, 32, 32)).astype(np.float32)
    imgs[1, :20] = 0.01  # mostly sky
    ours = _disc_level(torch.from_numpy(imgs)[:, None]).flatten().numpy()
    # torch.nanmedian takes the lower of the two middle values where numpy averages them
    np.testing.assert_allclose(ours, [disc_level(im) for im in imgs], rtol=0.02)


def test_blocks_are_pixel_unshuffle_and_back():
    x = torch.rand(3, 1, 32, 48)
    assert torch.equal(_blocks(x), torch.nn.functional.pixel_unshuffle(x, 8))
    assert torch.equal(_unblocks(_blocks(x)), x)


def test_binning_by_groups_equals_binning_each_image_alone():
    x = torch.rand(6, 1, 64, 64)
    factors = torch.tensor([1.0, 1.5, 2.0, 1.5, 1.02, 1.9])
    on = torch.tensor([True, True, True, False, True, True])
    out = _bin_each(x, factors, on)
    for i in range(6):
        small = max(2, round(64 / float(factors[i])))
        if on[i] and small < 64:
            down = torch.nn.functional.interpolate(x[i : i + 1], size=(small, small), mode="area")
            want = torch.nn.functional.interpolate(down, size=(64, 64), mode="bilinear", align_corners=False)[0]
        else:
            want = x[i]
        assert torch.equal(out[i], want), i
