"""Degrading Hinode/SOT H-alpha images to a coarser (e.g. SDO/AIA) resolution.

Section 4.2.1 of Armstrong & Fletcher (2019) tests whether resolution explains the network's
failures on AIA 1600/1700 A sunspots by "downsampling by ~3x to AIA resolution" SOT H-alpha
images (their Figure 5). Here that is done as an instrument would see it, and for any
*degradation factor* ``f >= 1``:

1. **Point-spread function.** The image already carries the source telescope's resolution
   (FWHM ``R``: SOT 0.33"); to reach ``f * R`` it is convolved with the *added* kernel of
   ``FWHM_add = sqrt((f R)^2 - R^2)`` (Gaussians add in quadrature; for an Airy disc this is
   the usual approximation). Kernels are ``astropy.convolution`` kernels, convolved with
   ``astropy.convolution.convolve_fft`` on a reflect-padded image so the border neither
   darkens nor wraps around.
2. **Resampling** by ``1/f`` with area-weighted ("pixel-mixing") averaging,
   ``skimage.transform.resize_local_mean``: every output pixel is the mean of the input
   area it covers, which is what a detector with ``f`` times larger pixels records. This is
   block averaging (``skimage.measure.block_reduce``) generalised to non-integer factors
   (1.5, 3.6, ...); unlike ``skimage.transform.rescale(anti_aliasing=True)`` it adds no extra
   Gaussian blur on top of the physical PSF and conserves the total flux exactly (the
   output is scaled by the pixel-area ratio, ``conserve="flux"``, or left as a mean
   surface brightness, ``conserve="mean"``).
3. Optional Gaussian **noise**.

:func:`degrade_map` does the same for a sunpy Map from its own pixel scale to AIA's 1.2"
resolution on 0.6" pixels and updates the WCS; :func:`degradation_curve` measures a model's
accuracy against the degradation factor, passing degraded images through THE preprocessing
(:func:`slic_lib.preprocess.preprocess_array`) like any other network input.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.convolution import AiryDisk2DKernel, Gaussian2DKernel, convolve_fft
from astropy.stats import gaussian_fwhm_to_sigma
from joblib import Parallel, delayed
from skimage.transform import resize_local_mean
from sklearn.metrics import recall_score
from .progress import tqdm

from .errors import SlicError
from .inference import predict_proba
from .preprocess import clean, image_array, preprocess_array

log = logging.getLogger(__name__)

#: Spatial resolution (FWHM, arcsec) of Hinode/SOT in H-alpha (Tsuneta et al. 2008).
SOT_RESOLUTION = 0.33
#: Assumed SOT H-alpha pixel scale (arcsec/px) when an image comes without one: ~3 px per resolution element.
SOT_PIXEL_SCALE = 0.11
#: Spatial resolution (FWHM, arcsec) of the SDO/AIA UV channels (Title et al. 2006) ...
AIA_RESOLUTION = 1.2
#: ... sampled on 0.6" pixels.
AIA_PIXEL_SCALE = 0.6

PSFS = ("gaussian", "airy")
CONSERVE = ("flux", "mean")
DEFAULT_FACTORS = (1, 1.5, 2, 3, 4, 6, 8)

# FWHM and first-zero radius of an Airy disc, in units of lambda/D.
_AIRY_FWHM = 1.028993969962188
_AIRY_FIRST_ZERO = 1.2196698912665045


def equivalent_factor(source_resolution: float = SOT_RESOLUTION, target_resolution: float = AIA_RESOLUTION) -> float:
    """Degradation factor that turns one resolution into another (SOT -> AIA: 1.2/0.33 = 3.64).

    Parameters
    ----------
    source_resolution, target_resolution : float
        Resolutions (FWHM) in the same unit, e.g. arcsec.
    """
    if source_resolution <= 0 or target_resolution <= 0:
        raise SlicError("resolutions must be positive numbers.")
    return float(target_resolution) / float(source_resolution)


def added_fwhm(source_fwhm: float, factor: float) -> float:
    """FWHM of the kernel that turns a PSF of ``source_fwhm`` into one of ``factor * source_fwhm``.

    ``sqrt((f * s)^2 - s^2)``, exact for Gaussians; 0 for ``factor == 1``.
    """
    return float(source_fwhm) * math.sqrt(max(float(factor) ** 2 - 1.0, 0.0))


def psf_kernel(fwhm_px: float | tuple[float, float], psf: str = "gaussian"):
    """An ``astropy.convolution`` kernel of the given FWHM in pixels.

    Parameters
    ----------
    fwhm_px : float or (float, float)
        FWHM in pixels; a pair ``(fwhm_y, fwhm_x)`` gives an elliptical Gaussian for
        non-square pixels (the Airy disc, being circular, uses their geometric mean).
    psf : {"gaussian", "airy"}
        ``Gaussian2DKernel`` or ``AiryDisk2DKernel`` (radius of the first dark ring
        ``1.185 * FWHM``).
    """
    fy, fx = (fwhm_px, fwhm_px) if np.isscalar(fwhm_px) else fwhm_px
    if psf == "gaussian":
        return Gaussian2DKernel(x_stddev=fx * gaussian_fwhm_to_sigma, y_stddev=fy * gaussian_fwhm_to_sigma)
    if psf == "airy":
        return AiryDisk2DKernel(radius=math.sqrt(fx * fy) * _AIRY_FIRST_ZERO / _AIRY_FWHM)
    raise SlicError(f"unknown PSF {psf!r}; use one of {', '.join(PSFS)}.")


def convolve_psf(image: np.ndarray, fwhm_px: float | tuple[float, float], psf: str = "gaussian") -> np.ndarray:
    """Convolve with a normalised PSF kernel (FFT), reflecting the image at its borders.

    A FWHM below 0.01 px returns a copy of the image unchanged.
    """
    image = np.asarray(image, dtype=np.float64)
    fy, fx = (fwhm_px, fwhm_px) if np.isscalar(fwhm_px) else fwhm_px
    if max(fy, fx) < 0.01:
        return image.copy()
    kernel = psf_kernel((fy, fx), psf)
    ky, kx = (s // 2 + 1 for s in kernel.array.shape)
    padded = np.pad(image, ((ky, ky), (kx, kx)), mode="symmetric")
    out = convolve_fft(padded, kernel, boundary="fill", fill_value=0.0, normalize_kernel=True)
    return np.asarray(out[ky:-ky, kx:-kx], dtype=np.float64)


def resample_area(image: np.ndarray, shape: tuple[int, int], conserve: str = "flux") -> np.ndarray:
    """Area-weighted (pixel-mixing) resampling to ``shape``; see the module docstring.

    Parameters
    ----------
    conserve : {"flux", "mean"}
        ``"flux"`` scales the output by the pixel-area ratio so the total is unchanged
        (counts per pixel); ``"mean"`` keeps the mean value (surface brightness).
    """
    if conserve not in CONSERVE:
        raise SlicError(f"unknown conserve={conserve!r}; use one of {', '.join(CONSERVE)}.")
    image = np.asarray(image, dtype=np.float64)
    shape = (int(shape[0]), int(shape[1]))
    if shape == image.shape:
        return image.copy()
    out = resize_local_mean(image, shape, grid_mode=True, preserve_range=True)
    if conserve == "flux":
        out = out * (image.size / (shape[0] * shape[1]))
    return out


def _check_image(image: Any) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise SlicError(f"degradation needs a 2-D image, got shape {np.shape(image)}.")
    if not np.isfinite(arr).all():
        raise SlicError("the image has NaN or infinite pixels; replace them first (slic_lib.preprocess.clean does).")
    return arr


def _add_noise(image: np.ndarray, noise: float | None, rng: np.random.Generator | int | None) -> np.ndarray:
    if noise is None or noise == 0:
        return image
    if noise < 0:
        raise SlicError(f"noise must be >= 0, got {noise}.")
    rng = np.random.default_rng(rng)
    return image + rng.normal(0.0, float(noise) * float(image.std()), size=image.shape)


def degrade(
    image: np.ndarray,
    factor: float,
    pixel_scale: float | None = None,
    psf: str = "gaussian",
    resample: bool = True,
    *,
    source_resolution: float = SOT_RESOLUTION,
    noise: float | None = None,
    rng: np.random.Generator | int | None = None,
    conserve: str = "flux",
) -> np.ndarray:
    """Degrade an image's resolution by ``factor`` with a PSF and flux-conserving resampling.

    Parameters
    ----------
    image : array_like
        2-D image with finite pixels (SOT H-alpha at ``pixel_scale``).
    factor : float
        Degradation factor ``f >= 1``: the output resolution is ``f * source_resolution``
        and, with ``resample``, its pixels are ``f`` times larger. SOT -> AIA is
        :func:`equivalent_factor` (3.64).
    pixel_scale : float, optional
        Pixel scale of ``image`` in arcsec/px; default :data:`SOT_PIXEL_SCALE` (0.11").
        The source PSF's FWHM in pixels is ``source_resolution / pixel_scale`` (3 px for SOT).
    psf : {"gaussian", "airy"}
        Shape of the added PSF (see :func:`psf_kernel`).
    resample : bool
        Resample to ``round(n / f)`` pixels per axis (area-weighted, anti-aliased by the pixel
        box itself; see the module docstring). If false the output keeps the input's shape.
    source_resolution : float
        Resolution (FWHM) of the input in arcsec; default SOT's 0.33".
    noise : float, optional
        Standard deviation of added Gaussian noise as a fraction of the degraded image's
        standard deviation (``0.05`` = 5 %); ``None`` adds none.
    rng : numpy.random.Generator or int, optional
        Random generator or seed for the noise.
    conserve : {"flux", "mean"}
        What the resampling conserves: the total (default) or the mean value.

    Returns
    -------
    numpy.ndarray
        Finite ``float64`` image of shape about ``(ny / f, nx / f)`` (or the input shape).

    Examples
    --------
    >>> import numpy as np
    >>> degrade(np.ones((120, 90)), 3).shape
    (40, 30)
    """
    arr = _check_image(image)
    if not np.isfinite(factor) or factor < 1:
        raise SlicError(f"the degradation factor must be a number >= 1, got {factor}.")
    if psf not in PSFS:
        raise SlicError(f"unknown PSF {psf!r}; use one of {', '.join(PSFS)}.")
    scale = SOT_PIXEL_SCALE if pixel_scale is None else float(pixel_scale)
    if scale <= 0 or source_resolution <= 0:
        raise SlicError("pixel_scale and source_resolution must be positive (arcsec).")
    out = convolve_psf(arr, added_fwhm(source_resolution / scale, factor), psf)
    if resample:
        shape = tuple(max(1, round(n / factor)) for n in arr.shape)
        out = resample_area(out, shape, conserve=conserve)
    out = _add_noise(out, noise, rng)
    if not np.isfinite(out).all():  # pragma: no cover - finite input gives finite output
        raise SlicError("degradation produced non-finite pixels; the input values are too large for float64.")
    return out


def degrade_map(
    smap: Any,
    target_resolution_arcsec: float = AIA_RESOLUTION,
    target_scale_arcsec: float = AIA_PIXEL_SCALE,
    *,
    source_resolution_arcsec: float = SOT_RESOLUTION,
    psf: str = "gaussian",
    noise: float | None = None,
    rng: np.random.Generator | int | None = None,
    conserve: str = "flux",
):
    """Degrade a sunpy Map to a coarser resolution and pixel scale (default: SDO/AIA's).

    The PSF and the resampling use the map's own scale (``smap.scale``, per axis), so the
    convolution takes the image from ``source_resolution_arcsec`` to
    ``target_resolution_arcsec`` and the resampling from ``smap.scale`` to
    ``target_scale_arcsec`` per pixel -- two different factors (for SOT on 0.1" pixels:
    3.6 and 6). The WCS of the result is updated by ``smap.resample`` (scale, reference
    pixel, PC matrix); its data are replaced by the area-weighted resampling of
    :func:`resample_area`. The field of view is kept, so the output scale is
    ``target_scale_arcsec`` to within half a pixel across the image (exact when the field
    of view is a whole number of target pixels).

    Parameters
    ----------
    smap : sunpy.map.GenericMap
        Map with finite pixels.
    target_resolution_arcsec, target_scale_arcsec : float
        Output resolution (FWHM) and pixel scale in arcsec.
    source_resolution_arcsec : float
        Resolution of the input map (default SOT's 0.33").
    psf, noise, rng, conserve
        As in :func:`degrade`.

    Returns
    -------
    sunpy.map.GenericMap
        A new map; its metadata note the degradation (``DEGRRES``, ``DEGRSRC``, ``DEGRPSF``
        and a ``HISTORY`` line).
    """
    arr = _check_image(smap.data)
    if psf not in PSFS:
        raise SlicError(f"unknown PSF {psf!r}; use one of {', '.join(PSFS)}.")
    scale_x = abs(smap.scale.axis1.to_value(u.arcsec / u.pix))
    scale_y = abs(smap.scale.axis2.to_value(u.arcsec / u.pix))
    if target_resolution_arcsec < source_resolution_arcsec:
        raise SlicError(
            f"the target resolution {target_resolution_arcsec}\" is finer than the map's {source_resolution_arcsec}\"; degradation cannot sharpen."
        )
    if target_scale_arcsec < min(scale_x, scale_y) * (1 - 1e-6):
        raise SlicError(f"the target pixel scale {target_scale_arcsec}\" is finer than the map's ({scale_x:.3g}\", {scale_y:.3g}\"); degradation cannot upsample.")

    fwhm_add = added_fwhm(source_resolution_arcsec, target_resolution_arcsec / source_resolution_arcsec)
    blurred = convolve_psf(arr, (fwhm_add / scale_y, fwhm_add / scale_x), psf)
    ny, nx = arr.shape
    shape = (max(1, round(ny * scale_y / target_scale_arcsec)), max(1, round(nx * scale_x / target_scale_arcsec)))
    data = _add_noise(resample_area(blurred, shape, conserve=conserve), noise, rng)

    # smap.resample computes the new WCS (CDELT, CRPIX, PC); its interpolated data are replaced.
    header_map = smap.resample(u.Quantity([shape[1], shape[0]], u.pix), method="linear")
    meta = header_map.meta.copy()
    note = (
        f"slic_lib.degrade: PSF {psf} {source_resolution_arcsec}\" -> {target_resolution_arcsec}\" FWHM, "
        f"area-weighted resampling to {target_scale_arcsec}\"/px ({conserve} conserved)"
    )
    meta["degrres"] = float(target_resolution_arcsec)
    meta["degrsrc"] = float(source_resolution_arcsec)
    meta["degrpsf"] = psf
    comments = dict(meta.get("keycomments", {}))
    comments.update(
        degrres="[arcsec] resolution after slic_lib degradation",
        degrsrc="[arcsec] assumed resolution before degradation",
        degrpsf="shape of the added PSF",
    )
    meta["keycomments"] = comments
    history = str(meta.get("history", "")).strip()
    meta["history"] = f"{history}\n{note}" if history else note
    log.debug("degraded map %s -> %s: %s", arr.shape, shape, note)
    import sunpy.map  # here, not at the top: importing sunpy costs ~3 s that training and augmentation never need

    return sunpy.map.Map(data, meta)


def degrade_map_by(smap: Any, factor: float, *, source_resolution_arcsec: float = SOT_RESOLUTION, psf: str = "gaussian",
                   noise: float | None = None, rng: np.random.Generator | int | None = None):
    """Degrade a Map's resolution and pixel scale both by ``factor`` (see :func:`degrade_map`).

    Non-finite pixels are first replaced as the preprocessing would
    (:func:`slic_lib.preprocess.clean`); ``factor == 1`` returns the cleaned map unchanged.
    """
    if not np.isfinite(factor) or factor < 1:
        raise SlicError(f"the degradation factor must be a number >= 1, got {factor}.")
    import sunpy.map  # see degrade_map

    cleaned = sunpy.map.Map(clean(image_array(smap)), smap.meta)
    if factor == 1 and not noise:
        return cleaned
    scale = min(abs(smap.scale.axis1.to_value(u.arcsec / u.pix)), abs(smap.scale.axis2.to_value(u.arcsec / u.pix)))
    return degrade_map(cleaned, factor * source_resolution_arcsec, factor * scale, source_resolution_arcsec=source_resolution_arcsec,
                       psf=psf, noise=noise, rng=rng)


def _degraded(image: Any, factor: float, pixel_scale: float | None, psf: str, noise: float | None, rng, resample: bool = True) -> np.ndarray:
    """One image degraded by ``factor``: a sunpy Map at the Map stage, an array with :func:`degrade`."""
    is_map = hasattr(image, "scale") and hasattr(image, "meta")
    if is_map and resample:
        return np.asarray(degrade_map_by(image, factor, psf=psf, noise=noise, rng=rng).data, dtype=np.float64)
    if is_map:  # the PSF only, from the map's own pixel scale
        pixel_scale = float(image.scale.axis1.to_value(u.arcsec / u.pix))
    return degrade(clean(image_array(image)), factor, pixel_scale, psf, resample=resample, noise=noise, rng=rng)


def _inputs(images: Sequence[Any], factor: float, pixel_scale: float | None, psf: str, noise: float | None, seeds: Sequence[int],
            resample: bool, config: Any) -> np.ndarray:
    """Network inputs of a batch of images degraded by ``factor`` (one worker's task)."""
    return np.stack([preprocess_array(_degraded(img, factor, pixel_scale, psf, noise, np.random.default_rng(seed), resample), config)
                     for img, seed in zip(images, seeds)])


def degradation_curve(
    model: Any,
    images: Sequence[np.ndarray] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    factors: Sequence[float] = DEFAULT_FACTORS,
    config: Any = None,
    batch_size: int = 64,
    progress: bool = True,
    *,
    pixel_scale: float | None = None,
    psf: str = "gaussian",
    noise: float | None = None,
    rng: np.random.Generator | int | None = None,
    resample: bool = True,
    workers: int = 1,
):
    """A model's accuracy and per-class recall against the degradation factor.

    Every raw image (non-finite pixels replaced by :func:`slic_lib.preprocess.clean`, as the
    preprocessing would) is degraded by each factor (:func:`degrade`), turned into network input
    by :func:`slic_lib.preprocess.preprocess_array` with ``config`` (so a degraded image is
    resampled back to the model's input size exactly as any other image would be) and
    classified in batches by :func:`slic_lib.inference.predict_proba`, the project's one
    prediction loop.

    Parameters
    ----------
    model : SlicNet
        A network with ``class_names`` and ``preprocessing``.
    images : sequence of sunpy Maps, 2-D arrays, or a 3-D array
        Raw images at full resolution (any sizes). A Map is degraded at the Map stage
        (:func:`degrade_map_by`, from its own pixel scale); an array by :func:`degrade` at
        ``pixel_scale``.
    labels : sequence of int
        True class index of each image.
    factors : sequence of float
        Degradation factors (>= 1).
    config : PreprocessConfig, optional
        Preprocessing; default ``model.preprocessing``.
    batch_size : int
        Images per forward pass.
    progress : bool
        Show a tqdm progress bar over factors x batches.
    pixel_scale, psf, noise, rng
        Passed to :func:`degrade`.
    resample : bool
        Resample to the coarser pixels (the default, as an instrument would) or apply the PSF
        only, leaving the one resampling to the preprocessing (separates the effect of the
        resolution from that of resampling twice at non-integer ratios).
    workers : int
        Processes that degrade and preprocess the images (joblib), batch by batch, while this
        one classifies: the degradation costs about 30 ms a 256-pixel map and the network
        under 1 ms an image. Each image's noise comes from its own seed drawn from ``rng``,
        so the result does not depend on ``workers``.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``accuracy``, ``n`` and ``recall_<class>`` for each of
        ``model.class_names`` (NaN for a class without images).
    """


    config = config if config is not None else model.preprocessing
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) != len(labels):
        raise SlicError(f"got {len(images)} images but {len(labels)} labels.")
    if len(labels) == 0:
        raise SlicError("degradation_curve needs at least one image.")
    if batch_size < 1:
        raise SlicError(f"batch_size must be >= 1, got {batch_size}.")
    class_names = tuple(model.class_names)
    rng = np.random.default_rng(rng)
    seeds = rng.integers(2**63, size=(len(factors), len(labels)))
    starts = range(0, len(labels), batch_size)
    tasks = [delayed(_inputs)(images[i : i + batch_size], factor, pixel_scale, psf, noise, seeds[k, i : i + batch_size], resample, config)
             for k, factor in enumerate(factors) for i in starts]
    preds = []
    with tqdm(total=len(tasks), desc="degradation curve", disable=not progress) as bar:
        for batch in Parallel(n_jobs=workers, return_as="generator")(tasks):
            preds.append(predict_proba(model, batch, batch_size).argmax(axis=1))
            bar.update(1)
    rows = []
    for k, factor in enumerate(factors):
        pred = np.concatenate(preds[k * len(starts) : (k + 1) * len(starts)])
        recall = recall_score(labels, pred, labels=list(range(len(class_names))), average=None, zero_division=np.nan)
        row = {"factor": float(factor), "accuracy": float((pred == labels).mean()), "n": int(len(labels))}
        row.update({f"recall_{name}": float(r) for name, r in zip(class_names, recall)})
        rows.append(row)
    return pd.DataFrame(rows)
