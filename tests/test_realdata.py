"""Real BBSO crops, their dataset for a model, and packaged sample images (the tests that read
the data packages are skipped when those are absent)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY, pattern
from slic_lib.classes import CLASSES
from slic_lib.errors import SlicError
from slic_lib.model import ModelConfig, SlicNet
from slic_lib.preprocess import preprocess_array
from slic_lib.realdata import bbso, bbso_dataset, samples

needs_bbso = pytest.mark.skipif(
    not bbso.available(), reason=f"BBSO images not installed ({bbso.INSTALL_COMMAND})"
)
SIZE = 128


@pytest.fixture(scope="module")
def images():
    # two of the four annotated days keep the test fast; day-wise logic needs only two
    return [im for im in bbso.load_days(annotated_only=True) if im.day in ("2015-08-01", "2015-08-09")]


@pytest.fixture(scope="module")
def crops(images):
    return bbso.crops(size=SIZE, quiet_per_image=4, rng=1, images=images)


def test_locate_names_the_pip_command_when_missing(monkeypatch):
    monkeypatch.setattr(bbso, "DISTRIBUTION", "no-such-distribution-slic")
    assert not bbso.available()
    with pytest.raises(SlicError, match="pip install --no-deps"):
        bbso.locate()


@needs_bbso
def test_all_observations_are_read_with_their_outlines():
    days = bbso.load_days(variant="fr")
    assert len(days) == 16
    assert sum(len(d.outlines) for d in days) == 101
    assert sorted({d.day for d in days if d.annotated}) == ["2015-08-01", "2015-08-05", "2015-08-07", "2015-08-09"]


@needs_bbso
def test_limb_fit_agrees_with_the_observatory_header(images):
    # the JSON header of 2015-08-01 17:48 gives CRPIX = (1026, 1024) (1-based) and R0 = 946 px
    first = images[0]
    assert first.data.dtype == np.float32 and first.data.shape == (2048, 2048)
    assert first.centre == pytest.approx((1025, 1023), abs=1.5)
    assert first.radius == pytest.approx(946, abs=1.5)
    assert first.scale == pytest.approx(1.0015, abs=0.01)


@needs_bbso
def test_flattening_removes_limb_darkening(images):
    image = images[0]
    flat, rho = image.flattened(), image.rho()
    raw_ratio = np.median(image.data[(rho > 0.85) & (rho < 0.9)]) / np.median(image.data[rho < 0.3])
    flat_ratio = np.median(flat[(rho > 0.85) & (rho < 0.9)]) / np.median(flat[rho < 0.3])
    assert raw_ratio < 0.9  # the limb really is darker in the observed image
    assert flat_ratio == pytest.approx(1.0, abs=0.02)


@needs_bbso
def test_crops_have_the_requested_size_and_class_names(crops, images):
    assert {c.label for c in crops} == {"filaments", "quiet"} <= set(CLASSES)
    assert all(c.data.shape == (SIZE, SIZE) and c.data.dtype == np.float32 for c in crops)
    assert sum(c.label == "filaments" for c in crops) == sum(len(im.outlines) for im in images)
    assert sum(c.label == "quiet" for c in crops) == 8


@needs_bbso
def test_filament_crops_contain_their_outline_and_quiet_crops_none(crops, images):
    outlines = {o.annotation_id: o for im in images for o in im.outlines}
    for crop in crops:
        if crop.label == "filaments":
            x, y, w, h = outlines[crop.annotation_id].bbox
            x0, y0 = crop.origin
            assert x0 <= x and y0 <= y and x + w <= x0 + crop.side + 1 and y + h <= y0 + crop.side + 1
            assert crop.mask.any()
        else:
            assert not crop.mask.any() and crop.on_disc
    filament_mask_mean = np.mean([c.data[c.mask].mean() for c in crops if c.label == "filaments"])
    quiet_mean = np.mean([c.data.mean() for c in crops if c.label == "quiet"])
    assert filament_mask_mean < 0.95 * quiet_mean  # filaments are dark in H-alpha


@needs_bbso
def test_quiet_crops_avoid_plage(images):
    strict = bbso.crops(size=SIZE, quiet_per_image=4, rng=2, images=images[:1], plage_ratio=1.2)
    for crop in strict:
        if crop.label == "quiet":
            assert np.percentile(crop.data, 99) <= 1.2 * 1.05


@needs_bbso
def test_day_split_keeps_days_disjoint(crops):
    train, test = bbso.split_by_day(crops, test_days=["2015-08-09"])
    assert {c.day for c in test} == {"2015-08-09"}
    assert not {c.day for c in train} & {c.day for c in test}
    assert len(train) + len(test) == len(crops)
    with pytest.raises(SlicError, match="2015-08-30"):
        bbso.split_by_day(crops, test_days=["2015-08-30"])


@needs_bbso
def test_fits_tree_reads_back_through_sunpy(crops, tmp_path):
    import astropy.units as u
    import sunpy.map

    chosen = [next(c for c in crops if c.label == "filaments"), next(c for c in crops if c.label == "quiet")]
    paths = bbso.write_fits_tree(chosen, tmp_path)
    assert sorted(p.parent.name for p in paths) == ["filaments", "quiet"]
    for crop, path in zip(chosen, paths):
        smap = sunpy.map.Map(path)
        assert smap.instrument == "BBSO"
        assert smap.wavelength.to_value("AA") == pytest.approx(6563)
        assert smap.date.isot.startswith(crop.time.strftime("%Y-%m-%dT%H:%M:%S"))
        assert smap.scale.axis1.to_value("arcsec/pix") == pytest.approx(crop.scale, rel=1e-6)
        np.testing.assert_array_equal(np.flipud(smap.data), crop.data)
        assert smap.center.Tx.to_value("arcsec") == pytest.approx(crop.centre_hpc[0], abs=0.5)
        assert smap.center.Ty.to_value("arcsec") == pytest.approx(crop.centre_hpc[1], abs=0.5)
        # north up: the first FITS row (bottom) is south of the last one
        bottom, top = smap.pixel_to_world([0, 0] * u.pix, [0, smap.data.shape[0] - 1] * u.pix)
        assert bottom.Ty < top.Ty


def _crop(day: int, label: str, value: np.ndarray, k: int) -> bbso.Crop:
    return bbso.Crop(
        data=value.astype(np.float32), label=label, time=datetime(2015, 8, day, 17, 0, tzinfo=timezone.utc), mask=np.zeros(value.shape, bool),
        origin=(10 * k, 0), side=value.shape[0], scale=1.0, centre_hpc=(0.0, 0.0), on_disc=True, source=Path(f"bbso_halph_fl_201508{day:02d}.jpg"),
        annotation_id=k if label == "filaments" else None,
    )


def test_crop_set_uses_the_model_preprocessing_and_splits_by_day():
    rng = np.random.default_rng(1)
    crops = [_crop(day, label, pattern(0 if label == "filaments" else 3, rng, 64), k)
             for k, (day, label) in enumerate([(1, "filaments"), (1, "quiet"), (5, "filaments"), (5, "quiet"), (9, "filaments"), (9, "quiet")])]
    crops.append(_crop(5, "quiet", np.ones((64, 64)), 99))  # constant: cannot be standardised
    torch.manual_seed(0)
    base = SlicNet(ModelConfig(**TINY))
    cs = bbso_dataset.crop_set(crops, base)
    assert cs.data.preprocessing == base.preprocessing and cs.data.images.shape == (6, 32, 32)
    assert len(cs.data.skipped) == 1 and len(cs.crops) == 6
    assert cs.counts() == {"filaments": 3, "quiet": 3}
    assert not cs.data.is_synthetic and cs.data.source == bbso_dataset.BBSO_SOURCE
    assert cs.data.paths[0] == "bbso_halph_fl_20150801.jpg#0" and cs.data.times[0].startswith("2015-08-01T17:00")
    np.testing.assert_allclose(cs.data.images[0], preprocess_array(crops[0].data.astype(float), base.preprocessing))
    train, test = cs.split()
    assert {cs.crops[i].day for i in test} == {"2015-08-09"}
    assert not {cs.crops[i].day for i in train} & {cs.crops[i].day for i in test}
    assert not set(cs.data.groups[train]) & set(cs.data.groups[test])
    with pytest.raises(SlicError):
        cs.split(["2015-08-03"])
    with pytest.raises(SlicError, match="not among the classes"):
        bbso_dataset.crop_set(crops, base, class_names=("filaments", "sunspots"))


def test_sunpy_aia_sample_is_always_there():
    smap = samples.load("aia_171_level1")
    assert smap.data.shape == (128, 128)
    with pytest.raises(SlicError, match="choose one of"):
        samples.locate("no-such-sample")


@pytest.mark.skipif(not samples.available(), reason=f"sunkit-image not installed ({samples.SUNKIT_INSTALL_COMMAND})")
def test_sunkit_image_samples():
    maps = samples.load_available()
    assert maps["dkist_photosphere"].data.shape == (300, 300)
    assert maps["aia_171_cutout"].wavelength.to_value("AA") == pytest.approx(171)


def test_protocol_days_are_fixed_once_and_disjoint():
    dev, test = set(bbso_dataset.DEV_DAYS), set(bbso_dataset.TEST_DAYS)
    assert dev and test and not dev & test
    assert dev | test == {"2015-08-01", "2015-08-05", "2015-08-07", "2015-08-09"}  # the four annotated days
    assert max(dev) < min(test)  # development looks only at earlier observations
