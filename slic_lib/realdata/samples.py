"""Small real solar images shipped inside Python packages, as sunpy Maps.

``sunpy`` (a required dependency) ships a real SDO/AIA 171 A level-1 full-disc image,
128 x 128 pixels at about 19 arcsec per pixel, in ``sunpy.data.test``.

``sunkit-image`` (optional; ``pip install sunkit-image``, a 6.5 MB wheel whose own
dependencies slic_lib already has) ships in ``sunkit_image/data/test``:

``aia_171_cutout``
    an SDO/AIA 171 A cut-out, 769 x 705 pixels at 0.6 arcsec per pixel (2013-03-10);
``dkist_photosphere``
    a DKIST/VBI 450 nm photosphere image, 300 x 300 pixels at 0.01 arcsec per pixel.

None of them is H-alpha, and none is AIA 304, 1600 or 1700 A (the channels of the paper's
adversarial tests; sunpy's test data hold only FITS *headers* of EIT and EUI 304 A images):
:func:`aia_wavelengths` says which AIA channels ship, so that a comparison can say which
could not be made. They serve to check the simulator's general image statistics and the
off-limb fall-off of coronal emission.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import sunpy.map
from sunpy.data.test import get_test_filepath

from ..errors import SlicError

SUNKIT_INSTALL_COMMAND = "pip install sunkit-image"

SUNPY_SAMPLES = {"aia_171_level1": "aia_171_level1.fits"}
"""Name -> file in ``sunpy.data.test``."""

SUNKIT_SAMPLES = {"aia_171_cutout": "aia_171_cutout.fits", "dkist_photosphere": "dkist_photosphere.fits"}
"""Name -> file in ``sunkit_image/data/test``."""


def available(name: str | None = None) -> bool:
    """Whether a sample (or, with no name, the optional sunkit-image samples) can be read."""
    try:
        if name is None:
            locate_sunkit()
        else:
            locate(name)
    except SlicError:
        return False
    return True


def locate_sunkit() -> Path:
    """Folder of the test images that the sunkit-image wheel ships.

    Raises
    ------
    SlicError
        If sunkit-image is not installed (or was installed without its data files).
    """
    try:
        folder = Path(str(resources.files("sunkit_image") / "data" / "test"))
    except ModuleNotFoundError:
        raise SlicError(f"The sunkit-image sample images are not installed; run `{SUNKIT_INSTALL_COMMAND}`.") from None
    if not all((folder / f).is_file() for f in SUNKIT_SAMPLES.values()):
        raise SlicError(f"sunkit-image is installed without its test images; reinstall it with `{SUNKIT_INSTALL_COMMAND}`.")
    return folder


def locate(name: str) -> Path:
    """Path of one sample FITS file by name (see :func:`names`).

    Raises
    ------
    SlicError
        For an unknown name, or a sunkit-image sample when sunkit-image is not installed.
    """
    if name in SUNPY_SAMPLES:
        return Path(get_test_filepath(SUNPY_SAMPLES[name]))
    if name in SUNKIT_SAMPLES:
        return locate_sunkit() / SUNKIT_SAMPLES[name]
    raise SlicError(f"Unknown sample image {name!r}; choose one of {', '.join(names())}.")


def names() -> list[str]:
    """All sample names, installed or not."""
    return [*SUNPY_SAMPLES, *SUNKIT_SAMPLES]


def load(name: str):
    """One sample as a :class:`sunpy.map.GenericMap`."""
    return sunpy.map.Map(locate(name))


def aia_wavelengths() -> dict[str, float]:
    """Name -> wavelength (angstrom) of every installed sample that is an SDO/AIA image."""
    out = {}
    for name, smap in load_available().items():
        if str(smap.instrument).upper().startswith("AIA"):
            out[name] = float(smap.wavelength.to_value("angstrom"))
    return out


def load_available() -> dict:
    """Every sample that is installed, as ``{name: GenericMap}``."""
    return {name: load(name) for name in names() if available(name)}
