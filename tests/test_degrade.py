"""Resolution degradation: PSF width, resampled shape, flux, sunpy Map WCS and the accuracy curve."""

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
import sunpy.map
import torch
from astropy.coordinates import SkyCoord
from astropy.stats import gaussian_sigma_to_fwhm
from sunpy.coordinates import frames

from slic_lib.degrade import (
    convolve_psf,
    degradation_curve,
    degrade,
    degrade_map,
    equivalent_factor,
)
from slic_lib.errors import SlicError
from slic_lib.model import SlicNet
from slic_lib.preprocess import PreprocessConfig

SRC_FWHM_PX = 3.0  # SOT: 0.33" on the default 0.11" pixels


def moment_fwhm(img: np.ndarray) -> float:
    """FWHM of a Gaussian with the image's second moments (pixels)."""
    y, x = np.indices(img.shape)
    s = img.sum()
    cx, cy = (img * x).sum() / s, (img * y).sum() / s
    var = ((img * (x - cx) ** 2).sum() + (img * (y - cy) ** 2).sum()) / (2 * s)
    return gaussian_sigma_to_fwhm * np.sqrt(var)


def halfmax_fwhm(img: np.ndarray) -> float:
    """Diameter of the circle whose area equals the area above half the peak (pixels)."""
    return 2 * np.sqrt((img >= img.max() / 2).sum() / np.pi)


@pytest.fixture(scope="module")
def point_source() -> np.ndarray:
    """A point source seen by SOT: PSF of FWHM 3 px, total flux 1, in a 241 x 241 frame."""
    img = np.zeros((241, 241))
    img[120, 120] = 1.0
    return convolve_psf(img, SRC_FWHM_PX)


def test_equivalent_factor_is_sot_to_aia():
    assert equivalent_factor() == pytest.approx(1.2 / 0.33)
    assert 3.5 < equivalent_factor() < 3.7


def test_factor_one_is_identity():
    img = np.random.default_rng(0).random((50, 70))
    np.testing.assert_allclose(degrade(img, 1), img, rtol=0, atol=1e-12)


@pytest.mark.parametrize("factor", [1.5, 2, 3, equivalent_factor(), 8])
def test_output_shape_is_input_over_factor(factor):
    img = np.random.default_rng(1).random((240, 160))
    out = degrade(img, factor)
    assert out.shape == (round(240 / factor), round(160 / factor))
    assert np.isfinite(out).all()


@pytest.mark.parametrize("factor", [1.5, 2, 3.64, 6])
def test_point_source_fwhm_matches_quadrature_formula(point_source, factor):
    # Without resampling the PSF alone must give f times the source FWHM.
    blurred = degrade(point_source, factor, resample=False)
    assert moment_fwhm(blurred) == pytest.approx(factor * SRC_FWHM_PX, rel=0.10)
    # Resampled by 1/f, the FWHM in output pixels stays the source's 3 px (plus the pixel box).
    resampled = degrade(point_source, factor)
    assert moment_fwhm(resampled) == pytest.approx(SRC_FWHM_PX, rel=0.10)


def test_pixel_scale_sets_the_psf_width(point_source):
    # Pixels twice as large: 0.33" is 1.5 px, so factor 4 gives 6 px, not 12.
    out = degrade(point_source, 4, pixel_scale=0.22, resample=False)
    assert moment_fwhm(out) == pytest.approx(np.hypot(SRC_FWHM_PX, 1.5 * np.sqrt(15)), rel=0.10)


def test_airy_psf_widens_the_core_like_the_formula(point_source):
    out = degrade(point_source, 6, psf="airy", resample=False)
    assert halfmax_fwhm(out) == pytest.approx(6 * SRC_FWHM_PX, rel=0.10)


@pytest.mark.parametrize("psf", ["gaussian", "airy"])
@pytest.mark.parametrize("factor", [1.5, 2, 3.64, 8])
def test_total_flux_is_conserved(point_source, factor, psf):
    assert degrade(point_source, factor, psf=psf).sum() == pytest.approx(point_source.sum(), rel=1e-6)


def test_mean_conserving_resampling_keeps_the_level():
    img = 100 + np.random.default_rng(2).random((90, 90))
    assert degrade(img, 3, conserve="mean").mean() == pytest.approx(img.mean(), rel=1e-9)
    assert degrade(img, 3).mean() == pytest.approx(9 * img.mean(), rel=1e-9)


def test_noise_is_seeded_and_scaled():
    img = np.random.default_rng(3).random((200, 200)) * 10
    clean = degrade(img, 2)
    a, b = degrade(img, 2, noise=0.5, rng=7), degrade(img, 2, noise=0.5, rng=7)
    np.testing.assert_array_equal(a, b)
    assert (a - clean).std() == pytest.approx(0.5 * clean.std(), rel=0.05)


@pytest.mark.parametrize(
    "image, factor, kwargs",
    [
        (np.ones((10, 10)), 0.5, {}),
        (np.full((10, 10), np.nan), 2, {}),
        (np.ones(10), 2, {}),
        (np.ones((10, 10)), 2, {"psf": "moffat"}),
    ],
)
def test_bad_input_raises_one_sentence(image, factor, kwargs):
    with pytest.raises(SlicError):
        degrade(image, factor, **kwargs)


def sot_map(shape=(300, 420), scale=0.1, data=None) -> sunpy.map.GenericMap:
    ref = SkyCoord(100 * u.arcsec, 200 * u.arcsec, obstime="2010-09-25T08:05", observer="earth", frame=frames.Helioprojective)
    data = np.random.default_rng(4).random(shape) if data is None else data
    header = sunpy.map.make_fitswcs_header(
        data, ref, scale=[scale, scale] * u.arcsec / u.pix, telescope="Hinode", instrument="SOT", wavelength=6563 * u.AA
    )
    return sunpy.map.Map(data, header)


def test_degrade_map_gives_aia_pixels_and_keeps_the_pointing():
    smap = sot_map()
    out = degrade_map(smap)
    assert out.data.shape == (50, 70)
    assert u.allclose(u.Quantity(out.scale), 0.6 * u.arcsec / u.pix)
    assert out.center.separation(smap.center) < 0.01 * u.arcsec
    # first pixel centre moves from 0.05" to 0.3" inside the same field-of-view edge
    assert (out.bottom_left_coord.Tx - smap.bottom_left_coord.Tx).to_value(u.arcsec) == pytest.approx(0.25, abs=0.01)
    assert out.data.sum() == pytest.approx(smap.data.sum(), rel=1e-9)
    assert out.meta["degrres"] == 1.2
    assert "slic_lib.degrade" in out.meta["history"]
    assert smap.data.shape == (300, 420)  # the input is not modified


def test_degrade_map_psf_reaches_aia_resolution():
    data = np.zeros((601, 601))
    data[300, 300] = 1.0
    smap = sot_map(shape=data.shape, scale=0.05, data=convolve_psf(data, 0.33 / 0.05))
    out = degrade_map(smap, target_scale_arcsec=0.05)  # keep the pixels to measure the PSF
    assert moment_fwhm(out.data) * 0.05 == pytest.approx(1.2, rel=0.10)


def test_degrade_map_refuses_to_sharpen_or_upsample():
    with pytest.raises(SlicError):
        degrade_map(sot_map(), target_resolution_arcsec=0.2)
    with pytest.raises(SlicError):
        degrade_map(sot_map(), target_scale_arcsec=0.05)


class ConstantModel(torch.nn.Module):
    """Predicts class 0 for everything and records its inputs (no parameters: runs on CPU)."""

    class_names = ("filaments", "flares", "prominences", "quiet", "sunspots")
    preprocessing = PreprocessConfig(size=32)

    def __init__(self):
        super().__init__()
        self.shapes = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        logits = torch.full((x.shape[0], 5), -10.0)
        logits[:, 0] = 10.0
        return logits


def test_degradation_curve_scores_each_factor_through_the_preprocessing():
    rng = np.random.default_rng(5)
    images = [rng.random((64, 64)) for _ in range(5)] + [rng.random((80, 48))]
    images[1][3, 4] = np.nan  # a bad pixel is cleaned as the preprocessing would, not fatal
    labels = [0, 0, 1, 2, 3, 0]
    model = ConstantModel()
    df = degradation_curve(model, images, labels, factors=(1, 2, 4), batch_size=4, progress=False)
    assert list(df["factor"]) == [1, 2, 4]
    assert (df["n"] == 6).all()
    np.testing.assert_allclose(df["accuracy"], 0.5)
    np.testing.assert_allclose(df["recall_filaments"], 1.0)
    np.testing.assert_allclose(df["recall_flares"], 0.0)
    assert df["recall_sunspots"].isna().all()  # no sunspot images
    # batches of 4 then 2, resampled to the model's 32 px input, for each factor
    assert model.shapes == [(4, 1, 32, 32), (2, 1, 32, 32)] * 3


def test_degradation_curve_with_a_real_small_model():
    torch.manual_seed(0)
    model = SlicNet(arch="slic", input_size=32, width=0.125, hidden=32)
    rng = np.random.default_rng(6)
    images = rng.random((6, 64, 64))
    df = degradation_curve(model, images, rng.integers(0, 5, 6), factors=(1, 1.5, 3, 8), progress=False)
    assert len(df) == 4
    assert df["accuracy"].between(0, 1).all()
    assert model.training  # the model's mode is restored


def test_degradation_curve_is_the_same_with_worker_processes_and_noise():
    torch.manual_seed(0)
    model = SlicNet(arch="slic", input_size=32, width=0.125, hidden=32)
    images = np.random.default_rng(7).random((7, 64, 64))
    labels = np.arange(7) % 5
    kw = dict(factors=(1, 2, 3), batch_size=3, progress=False, pixel_scale=0.1, noise=0.05, rng=11)
    one = degradation_curve(model, images, labels, workers=1, **kw)
    two = degradation_curve(model, images, labels, workers=2, **kw)
    pd.testing.assert_frame_equal(one, two)
