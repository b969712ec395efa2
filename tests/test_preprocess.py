"""One preprocessing for every path, bad frames, and the released-npz compatibility mode."""

import numpy as np
import pytest

from slic_lib.preprocess import BadFrameError, PreprocessConfig, preprocess


def test_standard_mode_shape_dtype_and_normalisation():
    rng = np.random.default_rng(0)
    out = preprocess(rng.normal(500, 50, (200, 300)), PreprocessConfig(size=64))
    assert out.shape == (64, 64) and out.dtype == np.float32
    assert abs(out.mean()) < 1e-4 and abs(out.std() - 1) < 1e-3


def test_exposure_and_units_do_not_matter():
    rng = np.random.default_rng(1)
    img = rng.normal(100, 10, (128, 128))
    cfg = PreprocessConfig(size=32)
    np.testing.assert_allclose(preprocess(img, cfg), preprocess(7.5 * img + 300, cfg), atol=1e-4)


def test_anti_aliasing_suppresses_pixel_scale_stripes():
    # a Nyquist-frequency stripe pattern must not alias into a visible pattern when shrunk
    img = np.tile([0.0, 1.0], (256, 128)) + np.linspace(0, 0.01, 256)[None, :]
    out = preprocess(img, PreprocessConfig(size=32, mode="slic-npz"))
    assert out.std() < 10  # plain decimation would give 0/255 stripes (std ~127)


def test_nan_and_inf_pixels_are_replaced():
    img = np.random.default_rng(2).normal(10, 1, (64, 64))
    img[:5] = np.nan
    img[10, 10] = np.inf
    out = preprocess(img, PreprocessConfig(size=32))
    assert np.isfinite(out).all()


@pytest.mark.parametrize(
    "img, reason",
    [
        (np.zeros((64, 64)), "all-zero"),
        (np.full((64, 64), np.nan), "no finite"),
        (np.ones((64, 64)) * 3, "constant"),
        (np.ones((3, 64, 64)), "2-D"),
        (np.ones((1, 64)), "degenerate"),
    ],
)
def test_bad_frames_raise_with_reason(img, reason):
    with pytest.raises(BadFrameError, match=reason):
        preprocess(img, PreprocessConfig(size=32))


def test_slic_npz_mode_matches_the_released_data_format():
    rng = np.random.default_rng(3)
    cfg = PreprocessConfig(size=256, mode="slic-npz")
    out = preprocess(rng.normal(3000, 400, (1024, 1024)), cfg)
    assert out.shape == (256, 256) and out.min() >= 0 and out.max() <= 255
    assert np.array_equal(out, np.round(out))  # integer levels, as the npz stores them
    # a smooth frame keeps the full byte range, as scipy.misc.imresize's bytescale gave
    ramp = preprocess(np.add.outer(np.arange(512.0), np.arange(512.0)), cfg)
    assert ramp.min() == 0 and ramp.max() == 255
    # an image already in the released form passes through unchanged
    released = rng.integers(0, 256, (256, 256)).astype(np.float32)
    released[0, 0], released[0, 1] = 0, 255
    np.testing.assert_array_equal(preprocess(released, cfg), released)


def test_fits_map_and_array_give_the_same_input(tmp_path):
    import sunpy.map

    from conftest import pattern, write_fits

    data = pattern(2, np.random.default_rng(4), 64)
    path = tmp_path / "x.fits"
    write_fits(path, data, "2012-01-01T00:00:00")
    cfg = PreprocessConfig(size=32)
    a = preprocess(path, cfg)
    np.testing.assert_array_equal(a, preprocess(sunpy.map.Map(path), cfg))
    np.testing.assert_allclose(a, preprocess(data, cfg), atol=1e-6)


def test_unreadable_file_is_a_bad_frame(tmp_path):
    p = tmp_path / "broken.fits"
    p.write_bytes(b"SIMPLE  = garbage")
    with pytest.raises(BadFrameError, match="truncated: 17 bytes"):  # the archive reader names the cause
        preprocess(p)
    empty = tmp_path / "empty.fits"
    empty.touch()
    with pytest.raises(BadFrameError, match="empty file"):
        preprocess(empty)


def test_fits_pixels_are_read_without_a_sunpy_map(tmp_path, monkeypatch):
    import sunpy.map

    from conftest import pattern, write_fits

    path = tmp_path / "x.fits"
    write_fits(path, pattern(1, np.random.default_rng(5), 64), "2012-01-01T00:00:00")
    expected = preprocess(sunpy.map.Map(path), PreprocessConfig(size=32))

    def no_map(*args, **kwargs):
        raise AssertionError("preprocess(path) built a sunpy Map")

    monkeypatch.setattr(sunpy.map, "Map", no_map)
    np.testing.assert_array_equal(preprocess(path, PreprocessConfig(size=32)), expected)


def test_a_multi_frame_fits_cube_is_a_bad_frame(tmp_path):
    from astropy.io import fits

    fits.writeto(tmp_path / "cube.fits", np.ones((3, 32, 32), np.float32))
    with pytest.raises(BadFrameError, match="cube"):
        preprocess(tmp_path / "cube.fits")
    fits.writeto(tmp_path / "single.fits", np.arange(32 * 32, dtype=np.float32).reshape(1, 32, 32))
    assert preprocess(tmp_path / "single.fits", PreprocessConfig(size=16)).shape == (16, 16)


@pytest.mark.parametrize("mode", ["standard", "slic-npz"])
def test_float32_arithmetic_matches_float64_input(mode):
    img = np.random.default_rng(6).normal(3000, 400, (300, 300))
    cfg = PreprocessConfig(size=64, mode=mode)
    a, b = preprocess(img, cfg), preprocess(img.astype(np.float32), cfg)
    assert a.dtype == b.dtype == np.float32
    np.testing.assert_array_equal(a, b)  # a float64 input is cast once, then the same float32 arithmetic
    if mode == "standard":  # and the float32 result is that of float64 arithmetic to ~1e-5
        from skimage.transform import resize

        ref = resize(img, (64, 64), order=1, anti_aliasing=True, preserve_range=True, mode="reflect")
        np.testing.assert_allclose(a, (ref - ref.mean()) / ref.std(), atol=1e-4)


def test_relative_mode_keeps_the_contrast_to_the_disc():
    cfg = PreprocessConfig(size=64, mode="relative")
    disc = np.full((256, 256), 1000.0)
    disc[100:140, :] = 800.0  # a filament band at 0.8 of the disc
    out = preprocess(disc, cfg)
    assert out.dtype == np.float32 and out.shape == (64, 64)
    assert np.median(out) == pytest.approx(0.0, abs=1e-5)
    assert out[30:32].mean() == pytest.approx(-2.0, abs=1e-4)  # (0.8 - 1) / RELATIVE_SCALE
    assert np.allclose(preprocess(disc * 7.5, cfg), out, atol=1e-5)  # exposure does not matter, contrast does
    low = 1000 + (disc - 1000) * 0.5
    assert preprocess(low, cfg)[30:32].mean() == pytest.approx(-1.0, abs=1e-4)  # standardisation would give the same as `disc`
    limb = disc.copy()
    limb[:160, :] = 5.0  # mostly sky: the level is the disc's, not the sky's
    assert preprocess(limb, cfg)[-5:].mean() == pytest.approx(0.0, abs=1e-4)


def test_relative_mode_needs_positive_intensities():
    with pytest.raises(BadFrameError, match="dark level"):
        preprocess(-np.abs(np.random.default_rng(0).normal(5, 1, (64, 64))), PreprocessConfig(size=32, mode="relative"))


def test_resample_prebins_only_large_shrinks_and_stays_close_to_skimage():
    """A 2048-pixel frame to 32 pixels (factor 64) is block-averaged first: close to skimage's full
    Gaussian pre-filter (the two filters differ by about 1 % of the image's spread); a factor of 8 (512 -> 64, the simulated
    SOT frames of every profile) is resampled exactly as before."""
    from skimage.transform import resize

    from slic_lib.preprocess import resample

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:2048, 0:2048]
    frame = (1000 + 200 * np.sin(xx / 150.0) * np.cos(yy / 250.0) + 20 * rng.standard_normal((2048, 2048))).astype(np.float32)
    def reference(a, size):
        return resize(a, (size, size), order=1, anti_aliasing=True, preserve_range=True, mode="reflect")
    fast, full = resample(frame, 32), reference(frame, 32)
    assert fast.shape == (32, 32) and fast.dtype == np.float32
    assert np.sqrt(np.mean((fast - full) ** 2)) < 0.02 * full.std()  # 1 % here: box then Gaussian against one wide Gaussian
    sot = frame[:512, :512].copy()
    np.testing.assert_array_equal(resample(sot, 64), reference(sot, 64))


def test_preprocess_array_defaults_its_config_like_preprocess():
    from slic_lib.preprocess import preprocess_array

    img = np.random.default_rng(0).random((100, 80)) + 1
    np.testing.assert_array_equal(preprocess_array(img), preprocess(img))
    np.testing.assert_array_equal(preprocess_array(img, None), preprocess(img, PreprocessConfig()))
