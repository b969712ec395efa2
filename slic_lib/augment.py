"""Physically motivated domain randomisation of training images (issue 12, item 1).

The default model learns from simulated Hinode/SOT H-alpha images but is meant to recognise
real ones, such as BBSO's seeing-limited, JPEG-compressed full-disc images. Each training
image is re-observed by a random instrument: the chain below runs on the *preprocessed*
tensors inside :func:`slic_lib.train.fit`, image by image with its own random parameters.

Why on the tensors and not at dataset-build time: the dataset file holds preprocessed images
(:mod:`slic_lib.dataset`); randomising raw images there would mean several stored copies of
every image, a fixed small set of instruments seen again every epoch, and a rebuilt dataset
for every change of a range. On the tensors every epoch sees new instruments, the stored
data stay those of the paper's pipeline, and the randomness comes from the epoch's
generator, seeded from ``(seed, epoch)``, so a resumed run is exact. The price: the chain
starts from images already resampled to the input size, so resolutions finer than the input
pixel cannot be simulated (they need none: the preprocessing removes them anyway).

The chain and its ranges (the defaults of :class:`DomainRandomisation`)
------------------------------------------------------------------------
1. **Contrast**: a standardised image becomes an intensity ``1 + c * x`` with RMS contrast
   ``c`` in 0.06-0.35: quiet-Sun H-alpha line-centre RMS contrast is about 0.1-0.2, an
   active region or a filament field up to about 0.3 (filaments at 0.6-0.8 of the quiet Sun).
   An image preprocessed ``"relative"`` to its disc level is an intensity already
   (``1 + RELATIVE_SCALE * x``) and keeps its own contrast: that contrast is what tells a
   filament from the quiet Sun, so only stage 5's response curve varies it.
2. **Limb darkening**: a smooth large-scale gradient ``1 + g * (unit ramp) + q * r^2`` with
   ``|g|`` up to 0.15 across the field and ``|q|`` up to 0.05: H-alpha limb darkening falls
   by about 30 % from disc centre to mu = 0.3, so a 100-250" field near the limb carries a
   10-20 % ramp, and a flat-fielding residual or vignetting a few per cent of curvature.
3. **Resolution (seeing + telescope PSF)**: the resolution of the resolution test's PSF
   (:func:`slic_lib.degrade.psf_kernel`, Gaussian, added FWHM by
   :func:`slic_lib.degrade.added_fwhm`) is drawn log-uniformly from SOT's 0.3" to 2.5"
   (ground-based full-disc H-alpha under average to poor seeing), with the input pixel
   scale of a simulated image, whose field of view is 50-200" over the input size.
4. **Pixel scale**: the image is binned by a factor 1-2 (area-weighted, as
   :func:`slic_lib.degrade.resample_area`) and interpolated back to the input size, as the
   preprocessing does with a coarser camera's image (BBSO: 1"/px, SOT: 0.08-0.16"/px).
5. **Exposure and response**: a gamma of 0.6-1.7 (a non-linear camera response or display
   stretch, as BBSO's contrast-stretched products) and saturation of the brightest 0-1 % of
   the pixels (over-exposure).
6. **Noise**: Gaussian, 0-5 % of the image's standard deviation (photon and read noise of a
   well-exposed 8- to 12-bit frame).
7. **Compression**: the image is byte-scaled to 0-255 and JPEG-compressed (8x8 DCT blocks,
   the standard luminance quantisation table at quality 30-95), as the BBSO images are
   JPEGs; the blocks are 8 pixels of an image at twice the input size, i.e. 4 input pixels,
   as a 2048-pixel BBSO JPEG's blocks are after a 128-pixel crop is shrunk to 64.
8. The result is standardised per image again, or expressed relative to its disc level again
   (:func:`slic_lib.preprocess.disc_level`), as :mod:`slic_lib.preprocess` does.

Each stage is applied to an image with probability ``p_stage``, and the whole chain to a
share ``p_image`` of the images, so the network also keeps seeing the clean simulated images
(the simulated validation accuracy must stay at or above 0.99).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from .degrade import SOT_RESOLUTION, added_fwhm, psf_kernel
from .errors import SlicError
from .preprocess import RELATIVE_SCALE

# The standard JPEG luminance quantisation table (ITU-T T.81, Annex K, Table K.1).
_JPEG_TABLE = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=torch.float32)


def _dct_matrix(n: int = 8) -> torch.Tensor:
    """The orthonormal DCT-II matrix (rows: frequencies), as JPEG uses on 8x8 blocks."""
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return torch.tensor(m, dtype=torch.float32)


_DCT = _dct_matrix()
# the 64 DCT-II basis images: (frequency u*8+v, in the table's row-major order; pixel i*8+j of a block)
_DCT_BASIS = torch.einsum("ui,vj->uvij", _DCT, _DCT).reshape(64, 64)


@dataclass(frozen=True)
class DomainRandomisation:
    """Ranges of the randomised instrument (see the module docstring for each one's reason)."""

    p_image: float = 0.8
    p_stage: float = 0.7
    contrast: tuple[float, float] = (0.06, 0.35)
    gradient: float = 0.15
    curvature: float = 0.05
    resolution_arcsec: tuple[float, float] = (0.3, 2.5)
    fov_arcsec: tuple[float, float] = (50.0, 200.0)
    binning: tuple[float, float] = (1.0, 2.0)
    gamma: tuple[float, float] = (0.6, 1.7)
    saturation: float = 0.01
    noise: float = 0.05
    jpeg_quality: tuple[float, float] = (30.0, 95.0)

    def __post_init__(self) -> None:
        if not (0 <= self.p_image <= 1 and 0 <= self.p_stage <= 1):
            raise SlicError("the randomisation probabilities must lie between 0 and 1.")
        if self.resolution_arcsec[0] <= 0 or self.binning[0] < 1 or not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise SlicError("resolution must be positive, binning at least 1 and JPEG quality within 1-100.")

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, DomainRandomisation | None] = {
    "off": None,
    "full": DomainRandomisation(),
    # smoke: the same chain on fewer images, so CI exercises it without slowing the tiny runs
    "cheap": replace(DomainRandomisation(), p_image=0.5),
}
"""Named settings of :class:`slic_lib.train.TrainConfig`'s ``randomise``."""


def preset(name: str) -> DomainRandomisation | None:
    """The named randomisation (None for ``"off"``)."""
    if name not in PRESETS:
        raise SlicError(f"unknown domain randomisation {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply a random element of the square's symmetry group (flips, 90-degree turns) per image."""
    n = x.shape[0]
    flags = torch.rand((n, 3), generator=generator) < 0.5
    flags = flags.to(x.device)
    x = torch.where(flags[:, 0, None, None, None], x.flip(-1), x)
    x = torch.where(flags[:, 1, None, None, None], x.flip(-2), x)
    return torch.where(flags[:, 2, None, None, None], x.transpose(-1, -2), x)


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, log: bool = False) -> torch.Tensor:
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    if log:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def _standardise(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(-1, -2), keepdim=True)
    std = x.std(dim=(-1, -2), keepdim=True).clamp_min(1e-6)
    return (x - mean) / std


def _blur(x: torch.Tensor, fwhm_px: np.ndarray) -> torch.Tensor:
    """Convolve each image with its own PSF (the resolution test's kernel), reflecting at the borders."""
    kernels = [np.asarray(psf_kernel(max(float(f), 1e-3)).array, dtype=np.float32) if f > 0.05 else np.ones((1, 1), np.float32) for f in fwhm_px]
    size = max(k.shape[0] for k in kernels)
    size = min(size, 2 * (x.shape[-1] // 2) - 1)
    stack = np.zeros((len(kernels), 1, size, size), np.float32)
    for i, k in enumerate(kernels):
        if k.shape[0] > size:  # trim a kernel wider than the image (renormalised below)
            c = (k.shape[0] - size) // 2
            k = k[c : c + size, c : c + size]
        o = (size - k.shape[0]) // 2
        stack[i, 0, o : o + k.shape[0], o : o + k.shape[1]] = k / k.sum()
    pad = size // 2
    xp = F.pad(x.reshape(1, -1, *x.shape[-2:]), (pad, pad, pad, pad), mode="reflect")
    return F.conv2d(xp, torch.from_numpy(stack).to(x), groups=len(kernels)).reshape(x.shape)


def _binned_size(size: int, factor: float) -> int:
    """The side of an image of ``size`` pixels binned by ``factor`` (at least 2)."""
    return max(2, round(size / factor))


def _bin_each(x: torch.Tensor, factors: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """Bin image ``i`` by ``factors[i]`` where ``on[i]`` (area-weighted), and interpolate it back to the input size (bilinear).

    Both interpolations treat every image of a batch alone, so a group gives each image the
    values it gets alone, in one call per size instead of two per image.
    """
    size = x.shape[-1]
    out = x.clone()
    small = torch.tensor([_binned_size(size, float(f)) if flag else size for f, flag in zip(factors, on)])
    for s in small.unique().tolist():
        if s >= size:
            continue
        idx = torch.nonzero(small == s).flatten().to(x.device)
        down = F.interpolate(x[idx], size=(s, s), mode="area")
        out[idx] = F.interpolate(down, size=(size, size), mode="bilinear", align_corners=False)
    return out


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG-like compression of images in 0-255: 8x8 block DCT, quantisation by the standard
    luminance table scaled to ``quality`` (per image, 1-100, as libjpeg scales it), inverse DCT.

    Not a codec (no chroma, no entropy coding: lossless steps), but the lossy part of one, on
    tensors and batched, because it runs on every training batch; an image codec such as
    Pillow's would mean a round trip through bytes per image.

    Parameters
    ----------
    x : Tensor
        ``(N, 1, H, W)``, H and W multiples of 8, values 0-255.
    quality : Tensor
        ``(N,)`` JPEG quality factors.
    """
    q = quality.to(torch.float32)
    scale = torch.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q) / 100.0
    table = (_JPEG_TABLE.reshape(1, 64, 1, 1) * scale[:, None, None, None]).clamp_min(1.0).to(x)  # (N, 64, 1, 1)
    basis = _DCT_BASIS.to(x)  # (64 frequencies, 64 pixels of a block)
    # blocks as 64 channels (pixel_unshuffle), the DCT as one product with the basis, and back
    coef = torch.einsum("fp,nphw->nfhw", basis, _blocks(x - 128.0))  # (N, 64, H/8, W/8)
    coef = torch.round(coef / table) * table
    return (_unblocks(torch.einsum("fp,nfhw->nphw", basis, coef)) + 128.0).clamp(0.0, 255.0)


def _blocks(x: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` -> ``(N, 64, H/8, W/8)``: :func:`torch.nn.functional.pixel_unshuffle` by 8, the same values 2.5x faster here."""
    n, _, h, w = x.shape
    return x.reshape(n, h // 8, 8, w // 8, 8).permute(0, 2, 4, 1, 3).reshape(n, 64, h // 8, w // 8)


def _unblocks(c: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`_blocks` (:func:`torch.nn.functional.pixel_shuffle` by 8)."""
    n, _, h, w = c.shape
    return c.reshape(n, 8, 8, h, w).permute(0, 3, 1, 4, 2).reshape(n, 1, h * 8, w * 8)


def _disc_level(x: torch.Tensor) -> torch.Tensor:
    """Per image ``(N, 1, 1, 1)``: :func:`slic_lib.preprocess.disc_level` on tensors."""
    flat = x.reshape(x.shape[0], -1)
    k = max(1, math.ceil(0.99 * flat.shape[1]))
    top = flat.kthvalue(k, dim=1).values.clamp_min(1e-6)
    masked = torch.where(flat > 0.3 * top[:, None], flat, torch.full_like(flat, float("nan")))
    return masked.nanmedian(dim=1).values.reshape(-1, 1, 1, 1)


def _top_quantile(flat: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per row of ``flat`` ``(N, M)``, its quantile ``q[i]`` (linear interpolation, as :func:`torch.quantile`).

    Only the values above the lowest level are ordered (:func:`torch.topk`): saturation asks
    for levels of 0.99 and up, and :func:`torch.quantile` with a vector of levels computes
    every level for every row (an N x N table), a quarter of the randomisation's time.
    """
    m = flat.shape[1]
    pos = q.to(torch.float64).clamp(0.0, 1.0) * (m - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    frac = (pos - lo).to(flat)
    top = flat.topk(m - int(lo.min()), dim=1).values  # descending: top[:, j] is the (m-1-j)-th smallest
    a = top.gather(1, (m - 1 - lo)[:, None].to(flat.device))[:, 0]
    b = top.gather(1, (m - 1 - hi)[:, None].to(flat.device))[:, 0]
    return a + frac.to(flat.device) * (b - a)


def randomise_batch(x: torch.Tensor, generator: torch.Generator, settings: DomainRandomisation, units: str = "standard") -> torch.Tensor:
    """Re-observe a batch of preprocessed images ``(N, 1, S, S)`` with random instruments.

    All randomness comes from ``generator`` (CPU), in a fixed order, so a given generator
    state gives the same images; every image's instrument is drawn, whether or not the image
    is among the share ``p_image`` that is re-observed, so an image's instrument does not
    depend on which others were chosen, and only the chosen ones are computed. Returns images
    of the same shape in the same ``units``: the preprocessing mode
    (:class:`slic_lib.preprocess.PreprocessConfig`) they were made with. ``"standard"``
    images carry no contrast, so stage 1 draws one; ``"relative"`` images are intensities
    relative to the disc already (``1 + RELATIVE_SCALE * x``), so their contrast is kept and
    varied only by the response (stage 5's gamma), and the result is expressed relative to
    its disc level again instead of standardised.
    """
    if units not in ("standard", "relative"):
        raise SlicError(f"domain randomisation works on 'standard' or 'relative' images, not {units!r}.")
    s = settings
    n, size = x.shape[0], x.shape[-1]
    # every draw, for every image, in the order of the stages
    chosen = torch.rand(n, generator=generator) < s.p_image
    stage = torch.rand((n, 7), generator=generator) < s.p_stage
    c = _uniform(n, *s.contrast, generator)
    theta = _uniform(n, 0.0, 2 * math.pi, generator)
    g = _uniform(n, -s.gradient, s.gradient, generator) * stage[:, 0]
    q = _uniform(n, -s.curvature, s.curvature, generator) * stage[:, 0]
    scale = _uniform(n, *s.fov_arcsec, generator, log=True) / size  # arcsec per input pixel
    target = _uniform(n, *s.resolution_arcsec, generator, log=True)
    factors = _uniform(n, *s.binning, generator)
    gamma = _uniform(n, *s.gamma, generator, log=True)
    sat = _uniform(n, 0.0, s.saturation, generator) * stage[:, 4]
    sigma = _uniform(n, 0.0, s.noise, generator) * stage[:, 5]
    noise = torch.randn(x.shape, generator=generator)
    quality = _uniform(n, *s.jpeg_quality, generator)

    keep = torch.nonzero(chosen).flatten()
    if len(keep) == 0:
        return x
    dev = x.device
    out = x[keep.to(dev)].to(torch.float32)
    stage, c, theta, g, q, scale, target, factors, gamma, sat, sigma, noise, quality = (
        t[keep] for t in (stage, c, theta, g, q, scale, target, factors, gamma, sat, sigma, noise, quality))
    k = len(keep)

    # 1. contrast: an intensity image around 1 (drawn for standardised images; kept for relative ones)
    c = c.to(out) if units == "standard" else torch.full((k,), RELATIVE_SCALE).to(out)
    out = (1.0 + c[:, None, None, None] * out).clamp_min(0.02)
    # 2. limb darkening: a ramp in a random direction and a radial curvature
    axis = torch.linspace(-1.0, 1.0, size, device=dev)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    ramp = torch.cos(theta).to(out)[:, None, None] * xx + torch.sin(theta).to(out)[:, None, None] * yy
    out = out * (1.0 + g.to(out)[:, None, None, None] * ramp[:, None] + q.to(out)[:, None, None, None] * (xx**2 + yy**2))
    out = out.clamp_min(0.02)
    # 3. resolution: the resolution test's PSF, from the input pixel's resolution to 0.3-2.5"
    current = torch.clamp(scale * 2.0, min=SOT_RESOLUTION)  # what an anti-aliased resize leaves
    fwhm = [added_fwhm(float(cur / sc), max(float(t / cur), 1.0)) if on else 0.0
            for cur, sc, t, on in zip(current, scale, target, stage[:, 1])]
    out = _blur(out, np.asarray(fwhm))
    # 4. pixel scale: binning
    out = _bin_each(out, factors, stage[:, 2])
    # 5. exposure and response: gamma, then saturation of the brightest pixels
    gamma = torch.where(stage[:, 3], gamma, torch.ones_like(gamma)).to(out)
    out = out ** gamma[:, None, None, None]
    top = _top_quantile(out.reshape(k, -1), 1.0 - sat)
    out = torch.minimum(out, top[:, None, None, None])
    # 6. noise
    out = out + sigma.to(out)[:, None, None, None] * out.std(dim=(-1, -2), keepdim=True) * noise.to(out)
    # 7. 8-bit JPEG on an image of twice the input size (blocks of 4 input pixels)
    lo = out.amin(dim=(-1, -2), keepdim=True)
    hi = out.amax(dim=(-1, -2), keepdim=True)
    byte = (out - lo) / (hi - lo).clamp_min(1e-6) * 255.0
    big = 2 * size + (-2 * size) % 8
    up = F.interpolate(byte, size=(big, big), mode="bilinear", align_corners=False)
    compressed = F.interpolate(torch.round(jpeg(up, quality)), size=(size, size), mode="area")
    out = torch.where(stage[:, 6, None, None, None].to(dev), compressed, byte)

    if units == "standard":
        out = _standardise(out)
    else:  # 8. back to the disc level (the byte scaling's offset is 0 for a frame with sky, small otherwise: kept)
        out = (out + lo / (hi - lo).clamp_min(1e-6) * 255.0).clamp_min(0.0)
        out = (out / _disc_level(out).clamp_min(1e-6) - 1.0) / RELATIVE_SCALE
    result = x.clone()
    result[keep.to(dev)] = out.to(x.dtype)
    return result
