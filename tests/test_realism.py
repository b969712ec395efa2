"""Realism statistics on images whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from slic_lib import realism
from slic_lib.errors import SlicError
from slic_lib.realdata import bbso


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_white_noise_spectrum_is_flat(rng):
    k, power = realism.radial_power_spectrum(10 + rng.normal(size=(128, 128)))
    assert power.sum() == pytest.approx(1.0)
    assert k[-1] == pytest.approx(0.5)
    assert abs(realism.spectral_slope(k, power, (0.02, 0.45))) < 0.2


def test_smooth_image_spectrum_falls_steeply(rng):
    smooth = 10 + ndimage.gaussian_filter(rng.normal(size=(128, 128)), 4)
    k, power = realism.radial_power_spectrum(smooth)
    assert realism.spectral_slope(k, power, (0.02, 0.1)) < -2.0


def test_spectrum_frequency_is_per_arcsec(rng):
    k, _ = realism.radial_power_spectrum(10 + rng.normal(size=(64, 64)), scale=0.5)
    assert k[-1] == pytest.approx(1.0)  # Nyquist of 0.5"/px pixels


def test_histogram_distance_is_zero_for_identical_sets_and_grows_with_contrast(rng):
    images = [1 + 0.1 * rng.normal(size=(64, 64)) for _ in range(3)]
    stretched = [[1 + gain * (im - 1) for im in images] for gain in (1.2, 1.5, 2.0)]
    assert realism.histogram_distance(images, images) == 0.0
    distances = [realism.histogram_distance(images, s) for s in stretched]
    assert 0 < distances[0] < distances[1] < distances[2]


def test_histogram_ignores_overall_brightness(rng):
    image = 1 + 0.1 * rng.normal(size=(64, 64))
    assert realism.histogram_distance([image], [250 * image]) == pytest.approx(0.0, abs=1e-12)
    centres, density = realism.intensity_histogram(250 * image)
    assert np.sum(density * np.diff(centres)[0]) == pytest.approx(1.0)
    assert centres[np.argmax(density)] == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("depth", [0.5, 0.7, 0.9])
def test_contrast_of_a_dark_stripe_is_what_was_put_in(depth):
    image = np.ones((96, 96))
    image[40:46, 10:90] = depth
    stripe = image < 1
    assert realism.feature_contrast(image, stripe) == pytest.approx(depth)
    if depth < 0.85:  # the derived mask sees it only when darker than its threshold
        assert realism.feature_contrast(image, threshold=0.95) == pytest.approx(depth, abs=0.03)


def test_contrast_without_any_dark_feature_is_nan():
    assert np.isnan(realism.feature_contrast(np.ones((32, 32))))


def test_common_scale_reaches_the_target_resolution():
    point = np.zeros((400, 400))
    point[200, 200] = 1.0
    degraded = realism.to_common_scale(point, scale=0.1, resolution=0.33)
    assert degraded.shape == (40, 40)
    assert degraded.sum() * 100 == pytest.approx(1.0, rel=1e-3)  # mean surface brightness kept
    profile = degraded[20]
    half = profile > profile.max() / 2
    assert 1.5 <= half.sum() <= 3.5  # FWHM ~2" = 2 px at 1"/px


def test_compare_table(rng):
    images = [1 + 0.1 * rng.normal(size=(64, 64)) for _ in range(3)]
    noisier = [1 + 0.2 * rng.normal(size=(64, 64)) for _ in range(3)]
    same = realism.compare(images, images)
    assert list(same.columns) == ["simulated", "real", "distance"]
    assert same.loc["images", "simulated"] == 3
    assert same.loc["intensity_wasserstein", "distance"] == 0.0
    assert same.loc["rms_contrast", "distance"] == 0.0
    different = realism.compare(images, noisier)
    assert different.loc["rms_contrast", "real"] == pytest.approx(0.2, rel=0.1)
    assert different.loc["intensity_wasserstein", "distance"] > 0.05
    # the scale of the intensity row: a featureless image's distance, the real images' mean absolute contrast
    assert same.loc["featureless_wasserstein", "distance"] == pytest.approx(0.1 * np.sqrt(2 / np.pi), rel=0.05)
    flat = realism.compare([np.ones((64, 64))] * 3, images)
    assert flat.loc["intensity_wasserstein", "distance"] == pytest.approx(flat.loc["featureless_wasserstein", "distance"])


def test_bad_images_are_user_errors():
    with pytest.raises(SlicError):
        realism.normalise(np.zeros((16, 16)))
    with pytest.raises(SlicError):
        realism.radial_power_spectrum(np.ones(16))


def test_figure_panels_hold_the_shown_crops_and_curves_of_all_images(rng):
    quiet = [1 + 0.05 * rng.normal(size=(64, 64)) for _ in range(5)]
    contrasty = [1 + 0.2 * rng.normal(size=(40, 40)) for _ in range(3)]
    panels = realism.figure_panels(quiet, contrasty, n=4)
    shown = sorted(k for k in panels if "_image_" in k)
    assert shown == [f"real_image_{i}" for i in range(3)] + [f"simulated_image_{i}" for i in range(3)]  # n capped by the smaller set
    assert all(isinstance(v, np.ndarray) for v in panels.values())  # an .npz file holds them
    assert np.median(panels["simulated_image_0"]) == pytest.approx(1.0)
    assert list(panels["n_images"]) == [5, 3]
    width = np.diff(panels["hist_centres"])[0]
    assert np.sum(panels["hist_simulated"]) * width == pytest.approx(1.0, abs=1e-3)
    assert panels["hist_simulated"].max() > 2 * panels["hist_real"].max()  # narrower distribution, higher peak
    assert len(panels["spectrum_k_real"]) == len(panels["spectrum_real"]) == 20  # the 40-px crops' rings
    assert panels["hist_limits"][0] < 1 < panels["hist_limits"][1]
    with pytest.raises(SlicError):
        realism.figure_panels([], contrasty)


needs_bbso = pytest.mark.skipif(not bbso.available(), reason=f"BBSO images not installed ({bbso.INSTALL_COMMAND})")


@needs_bbso
def test_simulator_vs_bbso_returns_numbers_and_panels_but_no_figure():
    checks = realism.simulator_vs_bbso(n_per_class=2, seed=0, size=256, n_shown=2)
    assert set(checks) == {"filaments", "quiet"}
    for check in checks.values():
        assert set(check) == {"table", "panels", "n_simulated", "n_real", "real_day_spread"}
        assert check["n_simulated"] == 2 and check["n_real"] > 10
        assert check["table"].loc["images", "real"] == check["n_real"]
        assert list(check["panels"]["n_images"]) == [2, check["n_real"]]
        assert 0 <= check["table"].loc["intensity_wasserstein", "distance"] < 0.2
