"""Real instrument FITS headers for simulated frames, file names, and writing/reading as sunpy Maps.

The header of each file starts from a real header that sunpy ships as test data
(``HinodeSOT.header`` for Hinode/SOT, ``aia_171_level1.fits`` for SDO/AIA), read at run time
with :func:`sunpy.data.test.get_test_filepath`. The keywords that describe this frame (time,
pointing, scale, wavelength, exposure, data statistics) are replaced; every file is marked
``SYNTHET = T`` with HISTORY naming ``slic_lib.synthetic`` and the seed, and carries the true
class (``SLICCLAS``) and sequence id (``SLICSEQ``).
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits

from .core import SimImage

__all__ = ["build_header", "write_fits", "to_map", "sot_filename", "aia_filename"]

# AIA telescope (camera) of each channel, and its level-1 exposure time (s)
_AIA_CAMERA = {1600: ("AIA_3", 3), 1700: ("AIA_3", 3), 304: ("AIA_4", 4)}
_AIA_WAVE_STR = {1600: "1600", 1700: "1700", 304: "304_THIN"}


@lru_cache(maxsize=1)
def _sot_template() -> fits.Header:
    from sunpy.data.test import get_test_filepath

    return _strip_structure(fits.Header.fromtextfile(get_test_filepath("HinodeSOT.header")))


@lru_cache(maxsize=1)
def _aia_template() -> fits.Header:
    from sunpy.data.test import get_test_filepath

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # BLANK on float data in the test file
        header = fits.getheader(get_test_filepath("aia_171_level1.fits"))
    return _strip_structure(header)


class _Cards:
    """Ordered keyword updates (``cards[key] = value`` or ``(value, comment)``); HISTORY/COMMENT append."""

    def __init__(self, base: fits.Header):
        self.base = base
        self.updates: dict[str, tuple] = {}
        self.notes: list[tuple[str, str]] = []

    def __setitem__(self, key: str, value) -> None:
        if key in ("HISTORY", "COMMENT"):
            self.notes.append((key, value))
        else:
            self.updates[key] = value if isinstance(value, tuple) else (value,)

    def header(self) -> fits.Header:
        header = self.base.copy()
        for key, value in self.updates.items():
            header[key] = value if len(value) > 1 else value[0]
        for key, text in self.notes:
            header[key] = text
        return header

    def tobytes(self, data: np.ndarray) -> bytes:
        """FITS header block for int16 ``data``; astropy formats each card, we only join them."""
        structure = [("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 2), ("NAXIS1", data.shape[1]),
                     ("NAXIS2", data.shape[0]), ("EXTEND", True)]
        images = [fits.Card(k, v).image for k, v in structure]
        done = set()
        for key, image in _template_images(id(self.base), self.base):
            if key in self.updates:
                images.append(fits.Card(key, *self.updates[key]).image)
                done.add(key)
            else:
                images.append(image)
        images += [fits.Card(k, *v).image for k, v in self.updates.items() if k not in done]
        images += [fits.Card(k, t).image for k, t in self.notes]
        images.append("END".ljust(80))
        text = "".join(images)
        return (text + " " * ((-len(text)) % 2880)).encode("ascii")


_IMAGES: dict[int, list[tuple[str, str]]] = {}


def _template_images(key: int, header: fits.Header) -> list[tuple[str, str]]:
    if key not in _IMAGES:
        _IMAGES[key] = [(card.keyword, card.image) for card in header.cards]
    return _IMAGES[key]


def _iso(date: dt.datetime, digits: int = 3) -> str:
    text = date.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: len(text) - 6 + digits] if digits else text[:19]


def _strip_structure(header: fits.Header) -> fits.Header:
    header = header.copy()
    for key in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BLANK", "BSCALE", "BZERO"):
        header.remove(key, ignore_missing=True, remove_all=True)
    header.remove("HISTORY", ignore_missing=True, remove_all=True)
    header.remove("COMMENT", ignore_missing=True, remove_all=True)
    return header


def _common(header: _Cards, sim: SimImage) -> None:
    ny, nx = sim.data.shape
    header["CRPIX1"] = ((nx + 1) / 2, "image centre")
    header["CRPIX2"] = (ny + 1) / 2
    header["CRVAL1"] = round(sim.xcen, 4)
    header["CRVAL2"] = round(sim.ycen, 4)
    header["CDELT1"] = round(sim.cdelt, 6)
    header["CDELT2"] = round(sim.cdelt, 6)
    header["CUNIT1"] = "arcsec"
    header["CUNIT2"] = "arcsec"
    header["CROTA2"] = 0.0
    header["DSUN_OBS"] = (round(sim.dsun, 1), "[m] observer-Sun distance")
    header["HGLN_OBS"] = (0.0, "[deg] observer longitude")
    header["HGLT_OBS"] = (round(sim.b0, 6), "[deg] observer latitude (B0)")
    header["RSUN_OBS"] = (round(sim.rsun, 3), "[arcsec] solar radius")
    header["RSUN_REF"] = 696000000.0
    header["SYNTHET"] = (True, "simulated by slic_lib.synthetic")
    header["SLICCLAS"] = (sim.class_name, "true class")
    header["SLICKIND"] = (sim.kind, "simulated scene kind")
    header["SLICSEQ"] = (sim.sequence_id, "sequence id")
    header["SLICFRM"] = (sim.frame, "frame index in sequence")
    header["SLICSEC"] = (",".join(sim.secondary) or "none", "secondary features")
    header["COMMENT"] = sim.description or "Simulated image"
    header["HISTORY"] = "SYNTHETIC DATA: made by slic_lib.synthetic (Armstrong & Fletcher 2019 reproduction)."
    header["HISTORY"] = f"slic_lib.synthetic seed: {sim.seed or 'unspecified'}"
    header["HISTORY"] = f"Header keywords start from sunpy test data of the real instrument ({sim.instrument})."


def _sot_header(sim: SimImage) -> _Cards:
    header = _Cards(_sot_template())
    ny, nx = sim.data.shape
    start = sim.date_obs
    end = start + dt.timedelta(seconds=sim.exptime)
    header["DATE"] = (_iso(start, 0), "set to DATE_OBS: reproducible files")
    header["DATE_RF0"] = _iso(start, 0)
    header["DATE_OBS"] = _iso(start)
    header["TIME-OBS"] = start.strftime("%H:%M:%S.%f")[:12]
    header["CTIME"] = start.strftime("%a %b %d %H:%M:%S %Y")
    header["DATE_END"] = _iso(end)
    header["TIMESPAN"] = round(sim.exptime, 6)
    header["EXPTIME"] = round(sim.exptime, 6)
    header["EXP0"] = round(sim.exptime, 6)
    header["INSTRUME"] = "SOT/NB"
    header["OBS_TYPE"] = "FG (simple)"
    header["WAVE"] = "H I 6563"
    header["WAVELNTH"] = (6563, "[Angstrom] H-alpha line centre")
    header["WAVEUNIT"] = "Angstrom"
    header["DATA_LEV"] = 1
    header["XSCALE"] = round(sim.cdelt, 6)
    header["YSCALE"] = round(sim.cdelt, 6)
    header["SC_ATTX"] = round(sim.xcen, 4)
    header["SC_ATTY"] = round(sim.ycen, 4)
    header["XCEN"] = round(sim.xcen, 4)
    header["YCEN"] = round(sim.ycen, 4)
    header["FOVX"] = round(nx * sim.cdelt, 3)
    header["FOVY"] = round(ny * sim.cdelt, 3)
    header["CROTA1"] = 0.0
    header["SAT_ROT"] = 0.0
    header["INST_ROT"] = 0.0
    header["OBSTITLE"] = "slic_lib synthetic H-alpha"
    _common(header, sim)
    return header


def _aia_header(sim: SimImage) -> _Cards:
    header = _Cards(_aia_template())
    wave = int(round(sim.wavelength))
    instrume, camera = _AIA_CAMERA[wave]
    start = sim.date_obs
    mid = start + dt.timedelta(seconds=sim.exptime / 2)
    header["DATE"] = (_iso(start, 0), "set to DATE-OBS: reproducible files")
    header["DATE-OBS"] = _iso(start, 2)
    header["T_OBS"] = _iso(mid, 2) + "Z"
    header["T_REC"] = _iso(mid, 0) + "Z"
    header["INSTRUME"] = instrume
    header["CAMERA"] = camera
    header["WAVELNTH"] = wave
    header["WAVE_STR"] = _AIA_WAVE_STR[wave]
    header["WAVEUNIT"] = "angstrom"
    header["EXPTIME"] = round(sim.exptime, 6)
    header["IMSCL_MP"] = round(sim.cdelt, 6)
    header["R_SUN"] = round(sim.rsun / sim.cdelt, 4)
    header["CTYPE1"] = "HPLN-TAN"
    header["CTYPE2"] = "HPLT-TAN"
    header["CRLT_OBS"] = round(sim.b0, 6)
    header["INST_ROT"] = 0.0
    header["SAT_ROT"] = 0.0
    data = sim.data
    header["DATAMIN"] = float(data.min())
    header["DATAMAX"] = float(data.max())
    header["DATAMEAN"] = round(float(data.mean()), 3)
    header["DATARMS"] = round(float(data.std()), 3)
    pct = np.percentile(data[::4, ::4], [1, 10, 25, 50, 75, 90, 95, 98, 99])
    for key, value in zip(("DATAP01", "DATAP10", "DATAP25", "DATAMEDN", "DATAP75", "DATAP90", "DATAP95", "DATAP98", "DATAP99"), pct):
        header[key] = float(value)
    header["NSATPIX"] = int((data >= 16383).sum())
    header["QUALITY"] = 0
    _common(header, sim)
    return header


def _cards(sim: SimImage) -> _Cards:
    if sim.instrument.startswith("SOT"):
        return _sot_header(sim)
    if sim.instrument.startswith("AIA"):
        return _aia_header(sim)
    raise ValueError(f"unknown instrument {sim.instrument!r}")


def build_header(sim: SimImage) -> fits.Header:
    """FITS header of ``sim`` built from the real instrument's header (see module docstring)."""
    return _cards(sim).header()


def _file_data(sim: SimImage) -> np.ndarray:
    # both cameras write integer counts: SOT 12-bit, AIA level-1 as int16 DN
    return np.clip(np.rint(sim.data), -32768, 32767).astype(np.int16)


def write_fits(sim: SimImage, path: str | Path) -> Path:
    """Write ``sim`` as a FITS file that ``sunpy.map.Map`` reads as an SOTMap or AIAMap.

    Parameters
    ----------
    sim : SimImage
        The frame to write.
    path : str or Path
        Output file; its folder is created if needed. An existing file is overwritten.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _file_data(sim)
    # astropy formats every header card; we only join the 80-character cards ourselves, because
    # building a Header and PrimaryHDU.writeto re-index and re-verify the 170-card header,
    # which took about 2/3 of the simulator's time per frame. Round trips through sunpy are tested.
    head = _cards(sim).tobytes(data)
    raw = data.astype(">i2").tobytes()
    pad = (-len(raw)) % 2880
    part = path.with_name(f".{path.name}.part")  # renamed when whole: an interrupted slic synth leaves no truncated frame
    with open(part, "wb") as fh:
        fh.write(head)
        fh.write(raw)
        fh.write(b"\0" * pad)
    os.replace(part, path)
    return path


def to_map(sim: SimImage):
    """``sim`` as a sunpy Map (``SOTMap`` or ``AIAMap``) with the header :func:`write_fits` writes."""
    import sunpy.map

    header = build_header(sim)
    return sunpy.map.Map(_file_data(sim), header)


def sot_filename(date: dt.datetime) -> str:
    """Hinode/SOT-style file name, e.g. ``FG20111008_111533.0.fits`` (tenths of a second)."""
    tenths = int(round(date.microsecond / 1e5))
    base = date.replace(microsecond=0) + dt.timedelta(seconds=tenths // 10)
    return f"FG{base:%Y%m%d_%H%M%S}.{tenths % 10}.fits"


def aia_filename(date: dt.datetime, wavelength: float) -> str:
    """AIA level-1 style name, e.g. ``aia_lev1_1600a_2013_01_01t12_00_16_12z_image_lev1.fits``."""
    hundredths = int(round(date.microsecond / 1e4))
    base = date.replace(microsecond=0) + dt.timedelta(seconds=hundredths // 100)
    return f"aia_lev1_{int(round(wavelength))}a_{base:%Y_%m_%dt%H_%M_%S}_{hundredths % 100:02d}z_image_lev1.fits"
