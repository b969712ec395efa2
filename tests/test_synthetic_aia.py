"""The simulated AIA scenes against the physics stated in slic_lib.synthetic.aia (and its knobs)."""

import datetime

import numpy as np
import pytest

from slic_lib.errors import SlicError
from slic_lib.synthetic import features as ft
from slic_lib.synthetic import textures as tx
from slic_lib.synthetic.aia import (
    HE_LIMB_HEIGHT,
    PLAGE_CONTRAST,
    aia_scene,
    coronal_scale_height,
    render_aia,
)

SIZE = 256
DATE = datetime.datetime(2013, 1, 1, 10)


def _uv(plage, seed=3, kind="1600_sunspot"):
    spot = [ft.SpotSpec(x=0.0, y=0.0, radius=15.0)]
    scene, _, eph = aia_scene(kind, np.random.default_rng(seed), SIZE, date=DATE, pointing=(-200.0, 200.0), spots=spot, plage=plage)
    return scene


def _radius_in_spot_radii():
    x, y = tx.pixel_grid(SIZE)
    c = (SIZE - 1) / 2
    return np.hypot(x - c, y - c) * 0.6 / 15.0


def test_coronal_scale_height_is_half_the_hydrostatic_density_scale_height():
    rsun = 975.0
    km_per_arcsec = 695_700 / rsun
    assert coronal_scale_height(1.0, rsun) * km_per_arcsec == pytest.approx(23_500, rel=1e-6)  # 47 Mm / 2
    assert coronal_scale_height(1.5, rsun) == pytest.approx(1.5 * coronal_scale_height(1.0, rsun))


def test_304_off_limb_emission_falls_off_with_the_stated_scale_height():
    rsun_pointing = 975.0 + 40.0
    kw = dict(date=DATE, pointing=(-rsun_pointing, 0.0), corona_temperature=1.2)
    with_c, _, eph = aia_scene("304_prominence", np.random.default_rng(7), SIZE, corona=1.0, **kw)
    without, _, _ = aia_scene("304_prominence", np.random.default_rng(7), SIZE, corona=0.0, **kw)
    corona = with_c.intensity - without.intensity
    h, _ = ft.limb_geometry(SIZE, 0.6, -rsun_pointing, 0.0, eph[0])
    h = h - HE_LIMB_HEIGHT
    bins = np.arange(5.0, 95.0, 5.0)
    centres, means = [], []
    for lo in bins:
        sel = (h >= lo) & (h < lo + 5.0)
        if sel.sum() > 50:
            centres.append(lo + 2.5)
            means.append(corona[sel].mean())
    slope = np.polyfit(centres, np.log(means), 1)[0]
    expected = coronal_scale_height(1.2, eph[0])
    assert -1.0 / slope == pytest.approx(expected, rel=0.2)
    assert np.all(np.diff(means) < 0)  # decreases with height
    disc = h < -10
    assert np.array_equal(with_c.intensity[disc], without.intensity[disc])  # the knob changes only the sky


def test_304_disc_is_bright_and_the_sky_not_black():
    scene, _, eph = aia_scene("304_prominence", np.random.default_rng(2), SIZE, date=DATE, pointing=(-1000.0, 0.0))
    h, _ = ft.limb_geometry(SIZE, 0.6, -1000.0, 0.0, eph[0])
    img = scene.intensity
    disc, sky = np.median(img[h < -20]), np.median(img[(h > 20) & (h < 40)])
    assert 0.03 * disc < sky < 0.4 * disc


def test_plage_scales_linearly_and_the_knob_at_zero_removes_it():
    i0, i1, i2 = (_uv(p).intensity.astype(float) for p in (0.0, 1.0, 2.0))
    assert np.allclose(i2 - i0, 2 * (i1 - i0), atol=1e-4)  # the knob scales the brightening only
    ratio = i1 / i0
    lo, hi = PLAGE_CONTRAST[1600.0]
    assert lo * 0.9 < ratio.max() < 1 + 1.3 * (hi - 1)  # the brightest plage reaches the stated factor
    r = _radius_in_spot_radii()
    around, far = ratio[(r > 1.2) & (r < 3)].mean(), ratio[r > 6].mean()
    assert around > 1.3 and around > far  # brightened around the spot, more than far away
    assert np.percentile(i0, 99.9) < 0.6 * np.percentile(i1, 99.9)  # no plage-bright pixels left


def test_plage_knob_reaches_the_flicker_fields_too():
    f0, f1 = _uv(0.0).flicker, _uv(1.0).flicker
    assert all(a[0].max() < b[0].max() for a, b in zip(f0, f1))


def test_1700_plage_is_fainter_than_1600():
    assert PLAGE_CONTRAST[1700.0][1] < PLAGE_CONTRAST[1600.0][0] + 0.1
    r16 = _uv(1.0, kind="1600_sunspot").intensity / _uv(0.0, kind="1600_sunspot").intensity
    r17 = _uv(1.0, kind="1700_sunspot").intensity / _uv(0.0, kind="1700_sunspot").intensity
    assert np.percentile(r17, 99) < np.percentile(r16, 99)


def test_knobs_must_be_non_negative():
    with pytest.raises(SlicError, match="plage must be"):
        render_aia("1600_sunspot", np.random.default_rng(0), 32, plage=-1.0)


def test_radial_profile_fit_recovers_an_exponential_fall_off():
    from slic_lib.experiments.adversarial import fit_scale_height, radial_profile

    height = np.linspace(-100, 400, 200)[None, :].repeat(60, 0)
    image = np.where(height < 0, 1.0, 0.2 * np.exp(-height / 40.0))
    prof = radial_profile(image, height, 1.0)
    assert fit_scale_height(prof) == pytest.approx(40.0, rel=0.05)
    assert fit_scale_height(np.full_like(prof, np.nan)) is None
