"""FFT-based random textures and small geometric helpers shared by the SOT and AIA simulators.

All fields are float32 and built with ``scipy.fft`` (one forward transform of white noise,
then one inverse transform per filter), so a 512 x 512 texture costs a few milliseconds.
Lengths are in pixels; the instrument modules convert arcseconds to pixels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

__all__ = [
    "white_spectrum",
    "filtered_field",
    "bandpass_kernel",
    "lowpass_kernel",
    "anisotropic_kernel",
    "powerlaw_kernel",
    "streaks",
    "dense_streaks",
    "fft_blur",
    "noise_1d",
    "pixel_grid",
    "curve_points",
    "CurveField",
    "curve_field",
    "smoothstep",
]


@lru_cache(maxsize=8)
def _freqs(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (ky, kx, |k|) frequency grids in cycles per pixel for a real FFT of ``size``."""
    ky = sfft.fftfreq(size).astype(np.float32)[:, None]
    kx = sfft.rfftfreq(size).astype(np.float32)[None, :]
    k = np.sqrt(ky**2 + kx**2)
    return ky, kx, k


@lru_cache(maxsize=8)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (x, y) pixel-coordinate grids (float32, read-only) of shape ``(size, size)``."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def white_spectrum(rng: np.random.Generator, size: int) -> np.ndarray:
    """Real-FFT spectrum of a ``size`` x ``size`` unit Gaussian white-noise image."""
    return sfft.rfft2(rng.standard_normal((size, size), dtype=np.float32), workers=1)


def filtered_field(spectrum: np.ndarray, kernel: np.ndarray, size: int) -> np.ndarray:
    """Inverse-transform ``spectrum * kernel`` and normalise to zero mean, unit std."""
    field = sfft.irfft2(spectrum * kernel, s=(size, size), workers=1)
    field -= field.mean()
    std = field.std()
    if std > 0:
        field /= std
    return field.astype(np.float32, copy=False)


def bandpass_kernel(size: int, scale_px: float, rel_width: float = 0.35) -> np.ndarray:
    """Log-Gaussian annulus in |k| centred on the spatial scale ``scale_px`` (pixels)."""
    _, _, k = _freqs(size)
    k0 = 1.0 / max(scale_px, 2.0)
    with np.errstate(divide="ignore"):
        lk = np.log(np.where(k > 0, k, 1e-9) / k0)
    kern = np.exp(-0.5 * (lk / rel_width) ** 2).astype(np.float32)
    kern[0, 0] = 0.0
    return kern


def lowpass_kernel(size: int, scale_px: float) -> np.ndarray:
    """Gaussian low-pass that keeps structures larger than about ``scale_px`` pixels."""
    _, _, k = _freqs(size)
    return np.exp(-0.5 * (k * scale_px) ** 2).astype(np.float32)


def powerlaw_kernel(size: int, beta: float, outer_px: float) -> np.ndarray:
    """Amplitude filter giving a field of power spectrum ``(k^2 + k0^2)^(-beta / 2)``, ``k0 = 1 / outer_px``.

    A scale-free texture (all scales contribute, the larger more), flattened beyond ``outer_px``.
    """
    _, _, k = _freqs(size)
    k0 = 1.0 / max(outer_px, 2.0)
    kern = ((k * k + k0 * k0) ** (-0.25 * beta)).astype(np.float32)
    kern[0, 0] = 0.0
    return kern


def anisotropic_kernel(size: int, angle: float, length_px: float, width_px: float) -> np.ndarray:
    """Gaussian filter elongated along ``angle`` (radians from +x): makes thread-like noise."""
    ky, kx, _ = _freqs(size)
    c, s = float(np.cos(angle)), float(np.sin(angle))
    a = 2.0 * np.pi**2
    k_par = (kx * (c * length_px) + ky * (s * length_px)) ** 2
    k_perp = (ky * (c * width_px) - kx * (s * width_px)) ** 2
    kern = np.exp(-a * (k_par + k_perp))
    kern[0, 0] = 0.0
    return kern


def streaks(
    field: np.ndarray, dx: np.ndarray, dy: np.ndarray, length_px: float, n_samples: int = 7, box: bool = False
) -> np.ndarray:
    """Smear ``field`` along a direction field (unit vectors ``dx``, ``dy``) over ``length_px``.

    A straight-line line-integral convolution: each output pixel is the triangle-weighted
    mean (plain mean if ``box``) of ``n_samples`` nearest-pixel samples of ``field`` on the
    segment of length ``length_px`` through it along its own direction (periodic edges). Applied to isotropic
    noise of the thread width, it makes threads of any continuous orientation; a steerable
    blend of a few fixed-orientation anisotropic filters (this module's former approach)
    superposes those orientations, which shows as crossing sticks and star-shaped cells. Written by hand because
    neither scipy nor scikit-image has a line-integral convolution; one gather per sample
    from a wrap-padded copy keeps it at about 2 ms per sample for 512 x 512.
    Returns a float32 field of zero mean and unit standard deviation.
    """
    ny, nx = field.shape
    pad = int(np.ceil(0.5 * float(length_px))) + 2
    padded = np.pad(np.asarray(field, dtype=np.float32), pad, mode="wrap")
    flat = padded.ravel()
    width = padded.shape[1]
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float32) if ny != nx else pixel_grid(ny)[::-1]
    base_x = x + np.float32(pad + 0.5)  # + 0.5 then truncation = rounding (all positive)
    base_y = y + np.float32(pad + 0.5)
    out = np.zeros((ny, nx), np.float32)
    offsets = np.linspace(-0.5, 0.5, n_samples) * float(length_px)
    weights = np.ones(n_samples) if box else 1.0 - np.abs(np.linspace(-1.0, 1.0, n_samples + 2)[1:-1])
    for off, w in zip(offsets, weights):
        iy = (base_y + np.float32(off) * dy).astype(np.int32)
        iy *= width
        iy += (base_x + np.float32(off) * dx).astype(np.int32)
        out += np.float32(w) * flat[iy]
    out -= out.mean()
    std = out.std()
    if std > 0:
        out /= std
    return out


def dense_streaks(field: np.ndarray, dx: np.ndarray, dy: np.ndarray, length_px: float, step_px: float) -> np.ndarray:
    """:func:`streaks` over ``length_px`` with samples at most ``step_px`` apart, in two passes.

    Samples spaced by more than about a third of the period of ``field``'s texture let
    stripes across the threads through (a ladder pattern). One pass of 5 samples ``length / 4``
    apart, then a box of ``n`` samples ``length / (4 n)`` apart, which cancels the first
    ``n - 1`` harmonics of the first pass's comb: the samples of the two together are
    ``length / (4 n) <= step_px`` apart, for ``5 + n`` gathers instead of ``length / step``.
    """
    spacing = 0.25 * length_px
    n_fine = max(int(np.ceil(spacing / max(step_px, 0.5))), 2)
    coarse = streaks(field, dx, dy, length_px, n_samples=5)
    return streaks(coarse, dx, dy, spacing * (n_fine - 1) / n_fine, n_samples=n_fine, box=True)


def fft_blur(image: np.ndarray, sigma_px: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Gaussian blur of ``sigma_px`` plus a sub-pixel shift (dy, dx), in one FFT pair."""
    size_y, size_x = image.shape
    ky = sfft.fftfreq(size_y)
    kx = sfft.rfftfreq(size_x)
    a = 2.0 * np.pi**2 * sigma_px**2
    ty = (np.exp(-a * ky**2) * np.exp(-2j * np.pi * ky * shift[0])).astype(np.complex64)
    tx_ = (np.exp(-a * kx**2) * np.exp(-2j * np.pi * kx * shift[1])).astype(np.complex64)
    transfer = ty[:, None] * tx_[None, :]  # separable Gaussian and shift: one outer product
    spec = sfft.rfft2(image.astype(np.float32, copy=False), workers=1)
    return sfft.irfft2(spec * transfer, s=image.shape, workers=1).astype(np.float32, copy=False)


def noise_1d(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Periodic 1-D Gaussian noise of ``n`` samples correlated over ``scale`` samples (unit std)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    k = np.fft.rfftfreq(n)
    spec *= np.exp(-0.5 * (k * scale * 2.0) ** 2)
    spec[0] = 0.0
    out = np.fft.irfft(spec, n)
    return (out / (out.std() + 1e-12)).astype(np.float32)


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 transition for ``x`` from 0 to 1 (clipped outside)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def curve_points(
    rng: np.random.Generator,
    centre: tuple[float, float],
    angle: float,
    length: float,
    curvature: float,
    wiggle: float,
    step: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample a gently curved line (a parabola with a sinusoidal wiggle).

    Returns x, y (pixels) and the normalised arc parameter ``s`` in [-1, 1].
    ``curvature`` is the sagitta as a fraction of ``length``; ``wiggle`` an amplitude in pixels.
    """
    n = max(int(length / step), 2)
    s = np.linspace(-1.0, 1.0, n, dtype=np.float32)
    along = s * length / 2
    phase = rng.uniform(0, 2 * np.pi)
    nwig = rng.uniform(0.5, 2.0)
    across = curvature * length * (s**2 - 0.5) + wiggle * np.sin(np.pi * nwig * s + phase)
    c, sn = np.cos(angle), np.sin(angle)
    x = centre[0] + along * c - across * sn
    y = centre[1] + along * sn + across * c
    return x.astype(np.float32), y.astype(np.float32), s


class CurveField:
    """Distance from every pixel to a set of rasterised curves, and each curve's attributes there.

    Built with one ``scipy.ndimage.distance_transform_edt`` call: the nearest curve pixel
    gives the distance, that pixel's half-width and its arc parameter ``s``.
    """

    def __init__(self, distance: np.ndarray, width: np.ndarray, param: np.ndarray, label: np.ndarray):
        self.distance = distance
        self.width = width
        self.param = param
        self.label = label

    def profile(self) -> np.ndarray:
        """Gaussian cross-section ``exp(-(d / w)^2)`` of the curves (1 on the spine)."""
        return np.exp(-((self.distance / np.maximum(self.width, 0.3)) ** 2)).astype(np.float32)


def curve_field(
    size: int, curves: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], label_offset: int = 0
) -> CurveField:
    """Rasterise curves ``(x, y, s, halfwidth)`` and compute a :class:`CurveField`.

    Later curves overwrite earlier ones where they share a pixel. Points outside the image
    are dropped; if nothing lands inside, the distance is everywhere large.
    """
    width_img = np.zeros((size, size), np.float32)
    param_img = np.zeros((size, size), np.float32)
    label_img = np.zeros((size, size), np.int16)
    background = np.ones((size, size), bool)
    for i, (x, y, s, hw) in enumerate(curves):
        xi = np.rint(x).astype(np.int64)
        yi = np.rint(y).astype(np.int64)
        ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
        xi, yi = xi[ok], yi[ok]
        background[yi, xi] = False
        width_img[yi, xi] = np.broadcast_to(hw, x.shape)[ok]
        param_img[yi, xi] = s[ok]
        label_img[yi, xi] = i + 1 + label_offset
    if background.all():
        big = np.full((size, size), 1e6, np.float32)
        return CurveField(big, np.ones_like(big), np.zeros_like(big), np.zeros((size, size), np.int16))
    dist, (iy, ix) = ndimage.distance_transform_edt(background, return_indices=True)
    return CurveField(dist.astype(np.float32), width_img[iy, ix], param_img[iy, ix], label_img[iy, ix])
