"""What a FITS header says about its image: instrument, wavelength, time, pointing, pixel scale, exposure.

The header facts every row of a ``slic classify`` catalogue carries (:data:`FACTS`) and
dataset building records, read the same way whatever the archive: observation keywords only
(``DATE-OBS``, not ``DATE``), times as ISO 8601 (``sunpy.time.parse_time``), the centre and
pixel scale in arcsec through ``astropy.wcs`` (rotation, projection, ``CUNITn``), or through a
``sunpy.map.Map`` where the header makes one (its instrument sources normalise the names), and
an extension's header completed by the primary header's keywords (FITS ``INHERIT``).
:mod:`slic_lib.reader` opens the file; this module reads its header.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import numpy as np
from astropy.io import fits

log = logging.getLogger(__name__)

#: header facts every row of a catalogue carries (None where the header does not say)
FACTS = ("instrument", "wavelength", "wavelength_unit", "date_obs", "xcen", "ycen", "cdelt1", "cdelt2", "exptime")


def _num(header, *keys: str) -> float | None:
    for key in keys:
        value = header.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if np.isfinite(value):
            return value
    return None


def _text(header, *keys: str) -> str | None:
    for key in keys:
        value = header.get(key)
        if value not in (None, "") and not isinstance(value, fits.card.Undefined):
            return str(value).strip()
    return None


_STRUCTURAL = {"SIMPLE", "BITPIX", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "BLANK", "CHECKSUM",
               "DATASUM", "COMMENT", "HISTORY", "", "INHERIT", "EXTNAME", "EXTVER", "END"}


def inherit_primary(primary: fits.Header, header: fits.Header) -> fits.Header:
    """An extension's header with the primary header's keywords it lacks (the FITS ``INHERIT`` convention).

    Archives often keep the observation's keywords (instrument, wavelength, date, exposure) in
    the primary header and the image in an extension; a tile-compressed file is always so. The
    primary's keywords are inherited unless it says ``INHERIT = F``; structural ones
    (``BITPIX``, ``NAXISn``, ...) never are.
    """
    if primary.get("INHERIT") is False:
        return header
    merged = header.copy()
    for card in primary.cards:
        key = card.keyword
        if key not in _STRUCTURAL and not key.startswith("NAXIS") and key not in merged:
            merged.append(card, end=True)
    return merged


def _wcs_facts(header, shape: tuple[int, ...]) -> dict[str, float]:
    """Field centre (``xcen``, ``ycen``) and pixel scale (``cdelt1``, ``cdelt2``) in arcsec from the header's WCS.

    Read by :class:`astropy.wcs.WCS`, so rotation (``PCi_j``, ``CDi_j``), projection and units
    (``CUNITn``; arcsec where a linear axis names none) count; longitudes are wrapped to
    +-180 degrees. Empty where the header has no usable WCS.
    """
    import astropy.units as u
    from astropy.wcs import WCS
    from astropy.wcs.utils import proj_plane_pixel_scales

    if not any(k in header for k in ("CRPIX1", "CDELT1", "CD1_1", "PC1_1")) or len(shape) < 2:
        return {}
    ny, nx = shape[-2:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # wcslib's fixes of real headers' quirks
            wcs = WCS(header, naxis=2)
            centre = wcs.wcs_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
            scales = proj_plane_pixel_scales(wcs)
            units = [u.Unit(str(c)) if str(c) else u.arcsec for c in wcs.wcs.cunit]
    except Exception as exc:  # noqa: BLE001 - a header wcslib cannot use gives no coordinates
        log.debug("no WCS: %s", exc)
        return {}
    facts: dict[str, float] = {}
    for i, (centre_key, scale_key) in enumerate((("xcen", "cdelt1"), ("ycen", "cdelt2"))):
        try:
            value, scale = (centre[i] * units[i]).to_value(u.arcsec), (scales[i] * units[i]).to_value(u.arcsec)
        except u.UnitConversionError:  # an axis in pixels, metres, ...
            continue
        if i == 0 and value > 180 * 3600:
            value -= 360 * 3600
        if np.isfinite(value):
            facts[centre_key] = float(value)
        if np.isfinite(scale):
            facts[scale_key] = float(scale)
    return facts


_OLD_FITS_DATE = re.compile(r"^(\d\d)/(\d\d)/(\d\d)$")


def _date_obs(header) -> str | None:
    """The observation time as ISO 8601 (``sunpy.time.parse_time``), or the keyword's text where it does not parse.

    Only observation keywords count (``DATE-OBS``, ``DATE_OBS``, ``DATE-BEG``, ``T_OBS``), not
    ``DATE``, the date the file was written; a date without a time takes ``TIME-OBS``.
    """
    raw = _text(header, "DATE-OBS", "DATE_OBS", "DATE-BEG", "DATE_BEG", "T_OBS")
    if raw is None:
        return None
    old = _OLD_FITS_DATE.match(raw)
    if old:  # the FITS standard's first date form, DD/MM/YY, deprecated since 1997 and meaning 1900-1999
        day, month, year = old.groups()
        raw = f"19{year}-{month}-{day}"
    clock = _text(header, "TIME-OBS", "TIME_OBS")
    if clock and ":" not in raw:
        raw = f"{raw} {clock}"
    from astropy.time import Time

    try:  # the FITS standard's ISO 8601 form, by astropy alone: sunpy.time would import pandas (0.3 s a process)
        return Time(raw, format="isot", scale="utc").isot
    except ValueError:
        pass
    try:
        from sunpy.time import parse_time  # the other forms archives write ('2012/01/01 00:00', '20120101_000000', ...)

        return parse_time(raw).isot
    except Exception:  # noqa: BLE001 - an unusual format is kept as written
        return raw


def header_facts(header, shape: tuple[int, ...], wcs: bool = True) -> dict[str, Any]:
    """Instrument, wavelength (and unit), observation time, field centre, pixel scale, exposure.

    ``xcen``/``ycen`` come from the ``XCEN``/``YCEN`` keywords or, failing them, from the WCS
    (:func:`_wcs_facts`), in arcsec, as do ``cdelt1``/``cdelt2``; ``date_obs`` is ISO 8601
    where it parses (:func:`_date_obs`). ``wcs=False`` skips the WCS (a few milliseconds), for a
    caller that has the centre and scale from a sunpy Map.
    """
    wave = _num(header, "WAVELNTH", "WAVELENGTH")
    unit = _text(header, "WAVEUNIT", "WAVE_UNIT")
    if wave is not None and unit is None and "WAVELNTH" in header:
        comment = header.comments["WAVELNTH"].lower()
        unit = next((u for u in ("angstrom", "nm") if u in comment), None)
    instrument = _text(header, "INSTRUME")
    telescope = _text(header, "TELESCOP")
    if instrument and telescope and telescope.lower() not in instrument.lower():
        instrument = f"{telescope}/{instrument}"
    wcs = _wcs_facts(header, shape) if wcs else {}
    return {
        "instrument": instrument or telescope,
        "wavelength": wave,
        "wavelength_unit": unit if wave is not None else None,
        "date_obs": _date_obs(header),
        "xcen": _num(header, "XCEN") if _num(header, "XCEN") is not None else wcs.get("xcen"),
        "ycen": _num(header, "YCEN") if _num(header, "YCEN") is not None else wcs.get("ycen"),
        "cdelt1": wcs.get("cdelt1"),
        "cdelt2": wcs.get("cdelt2"),
        "exptime": _num(header, "EXPTIME", "EXPOSURE", "XPOSURE"),
    }


def has_wcs(header) -> bool:
    return all(k in header for k in ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2")) and (
        "CDELT1" in header or "CD1_1" in header or "PC1_1" in header)


def sunpy_facts(data: np.ndarray, header, pointing: bool = True) -> dict[str, Any] | None:
    """Facts through a sunpy Map of the image, or None where the header does not make one.

    ``pointing=False`` leaves out the centre and pixel scale, whose coordinate frames cost
    most of the time (about 10 ms a file).
    """
    import sunpy
    import sunpy.map

    level = sunpy.log.level
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # real archives' header quirks are not the user's problem
            sunpy.log.setLevel("WARNING")  # nor its INFO lines ("Missing metadata for solar radius") on stdout
            smap = sunpy.map.Map(data, header)
            facts: dict[str, Any] = {}
            facts["instrument"] = smap.instrument if smap.instrument and smap.instrument != "Unknown" else None
            if smap.wavelength is not None:
                facts["wavelength"] = float(smap.wavelength.value)
                facts["wavelength_unit"] = smap.wavelength.unit.to_string() or None  # "" where the header names none
            facts["date_obs"] = smap.date.isot
            if pointing:
                centre = smap.center
                facts["xcen"] = float(centre.Tx.to_value("arcsec"))
                facts["ycen"] = float(centre.Ty.to_value("arcsec"))
                # the size of a pixel, as astropy.wcs gives it (_wcs_facts): CDELT's sign is the axis's direction
                facts["cdelt1"] = abs(float(smap.scale.axis1.to_value("arcsec / pix")))
                facts["cdelt2"] = abs(float(smap.scale.axis2.to_value("arcsec / pix")))
            if smap.exposure_time is not None:
                facts["exptime"] = float(smap.exposure_time.to_value("s"))
    except Exception as exc:  # a header sunpy cannot use: astropy's reading stands
        log.debug("no sunpy Map: %s", exc)
        return None
    finally:
        sunpy.log.setLevel(level)
    return facts
