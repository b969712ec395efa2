"""Open any FITS file as one 2-D image: which HDU, what the header says, how it was read.

Archives hold more than the tidy level-1 files a sunpy Map is made for: processed frames
and lab images without coordinate keywords, gzip- and tile-compressed (Rice) files, several
HDUs, and the debris of failed downloads (an HTML error page saved as ``.fits``, a file cut
short). :func:`read_image` reads all of them with astropy, takes the first HDU that holds an
image, and makes a ``sunpy.map.Map`` of it only where the header allows one (so sunpy's
instrument sources normalise the metadata); ``reader`` says which was used. A file that
cannot give an image raises :class:`ReadError`, whose message names the real cause and whose
``kind`` is a short code to count errors by. It is the project's one FITS reader: `slic
classify` and the catalogue use it whole, dataset building without the pointing
(:func:`slic_lib.dataset.read_frame`), preprocessing its pixels
(:func:`slic_lib.preprocess.read_fits_array`); where a sunpy Map itself is wanted (the
resolution test, the demos), :func:`slic_lib.preprocess.load_map` explains a failure with it.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from .facts import has_wcs, header_facts, inherit_primary, sunpy_facts
from .preprocess import BadFrameError

BLOCK = 2880  # bytes in a FITS block
MIN_SIDE = 8  # pixels: a smaller image shows no solar feature, and resampling it to the input invents one



class ReadError(BadFrameError):
    """A file that does not give one usable 2-D image; ``kind`` names the cause in one word.

    Kinds: ``missing``, ``unreadable``, ``empty``, ``not-fits``, ``truncated``, ``damaged``
    (a gzip stream whose checksum fails), ``header-only``, ``table-only``, ``one-dimensional``,
    ``cube``, ``degenerate`` (under :data:`MIN_SIDE` pixels a side), ``out-of-range`` (float64
    values beyond float32's range), ``all-nan``, ``all-zero``, ``constant``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class FitsImage:
    """One image read from a FITS file.

    Attributes
    ----------
    data : numpy.ndarray
        The 2-D pixel array (float32; NaN where the file has blanks).
    hdu : int
        Index of the HDU the image came from (0 is the primary HDU).
    hdu_name : str
        That HDU's ``EXTNAME`` (``PRIMARY`` for the primary HDU, ``COMPRESSED_IMAGE`` for a
        tile-compressed one without a name).
    reader : {"sunpy", "astropy"}
        ``sunpy`` when the header made a ``sunpy.map.Map``; ``astropy`` otherwise.
    facts : dict
        Header facts (:data:`slic_lib.facts.FACTS`); ``None`` where the header is silent.
    header : astropy.io.fits.Header
        The image HDU's header (with the primary header's keywords it inherits).
    """

    data: np.ndarray
    hdu: int
    hdu_name: str
    reader: str
    facts: dict[str, Any] = field(default_factory=dict)
    header: fits.Header | None = field(default=None, repr=False)


# --------------------------------------------------------------------------------------------
# What a file is, before FITS parsing
# --------------------------------------------------------------------------------------------

_MAGIC = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x89HDF", "an HDF5 file"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
]


def _head(path: Path, n: int = BLOCK) -> tuple[bytes, bool]:
    """The first ``n`` bytes (decompressed for gzip) and whether the file is gzip-compressed."""
    with path.open("rb") as fh:
        raw = fh.read(n)
    if raw[:2] != b"\x1f\x8b":
        return raw, False
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(n), True
    except (OSError, EOFError) as exc:
        raise ReadError("truncated", f"gzip-compressed file is damaged or cut short ({exc})") from None


def _gunzip(path: Path) -> bytes:
    """The whole decompressed stream of a gzip file, its CRC checked (a damaged file raises).

    astropy reads a ``.fits.gz`` only as far as the HDUs it needs and never reaches the gzip
    trailer, so a file with corrupted bytes in the middle decompresses to garbage pixels
    without an error; reading to the end makes :mod:`gzip` check the CRC-32.
    """
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except EOFError:
        raise ReadError("truncated", "truncated: the gzip-compressed file is cut short") from None
    except (OSError, zlib.error) as exc:
        raise ReadError("damaged", f"damaged gzip-compressed file ({exc})") from None


def describe_bytes(head: bytes) -> str:
    """What the first bytes of a non-FITS file look like, for an error message."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<head" in text or b"<body" in text:
        return "an HTML page (a failed or redirected download?)"
    if text.startswith(b"<?xml") or text.startswith(b"<"):
        return "an XML document"
    if text.startswith((b"{", b"[")):
        return "a JSON document"
    try:
        sample = head[:200].decode("utf-8")
    except UnicodeDecodeError:
        return "binary data"
    if sample.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in sample):
        first = sample.strip().splitlines()[0][:40] if sample.strip() else ""
        return f"a text file (starting {first!r})"
    return "binary data"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _image_hdus(hdul: fits.HDUList):
    for i, hdu in enumerate(hdul):
        if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) and hdu.header.get("NAXIS", 0) > 0:
            shape = hdu.shape
            if shape and int(np.prod(shape)) > 0:
                yield i, hdu


def _as_image(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if arr.ndim > 2:
        frames = int(np.prod(arr.shape[:-2]))
        if frames > 1:
            raise ReadError("cube", f"a data cube of shape {shape} ({frames} frames), not one 2-D image")
        arr = arr.reshape(arr.shape[-2:])
    if arr.ndim == 2 and 1 in arr.shape and max(arr.shape) > 1:
        raise ReadError("one-dimensional", f"one-dimensional data of shape {shape}, not a 2-D image")
    if arr.ndim == 1:
        raise ReadError("one-dimensional", f"one-dimensional data of length {arr.shape[0]}, not a 2-D image")
    if min(arr.shape) < MIN_SIDE:
        raise ReadError("degenerate", f"image of shape {shape} is too small to classify (under {MIN_SIDE} pixels a side)")
    return arr


def _refuse_overflow(raw: np.ndarray, arr: np.ndarray) -> None:
    """Raise :class:`ReadError` where finite float64 pixels became infinite as float32 (beyond 3.4e38).

    Else they would be read as blanks: a file of them all as "every pixel is NaN or infinite",
    a file of some silently with holes. Checked only when the float32 image has infinities.
    """
    if raw.dtype.kind != "f" or raw.dtype.itemsize <= 4 or np.isfinite(arr).all():
        return
    overflow = np.isinf(arr) & np.isfinite(raw)
    if overflow.any():
        peak = float(np.abs(np.asarray(raw)[overflow]).max())
        raise ReadError("out-of-range", f"{int(overflow.sum())} pixels (up to {peak:.3g}) are beyond the float32 range "
                                        f"(3.4e+38) the network computes in; rescale the image")


def check_values(arr: np.ndarray) -> None:
    """Raise :class:`ReadError` for an image without information: all NaN, all zero, constant."""
    finite = np.isfinite(arr)
    if not finite.any():
        raise ReadError("all-nan", "every pixel is NaN or infinite")
    values = arr[finite] if not finite.all() else arr
    lo, hi = values.min(), values.max()
    if lo == hi:
        if lo == 0:
            raise ReadError("all-zero", "every pixel is zero")
        raise ReadError("constant", f"every pixel has the same value ({lo:g})")


def read_image(path: str | os.PathLike, use_sunpy: bool = True, facts: str = "all") -> FitsImage:
    """Read the first image HDU of a FITS file.

    Parameters
    ----------
    path
        A FITS file: plain, gzip-compressed (``.fits.gz``) or tile-compressed (Rice etc.),
        with or without WCS keywords, with any number of HDUs.
    use_sunpy
        Try a ``sunpy.map.Map`` of the image (header facts normalised by sunpy's instrument
        sources); ``False`` reads the header with astropy only, which is faster.
    facts : {"all", "basic", "none"}
        Which header facts (:mod:`slic_lib.facts`) to read: all of them; ``"basic"`` without the pointing
        (``xcen``, ``ycen``, ``cdelt1``, ``cdelt2``: the WCS and a sunpy Map's coordinate
        frames, most of the time it takes); ``"none"`` for the pixels only, as
        :func:`slic_lib.preprocess.read_fits_array` needs.

    Returns
    -------
    FitsImage

    Raises
    ------
    ReadError
        With a message that names the cause: the file is missing, empty, not FITS (and what it
        looks like instead), truncated, header-only, one-dimensional, a cube, all-NaN,
        all-zero or constant.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError("missing", "file does not exist")
    if not path.is_file():
        raise ReadError("unreadable", "not a regular file (a folder?)")
    try:
        size = path.stat().st_size
        if size == 0:
            raise ReadError("empty", "empty file (0 bytes)")
        head, compressed = _head(path)
    except PermissionError:
        raise ReadError("unreadable", "permission denied") from None
    if not head:
        raise ReadError("empty", "gzip file holds no data")
    if not head.startswith(b"SIMPLE  ="):
        raise ReadError("not-fits", f"not a FITS file: it looks like {describe_bytes(head)}")
    if len(head) < BLOCK:
        raise ReadError("truncated", f"truncated: {len(head)} bytes, less than one {BLOCK}-byte FITS header block")
    source = io.BytesIO(_gunzip(path)) if compressed else path
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(source, memmap=False, lazy_load_hdus=False) as hdul:
                found = next(_image_hdus(hdul), None)
                if found is None:
                    if any(isinstance(w.message, Warning) and "truncated" in str(w.message) for w in caught):
                        raise ReadError("truncated", "truncated: the file ends inside its first header or data block")
                    tables = [f"{i} ({h.name})" for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
                    if tables:
                        raise ReadError("table-only", f"no image: its {len(hdul)} HDU(s) hold tables (HDU {', '.join(tables)}), "
                                                      "not image data")
                    raise ReadError("header-only", f"header-only: none of its {len(hdul)} HDU(s) holds image data")
                index, hdu = found
                shape = tuple(hdu.shape)
                header = hdu.header.copy() if index == 0 else inherit_primary(hdul[0].header, hdu.header)
                name = hdu.name or ("PRIMARY" if index == 0 else f"HDU{index}")
                try:
                    raw = hdu.data
                except (ValueError, OSError, TypeError, EOFError) as exc:
                    raise ReadError("truncated", f"truncated or damaged data in HDU {index} ({type(exc).__name__}: "
                                                 f"{str(exc).splitlines()[0][:100]})") from None
                except Exception as exc:  # noqa: BLE001 - e.g. astropy's CfitsioException for corrupt compressed tiles
                    raise ReadError("damaged", f"damaged data in HDU {index} ({type(exc).__name__}: "
                                               f"{str(exc).splitlines()[0][:100]})") from None
                if raw is None:
                    raise ReadError("header-only", f"header-only: HDU {index} declares shape {shape} but holds no data")
                if raw.size != int(np.prod(shape)) or any("truncated" in str(w.message) for w in caught):
                    raise ReadError("truncated", f"truncated: HDU {index} declares shape {shape} but the file ends early")
                arr = np.asarray(raw, dtype=np.float32)
                _refuse_overflow(raw, arr)
    except ReadError:
        raise
    except (OSError, ValueError, TypeError, IndexError, KeyError, EOFError) as exc:
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        kind = "truncated" if ("truncat" in msg.lower() or "end of file" in msg.lower() or isinstance(exc, EOFError)) else "unreadable"
        raise ReadError(kind, f"{'truncated' if kind == 'truncated' else 'unreadable FITS'}: {msg}") from None
    arr = _as_image(arr, shape)
    check_values(arr)
    if facts not in ("all", "basic", "none"):
        raise ValueError(f"facts must be 'all', 'basic' or 'none', got {facts!r}")
    if facts == "none":
        return FitsImage(data=arr, hdu=index, hdu_name=name, reader="astropy", facts={}, header=header)
    pointing = facts == "all"
    better = sunpy_facts(arr, header, pointing) if use_sunpy and has_wcs(header) else None
    # sunpy's Map gives the centre and scale (and the date, in its format); astropy.wcs only where it made none
    found = header_facts(header, arr.shape, wcs=pointing and (better is None or None in (better.get("xcen"), better.get("cdelt1"))))
    if not pointing:
        for key in ("xcen", "ycen", "cdelt1", "cdelt2"):
            found[key] = None
    if better is None:
        return FitsImage(data=arr, hdu=index, hdu_name=name, reader="astropy", facts=found, header=header)
    if found["date_obs"] is None:  # sunpy puts the current time where the header has none
        better.pop("date_obs", None)
    found.update({k: v for k, v in better.items() if v is not None})
    return FitsImage(data=arr, hdu=index, hdu_name=name, reader="sunpy", facts=found, header=header)
