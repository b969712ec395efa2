"""Shared fixtures: a tiny labelled FITS tree that a small network learns in seconds.

Independent of the simulator, so the library's tests do not depend on it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from slic_lib.classes import CLASSES


def pattern(label: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A class-specific pattern plus noise: stripes at five orientations/frequencies."""
    y, x = np.mgrid[0:size, 0:size] / size
    angle = np.pi * label / len(CLASSES)
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * (2 + label) * (x * np.cos(angle) + y * np.sin(angle)) + phase)
    return (1000 + 300 * wave + rng.normal(0, 60, (size, size))).astype(np.float32)


def write_fits(path: Path, data: np.ndarray, time: str, xcen: float = 0.0, plain: bool = False) -> None:
    """A frame with a sunpy-made WCS header or, ``plain``, the bare keywords of a user's own frames
    written by astropy alone (no sunpy needed: the GPU machine has none)."""
    if plain:
        from astropy.io import fits

        fits.PrimaryHDU(data, fits.Header({"DATE-OBS": time, "XCEN": xcen, "YCEN": 0.0})).writeto(path, overwrite=True)
        return
    import astropy.units as u
    import sunpy.map
    from astropy.coordinates import SkyCoord
    from sunpy.coordinates import frames

    coord = SkyCoord(xcen * u.arcsec, 0 * u.arcsec, frame=frames.Helioprojective, obstime=time, observer="earth")
    header = sunpy.map.make_fitswcs_header(data, coord, scale=[0.1, 0.1] * u.arcsec / u.pix, wavelength=6563 * u.AA)
    header["xcen"] = xcen
    header["ycen"] = 0.0
    sunpy.map.Map(data, header).save(path, overwrite=True)


def make_tree(root: Path, per_class: int = 12, frames_per_sequence: int = 3, size: int = 48, seed: int = 0,
              plain: bool = False) -> Path:
    """Class folders of FITS files made of sequences of near-identical frames."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            seq, frame = divmod(i, frames_per_sequence)
            day = 1 + seq + 5 * label
            time = f"2012-03-{day:02d}T10:00:{10 * frame:02d}"
            write_fits(folder / f"FG201203{day:02d}_1000{10 * frame:02d}.fits", pattern(label, rng, size), time, xcen=100.0 * seq,
                       plain=plain)
    return root


@pytest.fixture(scope="session")
def fits_tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="session")
def dataset_file(fits_tree, tmp_path_factory) -> Path:
    from slic_lib.dataset import build_dataset
    from slic_lib.preprocess import PreprocessConfig

    out = tmp_path_factory.mktemp("ds") / "tiny.h5"
    build_dataset(fits_tree, out, PreprocessConfig(size=32), workers=1, progress=False)
    return out


#: a model small enough to train in a second; no dropout so that a few epochs suffice
TINY = dict(arch="slic", input_size=32, width=0.125, hidden=32, dropout=0.0)
