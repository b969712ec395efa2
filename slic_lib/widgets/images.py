"""The images a student can give the demos, all as sunpy Maps (instrument colour map and WCS).

Three sources:

simulated
    :func:`simulated_map` (Hinode/SOT H-alpha of any class) and :func:`aia_map` (the AIA
    stand-ins with their physical ``plage`` and ``corona`` knobs), made on the fly from a seed
    by :mod:`slic_lib.synthetic`.
real
    :func:`real_names` / :func:`real_map`: crops of the BBSO full-disc H-alpha observations
    (``filament-augmentation-engine``, :mod:`slic_lib.realdata.bbso`) and the small real
    images that sunpy and sunkit-image ship offline (:mod:`slic_lib.realdata.samples`).
upload
    :func:`map_from_fits_bytes`: the content of a FITS file a student uploads.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import sunpy.map

from ..errors import SlicError
from ..preprocess import BadFrameError, image_array, is_fits_path
from ..realdata import bbso, samples
from ..synthetic import render_aia, render_sot, to_map

SIM_SIZE = 256
"""Side in pixels of the simulated images the demos show."""

BBSO_FILAMENTS = 4
"""Filament crops of the first annotated BBSO day offered (plus :data:`BBSO_QUIET` quiet-Sun crops)."""
BBSO_QUIET = 2

SAMPLE_TITLES = {
    "aia_171_level1": "SDO/AIA 171 full disc (sunpy test data)",
    "aia_171_cutout": "SDO/AIA 171 cut-out (sunkit-image test data)",
    "dkist_photosphere": "DKIST/VBI photosphere (sunkit-image test data)",
}


def simulated_map(class_name: str, seed: int, size: int = SIM_SIZE):
    """A simulated Hinode/SOT H-alpha image of ``class_name`` as an ``SOTMap`` (same seed, same image)."""
    return to_map(render_sot(class_name, np.random.default_rng(int(seed)), size))


def aia_map(kind: str, seed: int, size: int = SIM_SIZE, plage: float = 1.0, corona: float = 1.0):
    """A simulated SDO/AIA image (``AIAMap``); scenes of one seed differ only in the knobs.

    The seed is mixed as :func:`slic_lib.experiments.hypotheses.sweep` mixes it (root seed 0),
    so the demo shows the scenes of notebook 07.
    """
    return to_map(render_aia(kind, np.random.default_rng([0, int(seed)]), size, plage=plage, corona=corona))


@lru_cache(maxsize=1)
def _bbso_crops() -> tuple:
    days = bbso.load_days(annotated_only=True)
    if not days:
        return ()
    found = bbso.crops(size=256, quiet_per_image=BBSO_QUIET, images=days[:1])
    filaments = [c for c in found if c.label == "filaments"][:BBSO_FILAMENTS]
    quiet = [c for c in found if c.label == "quiet"][:BBSO_QUIET]
    return tuple(filaments + quiet)


def _bbso_title(i: int, crop) -> str:
    return f"BBSO H-alpha {crop.time:%Y-%m-%d %H:%M}, {crop.label} crop {i + 1} (filament-augmentation-engine)"


def real_names() -> list[str]:
    """Names of the real images that are installed here (the BBSO crops are named before they are read)."""
    names = []
    if bbso.available():
        names += [f"bbso_filaments_{i + 1}" for i in range(BBSO_FILAMENTS)] + [f"bbso_quiet_{i + 1}" for i in range(BBSO_QUIET)]
    names += [n for n in samples.names() if samples.available(n)]
    return names


def real_label(name: str) -> str:
    """A readable label for a real image's name."""
    if name.startswith("bbso_"):
        _, label, number = name.split("_")
        return f"BBSO H-alpha {label} crop {number} (2015)"
    return SAMPLE_TITLES.get(name, name)


def real_map(name: str):
    """One real image of :func:`real_names` as a sunpy Map.

    Raises
    ------
    SlicError
        For an unknown or uninstalled image.
    """
    if name.startswith("bbso_"):
        try:
            _, label, number = name.split("_")
            crops = [c for c in _bbso_crops() if c.label == label]
            return bbso.crop_map(crops[int(number) - 1])
        except (ValueError, IndexError):
            raise SlicError(f"unknown BBSO image {name!r}; choose one of {', '.join(real_names())}.") from None
    return samples.load(name)


def map_from_fits_bytes(content: bytes, name: str = "upload.fits"):
    """A sunpy Map from the bytes of an uploaded FITS file.

    Read as ``slic classify`` reads files (:func:`slic_lib.reader.read_image`: the first image
    HDU, the primary header's keywords inherited, tile compression, blanks), so whatever it
    classifies can be shown here. A header without solar coordinates (a plain frame without
    ``CUNITn``, which sunpy's Map refuses) gets a placeholder of 1" a pixel, and the map's
    ``meta["slic_no_coordinates"]`` says so (:func:`upload_title`).

    Raises
    ------
    SlicError
        With one sentence, naming the file, when it is not a FITS file or holds no usable 2-D image.
    """
    import warnings

    from ..reader import ReadError, read_image

    if not (is_fits_path(name) or name.lower().endswith(".fz")):
        raise SlicError(f"{name} is not a FITS file (expected .fits, .fts, .fit or .fz, optionally .gz).")
    suffix = "".join(Path(name).suffixes[-2:]) if name.lower().endswith(".gz") else Path(name).suffix
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(bytes(content))
        try:
            img = read_image(path, use_sunpy=False, facts="none")
        except ReadError as exc:
            raise SlicError(f"{name} cannot be classified: {exc}.") from None
    data = np.array(img.data)
    with warnings.catch_warnings():  # header quirks of real archives are common and not the student's problem
        warnings.simplefilter("ignore")
        try:
            smap = sunpy.map.Map(data, img.header)
        except Exception:  # noqa: BLE001 - sunpy refuses headers without angular units in many ways
            ny, nx = data.shape
            smap = sunpy.map.Map(data, {"CTYPE1": "HPLN-TAN", "CTYPE2": "HPLT-TAN", "CUNIT1": "arcsec", "CUNIT2": "arcsec",
                                        "CDELT1": 1.0, "CDELT2": 1.0, "CRPIX1": (nx + 1) / 2, "CRPIX2": (ny + 1) / 2,
                                        "CRVAL1": 0.0, "CRVAL2": 0.0, "slic_no_coordinates": True})
    try:
        image_array(smap)
    except BadFrameError as exc:
        raise SlicError(f"{name} cannot be classified: {exc}.") from None
    return smap


def upload_title(smap, name: str) -> str:
    """The title of an uploaded file's map: its name, and what its header says it is."""
    if smap.meta.get("slic_no_coordinates"):
        return f"{name} (no solar coordinates in its header: axes drawn at 1\" a pixel)"
    return f"{name}: {smap.latex_name}"
