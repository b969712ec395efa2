"""How realistic is the simulator? Image statistics of simulated against real H-alpha crops.

Three statistics, each computed per image on intensities divided by the image's median (so
exposure and instrument gain drop out):

* the azimuthally averaged, windowed, normalised **power spectrum** and its log-log slope in
  a fixed band of spatial frequencies (texture: granulation-like chromospheric fibrils vs
  smooth blobs vs noise);
* the **intensity histogram**, compared between sets with the first Wasserstein (earth
  mover's) distance of ``scipy.stats`` (how dark the dark features are, how bright plage is,
  how wide the quiet-Sun distribution is);
* the **feature contrast**: mean intensity inside a feature mask over the median of a ring
  of surroundings (filament darkness; 1 = invisible).

Common scale. Hinode/SOT H-alpha has ~0.1"/px and 0.33" resolution; the real BBSO crops
have ~1"/px and seeing-limited ~2" resolution. Detail cannot be restored in BBSO, so both
sets are compared at BBSO's scale: :func:`to_common_scale` convolves a finer image with the
Gaussian PSF that brings its resolution to 2" (FWHMs add in quadrature) and then resamples it
to 1"/px by area averaging (``skimage.transform.resize_local_mean``, what a detector with
larger pixels records). Spectra are then compared in 0.02-0.1 cycles/arcsec (10"-50"
scales): below BBSO's resolution and its JPEG 8-pixel block frequency (0.125), and above the
lowest frequency a 128-pixel crop resolves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from skimage import filters, transform

from .errors import SlicError
from .realdata import bbso
from .synthetic import render_sot

log = logging.getLogger(__name__)

COMMON_SCALE = 1.0
"""Pixel scale (arcsec/px) at which simulated and real images are compared (BBSO's)."""
COMMON_RESOLUTION = 2.0
"""Resolution (FWHM, arcsec) of the comparison: BBSO full-disc H-alpha, seeing-limited."""
SLOPE_RANGE = (0.02, 0.1)
"""Spatial-frequency band (cycles per arcsec at the common scale) of the spectral slope."""
HIST_RANGE = (0.0, 2.0)
"""Range of median-normalised intensity for histograms."""
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def _as_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < 8:
        raise SlicError(f"Expected a 2-D image of at least 8 x 8 pixels, got shape {image.shape}.")
    return image


def normalise(image: np.ndarray) -> np.ndarray:
    """The image divided by its median (quiet-Sun level = 1)."""
    image = _as_image(image)
    median = float(np.median(image))
    if not np.isfinite(median) or median <= 0:
        raise SlicError("Cannot normalise an image whose median intensity is not positive.")
    return image / median


def to_common_scale(
    image: np.ndarray,
    scale: float,
    resolution: float | None = None,
    target_scale: float = COMMON_SCALE,
    target_resolution: float = COMMON_RESOLUTION,
) -> np.ndarray:
    """Degrade an image to the common pixel scale and resolution.

    Parameters
    ----------
    image : ndarray
        2-D image.
    scale : float
        Its pixel scale, arcsec per pixel.
    resolution : float, optional
        Its resolution (FWHM, arcsec); default: Nyquist-sampled, ``2 * scale``.
    target_scale, target_resolution : float
        Pixel scale and resolution to reach (default: BBSO's 1"/px and 2").

    Returns
    -------
    ndarray
        The image convolved with the Gaussian that adds the missing blur
        (``sqrt(target_resolution**2 - resolution**2)``) and resampled by area averaging.
    """
    image = _as_image(image)
    resolution = 2.0 * scale if resolution is None else resolution
    added = np.sqrt(max(target_resolution**2 - resolution**2, 0.0))
    if added > 0:
        image = ndimage.gaussian_filter(image, added / _FWHM_PER_SIGMA / scale, mode="reflect")
    shape = tuple(max(int(round(n * scale / target_scale)), 1) for n in image.shape)
    if shape != image.shape:
        image = transform.resize_local_mean(image, shape)
    return image


def radial_power_spectrum(image: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged power spectrum of an image, Hann-windowed and normalised.

    The image is divided by its mean, the mean is removed and a 2-D Hann window
    (``skimage.filters.window``) suppresses the edge discontinuity; the squared FFT modulus
    is averaged in rings one frequency step wide, up to the Nyquist frequency, and divided
    by its sum so that images of different contrast compare by shape alone.

    Parameters
    ----------
    image : ndarray
        2-D image.
    scale : float
        Pixel scale; ``k`` is in cycles per unit of it (per arcsec for arcsec/px).

    Returns
    -------
    k : ndarray
        Ring centre frequencies (zero frequency excluded).
    power : ndarray
        Normalised power per ring (sums to 1).
    """
    image = _as_image(image)
    image = image / np.mean(image) - 1.0 if np.mean(image) > 0 else image - np.mean(image)
    windowed = image * filters.window("hann", image.shape)
    power2d = np.abs(np.fft.fft2(windowed)) ** 2
    ky = np.fft.fftfreq(image.shape[0])[:, None]
    kx = np.fft.fftfreq(image.shape[1])[None, :]
    step = 1.0 / min(image.shape)
    ring = np.rint(np.hypot(ky, kx) / step).astype(int).ravel()
    n_rings = int(0.5 / step) + 1
    keep = ring < n_rings
    sums = np.bincount(ring[keep], weights=power2d.ravel()[keep], minlength=n_rings)
    counts = np.bincount(ring[keep], minlength=n_rings)
    k = np.arange(n_rings) * step
    power = sums[1:] / np.maximum(counts[1:], 1)
    total = power.sum()
    return k[1:] / scale, power / total if total > 0 else power


def spectral_slope(k: np.ndarray, power: np.ndarray, k_range: tuple[float, float] = SLOPE_RANGE) -> float:
    """Least-squares slope of log power against log k within ``k_range`` (NaN if < 3 points)."""
    inside = (k >= k_range[0]) & (k <= k_range[1]) & (power > 0)
    if inside.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log10(k[inside]), np.log10(power[inside]), 1)[0])


def intensity_histogram(image: np.ndarray, bins: int = 64, range: tuple[float, float] = HIST_RANGE):
    """Histogram (probability density) of an image's median-normalised intensity.

    Returns
    -------
    centres : ndarray
        Bin centres.
    density : ndarray
        Probability density (integrates to the fraction of pixels inside ``range``).
    """
    return pooled_histogram([image], bins, range)


def pixels(images: Sequence[np.ndarray]) -> np.ndarray:
    """All pixels of a set of images, each divided by its own median, as one flat array."""
    return np.concatenate([normalise(im).ravel() for im in images])


def pooled_histogram(images: Sequence[np.ndarray], bins: int = 64, range: tuple[float, float] = HIST_RANGE):
    """:func:`intensity_histogram` of all pixels of a set of images, each normalised by its own median."""
    values = pixels(images)
    counts, edges = np.histogram(values, bins=bins, range=range)
    return 0.5 * (edges[1:] + edges[:-1]), counts / (values.size * np.diff(edges))


def _pooled(images: Sequence[np.ndarray], max_pixels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = pixels(images)
    if values.size > max_pixels:
        values = rng.choice(values, max_pixels, replace=False)
    return values


def histogram_distance(
    a: Sequence[np.ndarray], b: Sequence[np.ndarray], max_pixels: int = 200_000, seed: int = 0
) -> float:
    """Wasserstein distance between the pooled median-normalised intensities of two image sets.

    In units of the median intensity: 0.05 means the distributions are, on average, 5 % of
    the quiet-Sun level apart. Each set is subsampled to ``max_pixels`` pixels with the same
    seed, so identical sets give exactly 0.
    """
    if not len(a) or not len(b):
        raise SlicError("Both image sets must contain at least one image.")
    return float(stats.wasserstein_distance(_pooled(a, max_pixels, seed), _pooled(b, max_pixels, seed)))


def dark_feature_mask(image: np.ndarray, threshold: float = 0.85, min_size: int = 10, smooth: float = 1.0) -> np.ndarray:
    """Pixels darker than ``threshold`` times the median, both as observed and after light
    smoothing (so noise neither fragments the feature nor widens it), small specks removed."""
    norm = normalise(image)
    dark = (norm < threshold) & (ndimage.gaussian_filter(norm, smooth) < threshold)
    # by hand rather than morphology.remove_small_objects, whose size argument changed name in 0.26
    labels, _ = ndimage.label(dark)
    big = np.bincount(labels.ravel()) >= min_size
    big[0] = False
    return big[labels]


def feature_contrast(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    ring: tuple[float, float] = (3.0, 15.0),
    threshold: float = 0.85,
) -> float:
    """Mean intensity inside a feature over the median intensity of its surroundings.

    Parameters
    ----------
    image : ndarray
        2-D image.
    mask : ndarray of bool, optional
        The feature (e.g. a filament outline); default :func:`dark_feature_mask`.
    ring : (float, float)
        The surroundings are the pixels between these distances (pixels) from the mask.
    threshold : float
        Threshold of the derived mask (ignored when ``mask`` is given).

    Returns
    -------
    float
        ``< 1`` for a dark feature, NaN when the mask is empty.
    """
    image = _as_image(image)
    mask = dark_feature_mask(image, threshold) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != image.shape:
        raise SlicError(f"The mask's shape {mask.shape} differs from the image's {image.shape}.")
    if not mask.any():
        return float("nan")
    distance = ndimage.distance_transform_edt(~mask)
    surround = (distance > ring[0]) & (distance <= ring[1])
    if not surround.any():
        surround = ~mask
    if not surround.any():
        return float("nan")
    return float(image[mask].mean() / np.median(image[surround]))


def image_statistics(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None] | None = None,
    scale: float = COMMON_SCALE,
    k_range: tuple[float, float] = SLOPE_RANGE,
):
    """Per-image statistics as a :class:`pandas.DataFrame`.

    Columns: ``rms_contrast`` (standard deviation / median), ``p01`` and ``p99``
    (median-normalised percentiles), ``spectral_slope`` (in ``k_range``) and
    ``feature_contrast`` (with the given mask, else a thresholded one).
    """
    masks = [None] * len(images) if masks is None else list(masks)
    if len(masks) != len(images):
        raise SlicError(f"Got {len(masks)} masks for {len(images)} images.")
    rows = []
    for image, mask in zip(images, masks):
        norm = normalise(image)
        k, power = radial_power_spectrum(norm, scale)
        rows.append(
            {
                "rms_contrast": float(norm.std()),
                "p01": float(np.percentile(norm, 1)),
                "p99": float(np.percentile(norm, 99)),
                "spectral_slope": spectral_slope(k, power, k_range),
                "feature_contrast": feature_contrast(norm, mask),
            }
        )
    return pd.DataFrame(rows)


def compare(
    synthetic: Sequence[np.ndarray],
    real: Sequence[np.ndarray],
    synthetic_masks: Sequence[np.ndarray | None] | None = None,
    real_masks: Sequence[np.ndarray | None] | None = None,
    scale: float = COMMON_SCALE,
    k_range: tuple[float, float] = SLOPE_RANGE,
):
    """Summary statistics of simulated against real images (both already at a common scale).

    Returns
    -------
    pandas.DataFrame
        Index: ``images``, ``intensity_wasserstein`` (pooled histograms),
        ``featureless_wasserstein``, ``rms_contrast``, ``p01``, ``p99``, ``spectral_slope``,
        ``feature_contrast``. Columns ``simulated`` and ``real`` (median over images; the
        count for ``images``) and ``distance``: the Wasserstein distance between the two
        sets' per-image values (for the intensity row, between their pooled pixel
        intensities). ``featureless_wasserstein`` is the intensity distance of featureless
        images (every pixel at its image's median) from the real ones: the scale that says
        whether ``intensity_wasserstein`` is small (about the real images' mean absolute
        contrast; a simulator as bad as a flat image scores as much).
    """
    sim = image_statistics(synthetic, synthetic_masks, scale, k_range)
    obs = image_statistics(real, real_masks, scale, k_range)
    flat = [np.full(np.shape(im), np.nanmedian(im), dtype=float) for im in real]
    rows = {
        "images": (len(sim), len(obs), np.nan),
        "intensity_wasserstein": (np.nan, np.nan, histogram_distance(synthetic, real)),
        "featureless_wasserstein": (np.nan, np.nan, histogram_distance(flat, real)),
    }
    for column in sim.columns:
        a, b = sim[column].dropna(), obs[column].dropna()
        distance = stats.wasserstein_distance(a, b) if len(a) and len(b) else np.nan
        rows[column] = (a.median(), b.median(), distance)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["simulated", "real", "distance"])
    table.index.name = "metric"
    return table


def median_spectrum(images: Sequence[np.ndarray], scale: float = COMMON_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """Median over images of :func:`radial_power_spectrum`, on the frequencies of the smallest image."""
    spectra = [radial_power_spectrum(normalise(im), scale) for im in images]
    k = min((s[0] for s in spectra), key=len)
    return k, np.median([np.interp(k, s[0], s[1]) for s in spectra], axis=0)


def figure_panels(
    synthetic: Sequence[np.ndarray],
    real: Sequence[np.ndarray],
    n: int = 4,
    scale: float = COMMON_SCALE,
    k_range: tuple[float, float] = SLOPE_RANGE,
    bins: int = 128,
) -> dict[str, np.ndarray]:
    """What the side-by-side figure shows, as a flat dict of arrays (an ``.npz`` file holds it).

    Parameters
    ----------
    synthetic, real : sequence of ndarray
        Images at the common scale; the first ``n`` of each are kept, all enter the curves.
    n : int
        Crops kept per set.
    scale : float
        Pixel scale (arcsec/px) of the spectra's frequencies.
    k_range : (float, float)
        The slope band, shaded in the figure.
    bins : int
        Histogram bins over :data:`HIST_RANGE`.

    Returns
    -------
    dict of str to ndarray
        ``simulated_image_<i>`` and ``real_image_<i>`` (median-normalised crops, i < n);
        ``hist_centres``, ``hist_simulated``, ``hist_real`` (pooled densities);
        ``hist_limits`` (the intensity range worth showing: 0.1-99.9 percentiles of all
        pixels, padded); ``spectrum_k_simulated``, ``spectrum_simulated``,
        ``spectrum_k_real``, ``spectrum_real`` (median spectra); ``k_range``; ``n_images``
        (simulated, real).
    """
    if not len(synthetic) or not len(real):
        raise SlicError("Both image sets must contain at least one image.")
    n = max(1, min(n, len(synthetic), len(real)))
    panels: dict[str, np.ndarray] = {}
    for name, images in (("simulated", synthetic), ("real", real)):
        for i in range(n):
            panels[f"{name}_image_{i}"] = normalise(images[i])
        centres, panels[f"hist_{name}"] = pooled_histogram(images, bins=bins)
        panels[f"spectrum_k_{name}"], panels[f"spectrum_{name}"] = median_spectrum(images, scale)
    panels["hist_centres"] = centres
    low, high = np.percentile(pixels([*synthetic, *real]), [0.1, 99.9])
    panels["hist_limits"] = np.array([max(HIST_RANGE[0], low - 0.05), min(HIST_RANGE[1], high + 0.05)])
    panels["k_range"] = np.asarray(k_range, dtype=float)
    panels["n_images"] = np.array([len(synthetic), len(real)])
    return panels


def simulated_at_common_scale(name: str, n: int, seed: int = 0, size: int = 512) -> list[np.ndarray]:
    """``n`` simulated SOT H-alpha images of class ``name``, brought to the common scale."""
    streams = np.random.SeedSequence([seed, ("filaments", "quiet").index(name)]).spawn(n)
    images = []
    for ss in streams:
        sim = render_sot(name, np.random.default_rng(ss), size)
        images.append(to_common_scale(sim.data, sim.cdelt, resolution=2 * sim.cdelt))
    return images


def real_at_common_scale(crops, name: str) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Real BBSO crops of ``name`` at the common scale, with their outline masks and days."""
    images, masks, days = [], [], []
    for crop in crops:
        if crop.label != name:
            continue
        images.append(to_common_scale(crop.data, crop.scale, resolution=COMMON_RESOLUTION))
        mask = to_common_scale(crop.mask.astype(float), crop.scale, resolution=COMMON_RESOLUTION)
        masks.append(mask > 0.5)
        days.append(crop.day)
    return images, masks, days


def day_spread(images: Sequence[np.ndarray], days: Sequence[str]) -> tuple[float, float]:
    """Smallest and largest intensity distance of one real day against the other days."""
    distances = []
    for day in sorted(set(days)):
        one = [im for im, d in zip(images, days) if d == day]
        rest = [im for im, d in zip(images, days) if d != day]
        if one and rest:
            distances.append(histogram_distance(one, rest))
    return (min(distances), max(distances)) if distances else (float("nan"), float("nan"))


def simulator_vs_bbso(n_per_class: int = 12, seed: int = 0, size: int = 512, crop: int = 128, n_shown: int = 4) -> dict[str, dict]:
    """Simulated SOT filaments and quiet Sun against real BBSO crops, at BBSO's 1"/px and 2".

    Parameters
    ----------
    n_per_class : int
        Simulated images per class.
    seed : int
        Seed of the simulated images and of the real quiet-Sun crops' positions.
    size : int
        Side of the simulated images in pixels (before bringing them to the common scale).
    crop : int
        Side of the real crops in BBSO pixels (about 1").
    n_shown : int
        Crops per set kept for the figure (:func:`figure_panels`).

    Returns
    -------
    dict
        Per class (``"filaments"``, ``"quiet"``): ``table`` (:func:`compare`; for filaments its
        real ``feature_contrast`` uses the expert outlines), ``panels`` (:func:`figure_panels`,
        what :func:`slic_lib.plots.realism.plot_side_by_side` draws), ``n_simulated``,
        ``n_real`` and ``real_day_spread`` (:func:`day_spread`).

    Raises
    ------
    SlicError
        When the BBSO data package is not installed (the message names the pip command).
    """
    bbso.locate()
    crops = bbso.crops(size=crop, quiet_per_image=8, rng=seed)
    out: dict[str, dict] = {}
    for cls in ("filaments", "quiet"):
        sim = simulated_at_common_scale(cls, n_per_class, seed, size)
        obs, masks, days = real_at_common_scale(crops, cls)
        out[cls] = {
            "table": compare(sim, obs, real_masks=masks if cls == "filaments" else None),
            "panels": figure_panels(sim, obs, n=n_shown),
            "n_simulated": len(sim),
            "n_real": len(obs),
            "real_day_spread": day_spread(obs, days),
        }
    return out
