"""Building a dataset file from class folders: bad frames, metadata, splits."""

import json
import os

import h5py
import numpy as np
import pytest

from slic_lib.classes import CLASSES
from slic_lib.dataset import (
    SolarData,
    assign_groups,
    build_dataset,
    convert_slic_npz,
    load_dataset,
    load_slic_npz,
)
from slic_lib.errors import SlicError
from slic_lib.splits import split
from slic_lib.preprocess import PreprocessConfig, preprocess


def test_dataset_holds_images_labels_and_metadata(dataset_file, fits_tree):
    data = load_dataset(dataset_file)
    assert len(data) == 5 * 12
    assert data.images.shape == (60, 32, 32) and data.images.dtype == np.float32
    assert sorted(set(data.labels.tolist())) == [0, 1, 2, 3, 4]
    assert all(p.startswith(str(fits_tree)) for p in data.paths)
    assert data.times[0].startswith("2012-03-")
    assert data.class_names == CLASSES and data.preprocessing == PreprocessConfig(size=32)
    with h5py.File(dataset_file) as h5:
        assert {"instruments", "wavelengths"} <= set(h5)
        assert h5["wavelengths"][0] == pytest.approx(6563)


def test_training_and_classification_paths_preprocess_identically(dataset_file):
    data = load_dataset(dataset_file)
    for i in (0, 17, 59):
        np.testing.assert_array_equal(data.images[i], preprocess(data.paths[i], data.preprocessing))


def test_parallel_build_writes_the_same_contents_as_one_process(dataset_file, fits_tree, tmp_path):
    # dataset_file was built with workers=1; the 60 files exceed the 32 that start a process pool
    parallel = load_dataset(build_dataset(fits_tree, tmp_path / "p.h5", PreprocessConfig(size=32), workers=2, progress=False).path)
    serial = load_dataset(dataset_file)
    np.testing.assert_array_equal(parallel.images, serial.images)
    for name in ("labels", "paths", "times", "groups", "synthetic"):
        np.testing.assert_array_equal(getattr(parallel, name), getattr(serial, name))


def test_bad_frames_are_skipped_and_listed(tmp_path):
    from conftest import make_tree, write_fits

    root = make_tree(tmp_path / "tree", per_class=2, frames_per_sequence=1, size=32)
    bad = root / "quiet"
    (bad / "empty.fits").touch()
    (bad / "garbage.fits").write_bytes(b"this is not FITS" * 200)
    write_fits(bad / "zeros.fits", np.zeros((32, 32), np.float32), "2012-01-01T00:00:00")
    write_fits(bad / "nans.fits", np.full((32, 32), np.nan, np.float32), "2012-01-01T00:00:00")
    import astropy.io.fits as fits

    fits.writeto(bad / "cube.fits", np.ones((3, 32, 32, 2), np.float32))
    report = build_dataset(root, tmp_path / "d.h5", PreprocessConfig(size=32), workers=1, progress=False)
    reasons = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in report.skipped}
    assert set(reasons) == {"empty.fits", "garbage.fits", "zeros.fits", "nans.fits", "cube.fits"}
    assert "empty" in reasons["empty.fits"] and "every pixel is zero" in reasons["zeros.fits"]
    assert "finite" in reasons["nans.fits"] and "garbage.fits" in reasons
    assert "not a FITS file: it looks like a text file" in reasons["garbage.fits"]  # the reader's cause, not sunpy's
    assert report.n_images == 10 and "skipped 5 file(s)" in str(report)
    assert len(json.loads(h5py.File(tmp_path / "d.h5").attrs["skipped"])) == 5


def test_missing_or_empty_root_is_one_clear_error(tmp_path):
    with pytest.raises(SlicError, match="not a folder"):
        build_dataset(tmp_path / "nope", tmp_path / "d.h5", progress=False)
    with pytest.raises(SlicError, match="none of the class folders"):
        build_dataset(tmp_path, tmp_path / "d.h5", progress=False)


def test_groups_follow_time_gaps_and_pointing():
    labels = [0, 0, 0, 0, 0, 1, 1]
    times = ["2012-01-01T10:00:00", "2012-01-01T10:00:30", "2012-01-01T10:01:00",
             "2012-01-01T14:00:00", "2012-01-01T14:00:20", "2012-01-01T10:00:00", ""]
    xcen = [0, 0, 500, 0, 0, 0, 0]
    g = assign_groups(labels, times, xcen, [0] * 7)
    assert g[0] == g[1] != g[2]  # same run; a new pointing starts a new group
    assert g[3] == g[4] != g[1]  # four hours later: another run
    assert g[5] not in g[:5] and g[6] not in g[:6]  # other class; unknown time alone


def test_released_npz_layout_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 256, 256))
    labels = np.array([0, 1, 2, 3, 4, 0])
    rows = np.concatenate([labels[:, None], images.reshape(6, -1)], axis=1)
    np.savez_compressed(tmp_path / "solar_test_data.npz", data=rows)
    x, y = load_slic_npz(tmp_path / "solar_test_data.npz")
    assert x.shape == (6, 256, 256) and y.tolist() == labels.tolist()
    np.testing.assert_array_equal(x, images)
    data = load_dataset(convert_slic_npz(tmp_path / "solar_test_data.npz", tmp_path / "r.h5"))
    assert data.preprocessing == PreprocessConfig(size=256, mode="slic-npz") and not data.is_synthetic
    np.savez(tmp_path / "other.npz", images=images)
    with pytest.raises(SlicError, match="no 'data' array"):
        load_slic_npz(tmp_path / "other.npz")


def test_from_arrays_fills_in_metadata_and_checks_shapes():
    config = PreprocessConfig(size=8)
    data = SolarData.from_arrays(np.zeros((3, 8, 8)), [0, 2, 2], CLASSES, config, source="sim", synthetic=True)
    assert data.images.dtype == np.float32 and data.labels.dtype == np.int64
    assert data.paths.tolist() == ["sim#0", "sim#1", "sim#2"] and data.times.tolist() == ["", "", ""]
    assert data.groups.tolist() == [0, 1, 2] and data.is_synthetic and data.fixed_val is None
    assert len(data.subset([2])) == 1 and data.subset([2]).paths.tolist() == ["sim#2"]
    with pytest.raises(SlicError, match="shape"):
        SolarData.from_arrays(np.zeros((2, 8, 8)), [0, 1, 2], CLASSES, config)
    with pytest.raises(SlicError, match="labels"):
        SolarData.from_arrays(np.zeros((1, 8, 8)), [7], CLASSES, config)


def test_concat_renumbers_groups_and_keeps_a_fixed_split():
    config = PreprocessConfig(size=8)
    a = SolarData.from_arrays(np.zeros((2, 8, 8)), [0, 1], CLASSES, config, groups=[5, 5], source="a")
    b = SolarData.from_arrays(np.ones((3, 8, 8)), [2, 3, 4], CLASSES, config, fixed_val=[False, True, True], synthetic=True, source="b")
    both = a.concat(b)
    assert len(both) == 5 and both.labels.tolist() == [0, 1, 2, 3, 4] and both.source == "a + b"
    assert both.groups.tolist() == [5, 5, 6, 7, 8]  # no group spans both
    assert both.synthetic.tolist() == [False, False, True, True, True]
    assert both.fixed_val.tolist() == [False, False, False, True, True]
    assert split(both, "fixed")[1].tolist() == [3, 4]
    with pytest.raises(SlicError, match="combined"):
        a.concat(SolarData.from_arrays(np.zeros((1, 8, 8)), [0], CLASSES, PreprocessConfig(size=8, mode="slic-npz")))


def test_plain_fits_files_without_coordinate_keywords_build_a_dataset(tmp_path):
    """A physicist's own frames often carry no WCS: they build like any other (a sunpy Map refused them)."""
    import astropy.io.fits as fits

    rng = np.random.default_rng(0)
    for name in ("quiet", "sunspots"):
        (tmp_path / "tree" / name).mkdir(parents=True)
        for i in range(3):
            hdus = [fits.PrimaryHDU((1000 + 10 * rng.normal(size=(64, 64))).astype(np.float32))]
            if i == 2:  # and a tile-compressed one, its image in an extension
                hdus = [fits.PrimaryHDU(), fits.CompImageHDU(hdus[0].data.astype(np.int16), compression_type="RICE_1")]
            fits.HDUList(hdus).writeto(tmp_path / "tree" / name / f"f{i}.fits")
    report = build_dataset(tmp_path / "tree", tmp_path / "d.h5", PreprocessConfig(size=32), workers=1, progress=False)
    assert report.n_images == 6 and not report.skipped


def test_class_folders_are_read_through_links(fits_tree, tmp_path):
    from slic_lib.dataset import find_class_files

    root = tmp_path / "root"
    (root / "sunspots").mkdir(parents=True)
    (root / "sunspots" / "2012").symlink_to(fits_tree / "sunspots", target_is_directory=True)  # a linked night of files
    (root / "flares").symlink_to(fits_tree / "flares", target_is_directory=True)  # a linked class folder
    found = find_class_files(root)
    assert len(found) == 24 and {label for _, label in found} == {1, 4}
    names = [p.name for p, label in found if label == 4]
    assert names == sorted(names) and len(names) == 12
    (root / "sunspots" / "gone.fits").symlink_to(tmp_path / "deleted.fits")  # a link whose file is gone: listed, not hidden
    report = build_dataset(root, tmp_path / "d.h5", PreprocessConfig(size=32), workers=1, progress=False)
    assert report.skipped == [{"path": str(root / "sunspots" / "gone.fits"), "reason": "file does not exist"}]


def test_a_file_name_that_is_not_utf8_is_built_and_named_with_escapes(fits_tree, tmp_path):
    import shutil

    from slic_lib.dataset import build_dataset, load_dataset
    from slic_lib.preprocess import PreprocessConfig

    root = tmp_path / "tree"
    shutil.copytree(fits_tree, root)
    first = sorted((root / "quiet").glob("*.fits"))[0]
    os.rename(first, os.fsdecode(bytes(root / "quiet") + b"/caf\xe9.fits"))  # h5py refused the name, so the build
    report = build_dataset(root, tmp_path / "d.h5", PreprocessConfig(size=32), progress=False)
    assert report.n_images == len(list(fits_tree.rglob("*.fits")))
    assert str(root / "quiet") + "/caf\\xe9.fits" in list(load_dataset(tmp_path / "d.h5").paths)
