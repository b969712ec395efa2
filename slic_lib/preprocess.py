"""The ONE preprocessing function used by training, evaluation and classification alike.

The published Slic code prepared training data one way (``scipy.misc.imresize``, which
byte-scales to 0-255 and resizes bicubically) and classified new images another way; a model
sees a different input distribution at inference than in training. Here every path calls
:func:`preprocess`, driven by a :class:`PreprocessConfig` stored in the model's checkpoint.

Modes
-----
``"standard"`` (the project's default)
    Non-finite pixels are replaced by the median of the finite ones; the image is resampled
    to ``size x size`` with anti-aliasing (a Gaussian pre-filter, then linear interpolation:
    ``skimage.transform.resize``); then standardised per image (zero mean, unit variance), so
    exposure and instrument units do not matter.
``"relative"``
    As ``"standard"`` up to the resampling; then each pixel is expressed relative to the
    image's disc level, ``(I / I_disc - 1) / RELATIVE_SCALE``, where ``I_disc`` is the median
    of the pixels brighter than 30 % of the 99th percentile (:func:`disc_level`: the sky off
    the limb and sunspot umbrae are left out). Unlike standardisation it keeps the absolute
    contrast: a filament at 0.8 of the quiet Sun reads -2 whatever the rest of the image holds,
    while standardising a low-contrast quiet-Sun image stretches its granulation into dark
    features (issue 12: real quiet-Sun crops standardised reach a 0.5th percentile of -2.5,
    real filaments -3.5; relative to the disc, 0.91 against 0.82). It assumes intensities
    with the dark level removed, as calibrated data and the usual JPEG products have.
``"slic-npz"``
    Matches the released ``solar_train_data.npz``/``solar_test_data.npz`` (256x256, values
    0-255, label in column 0): per-image byte-scaling of the min..max range to 0..255 as
    ``scipy.misc.bytescale`` did, anti-aliased bicubic resampling, rounding to integers.
    Images already in that form (256x256 in 0..255) pass through unchanged, so the published
    data and weights are used as they are.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
from astropy.io import fits
from skimage.transform import resize

from .errors import SlicError

log = logging.getLogger(__name__)

MODES = ("standard", "relative", "slic-npz")
RELATIVE_SCALE = 0.1
"""Contrast that maps to one unit of ``"relative"`` input (about the quiet Sun's RMS contrast in H-alpha)."""
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")

ImageSource = Union[str, os.PathLike, np.ndarray, Any]  # Any: a sunpy Map


class BadFrameError(SlicError):
    """A frame that cannot be used: unreadable, empty, constant, NaN-only or not 2-D."""


@dataclass(frozen=True)
class PreprocessConfig:
    """How images become network input.

    Parameters
    ----------
    size : int
        Side of the square output image in pixels (the model's ``input_size``).
    mode : {"standard", "relative", "slic-npz"}
        See the module docstring.
    """

    size: int = 64
    mode: str = "standard"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SlicError(f"unknown preprocessing mode {self.mode!r}; expected one of {', '.join(MODES)}.")
        if self.size < 8:
            raise SlicError(f"the image size must be at least 8 pixels, got {self.size}.")


def is_fits_path(path: str | os.PathLike) -> bool:
    """True for a file name with a FITS suffix (compressed or not)."""
    return str(path).lower().endswith(FITS_SUFFIXES)


def fits_under(folder: str | os.PathLike, accept=is_fits_path) -> list[Path]:
    """Files under ``folder`` whose names ``accept`` takes (FITS suffixes), recursively and sorted,
    following links to folders (archive trees are often assembled from them; ``Path.rglob`` skips
    them before Python 3.13), each real folder once, so that a link back up the tree is no loop.
    A link to a file that is gone is kept: its error row, or its line among the skipped files,
    says so, where leaving it out would hide it."""
    found, seen = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        # a link whose file is gone stays in, so that it gets its error row (or is listed as skipped)
        found += [p for p in (Path(root, f) for f in files) if accept(p) and (p.is_file() or p.is_symlink())]
    return sorted(found)


def _existing_file(path: str | os.PathLike) -> Path:
    """The path of a file that exists and is not empty, else :class:`BadFrameError` with the reason."""
    path = Path(path)
    if not path.is_file():
        raise BadFrameError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise BadFrameError("empty file")
    return path


def load_map(path: str | os.PathLike):
    """Read a FITS file as a sunpy Map, raising :class:`BadFrameError` with a reason on failure."""
    import sunpy.map  # here, not at the top: importing sunpy costs ~3 s that reading pixels with astropy never needs

    path = _existing_file(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            smap = sunpy.map.Map(path)
    except Exception as exc:  # sunpy raises many types for unreadable files
        # the project's reader names the cause ("it looks like an HTML page", "truncated", ...);
        # sunpy's own message is kept only where the reader finds nothing wrong
        raise BadFrameError(_cause(path) or f"not a readable FITS image ({type(exc).__name__}: "
                                            f"{str(exc).splitlines()[0][:120]})") from None
    for w in caught:  # header quirks of real archives are common and not the user's problem
        log.debug("%s: %s", path, w.message)
        if "more than 2 dimensions" in str(w.message):
            # sunpy keeps the first frame of a cube; a stack of several frames is not one image
            shape = _data_shape(path)
            if shape is not None and int(np.prod(shape[:-2])) > 1:
                raise BadFrameError(f"expected a 2-D image, got a cube of shape {shape}")
    if isinstance(smap, list):
        smap = smap[0]
    return smap


def _cause(path: Path) -> str | None:
    """Why :mod:`slic_lib.reader` cannot read ``path`` (one sentence), or None where it can."""
    from .reader import ReadError, read_image

    try:
        read_image(path, use_sunpy=False, facts="none")
    except ReadError as exc:
        return str(exc)
    return None


def _data_shape(path: Path) -> tuple[int, ...] | None:
    with fits.open(path) as hdul:
        for hdu in hdul:
            if hdu.header.get("NAXIS", 0) >= 2:
                return tuple(hdu.shape)
    return None


def read_fits_array(path: str | os.PathLike) -> np.ndarray:
    """The 2-D image of a FITS file as float32: :func:`slic_lib.reader.read_image`'s pixels, no sunpy Map.

    One reader for every FITS file the project opens (plain, gzip- or tile-compressed, with
    or without coordinate keywords, several HDUs; the first image HDU, a cube's single frame
    squeezed), here without interpreting the header: dataset building and preprocessing need
    only the pixels, in about a tenth of a sunpy Map's time.

    Raises
    ------
    BadFrameError
        (:class:`slic_lib.reader.ReadError`) For a missing, empty, damaged, non-FITS,
        header-only, multi-frame, all-NaN, all-zero or constant file, naming the cause.
    """
    from .reader import read_image  # the reader builds on this module's BadFrameError

    return read_image(path, use_sunpy=False, facts="none").data


def image_array(source: ImageSource) -> np.ndarray:
    """The 2-D pixel array of a FITS path, a sunpy Map or an array, as float32 (the arithmetic of preprocessing).

    A path is read with :func:`read_fits_array` (astropy), not a sunpy Map: only the pixels are needed.
    """
    if isinstance(source, (str, os.PathLike)):
        return read_fits_array(source)
    data = getattr(source, "data", source)
    arr = np.asarray(data, dtype=np.float32)
    if arr.ndim > 2:
        arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise BadFrameError(f"expected a 2-D image, got shape {np.shape(data)}")
    if arr.size == 0 or min(arr.shape) < 2:
        raise BadFrameError(f"image is empty or degenerate, shape {arr.shape}")
    return arr


def clean(arr: np.ndarray) -> np.ndarray:
    """Replace non-finite pixels by the median of the finite ones; reject unusable frames.

    A finite minimum and maximum prove every pixel finite (NaN propagates through both, and an
    infinity is one of them), so the common clean frame costs two passes and no mask.
    """
    lo, hi = arr.min(), arr.max()
    if np.isfinite(lo) and np.isfinite(hi):
        if lo == hi:
            raise BadFrameError("all-zero image" if hi == 0 else "constant image")
        return arr
    finite = np.isfinite(arr)
    if not finite.any():
        raise BadFrameError("no finite pixels (NaN/inf only)")
    values = arr[finite]
    if values.max() == values.min():
        raise BadFrameError("all-zero image" if values.max() == 0 else "constant image")
    return np.where(finite, arr, np.median(values)).astype(arr.dtype, copy=False)


def resample(arr: np.ndarray, size: int, order: int = 1) -> np.ndarray:
    """Anti-aliased resampling to ``size x size`` (skimage's Gaussian pre-filter when shrinking).

    An axis shrunk more than :data:`PREBIN_ABOVE` times is first averaged over blocks of whole
    pixels down to about four times ``size`` (:func:`_prebin`): skimage's Gaussian grows with
    the factor (sigma 31 pixels for 4096 -> 64), and filtering a full 4096x4096 AIA, HMI or
    DKIST frame with it took 3-7 s of a core, against milliseconds for a 512-pixel SOT frame
    (factor 8, which is left exactly as it was).
    """
    if arr.shape == (size, size):
        return arr
    arr = _prebin(arr, size)
    return resize(arr, (size, size), order=order, anti_aliasing=True, preserve_range=True, mode="reflect")


PREBIN_ABOVE = 8
"""Shrink factor above which :func:`resample` first averages blocks of pixels."""


def _prebin(arr: np.ndarray, size: int) -> np.ndarray:
    """Mean over ``k x k``-style blocks (per axis ``n // (4 size)``) where an axis shrinks more than ``PREBIN_ABOVE`` times.

    The few rows and columns that do not fill a block are dropped evenly from both edges.
    """
    ks = [n // (4 * size) if n > PREBIN_ABOVE * size else 1 for n in arr.shape]
    if ks == [1, 1]:
        return arr
    (ky, kx), (ny, nx) = ks, arr.shape
    my, mx = ny // ky * ky, nx // kx * kx
    y0, x0 = (ny - my) // 2, (nx - mx) // 2
    blocks = arr[y0:y0 + my, x0:x0 + mx].reshape(my // ky, ky, mx // kx, kx)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def bytescale(arr: np.ndarray) -> np.ndarray:
    """Scale min..max to 0..255 and round, as the removed ``scipy.misc.bytescale`` did (in the array's float type)."""
    lo, hi = arr.min(), arr.max()
    scale = arr.dtype.type(255.0 / (float(hi) - float(lo)))
    return np.floor((arr - lo) * scale + arr.dtype.type(0.5)).clip(0, 255)


def disc_level(image: np.ndarray) -> float:
    """The image's disc (quiet-Sun) intensity: the median of the pixels above 30 % of its 99th percentile.

    The 30 % cut leaves out the sky beside the limb (a prominence image can be mostly sky) and
    sunspot umbrae; a flare's ribbons move the level by a few per cent at most.

    Raises
    ------
    BadFrameError
        When the image has no positive intensities to be relative to.
    """
    top = float(np.percentile(image, 99))
    if not top > 0:
        raise BadFrameError("no positive intensities: the 'relative' preprocessing needs an image with its dark level removed")
    return float(np.median(image[image > 0.3 * top]))


def preprocess_array(arr: np.ndarray, config: PreprocessConfig | None = None) -> np.ndarray:
    """Preprocess one 2-D array; see :func:`preprocess`. Computed in float32 throughout (a float64 input is cast once)."""
    config = config or PreprocessConfig()
    arr = clean(image_array(arr))
    if config.mode == "slic-npz":
        scaled = bytescale(arr)
        out = np.floor(resample(scaled, config.size, order=3) + 0.5).clip(0, 255)
        return out.astype(np.float32)
    out = resample(arr, config.size)
    if config.mode == "relative":
        return ((out / np.float32(disc_level(out)) - 1) / np.float32(RELATIVE_SCALE)).astype(np.float32, copy=False)
    mean, std = out.mean(dtype=np.float64), out.std(dtype=np.float64)
    return ((out - np.float32(mean)) / np.float32(std if std > 0 else 1.0)).astype(np.float32, copy=False)


def preprocess(source: ImageSource, config: PreprocessConfig | None = None) -> np.ndarray:
    """Turn a FITS file, sunpy Map or array into the network's input.

    Parameters
    ----------
    source
        Path to a FITS file (its pixels read with ``astropy.io.fits``, the same as
        ``sunpy.map.Map(path).data``), a sunpy Map, or a 2-D array.
    config
        Output size and mode; defaults to ``PreprocessConfig()``.

    Returns
    -------
    numpy.ndarray
        ``float32`` array of shape ``(size, size)``.

    Raises
    ------
    BadFrameError
        For an unreadable, empty, constant (e.g. all-zero), NaN-only or not 2-D frame, with the
        reason in the message.
    """
    config = config or PreprocessConfig()
    return preprocess_array(image_array(source), config)
