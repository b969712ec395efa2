"""Solar features as images of relative intensity (quiet Sun = 1), independent of the instrument.

Geometry is specified in arcseconds (so the same sunspot can be drawn at SOT's and AIA's pixel
scales); contrasts are arguments, because a sunspot's umbra, a plage patch or the network differ
between H-alpha and the AIA UV/EUV channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import textures as tx

__all__ = [
    "SpotSpec",
    "random_spot_group",
    "spot_factor",
    "chromosphere",
    "plage",
    "limb_geometry",
    "limb_darkening",
    "prominence",
]


@dataclass
class SpotSpec:
    """One sunspot or pore: position (arcsec from the image centre), size and shape.

    ``radius`` is the outer penumbral radius (the umbral radius for a pore);
    ``shape`` holds (amplitude, phase) pairs of the boundary's harmonics 2, 3, ...
    """

    x: float
    y: float
    radius: float
    umbra_frac: float = 0.45
    pore: bool = False
    light_bridge: float | None = None
    shape: list[tuple[float, float]] = field(default_factory=list)
    fibril_seed: int = 0


def random_spot_group(rng: np.random.Generator, fov: float, n_max: int = 4, pore_only: bool = False,
                      pore_radius: tuple[float, float] = (1.0, 3.5), n_min: int = 1) -> list[SpotSpec]:
    """A random single spot, group of spots, or pores inside a field of view of ``fov`` arcsec.

    ``n_min`` spots at least; pores have a radius in ``pore_radius`` arcsec.
    """
    n = 1 if (n_min <= 1 and rng.random() < 0.45) else int(rng.integers(max(n_min, 2), n_max + 1))
    spots = []
    lead_r = float(rng.uniform(0.06, 0.2) * fov) if not pore_only else 0.0
    axis = rng.uniform(0, np.pi)
    for i in range(n):
        pore = pore_only or (i > 0 and rng.random() < 0.45)
        if pore:
            r = float(rng.uniform(*pore_radius))
        else:
            r = lead_r * (1.0 if i == 0 else rng.uniform(0.35, 0.8))
        dist = 0.0 if i == 0 else rng.uniform(0.15, 0.4) * fov
        ang = axis + rng.normal(0, 0.4) + (np.pi if i % 2 else 0.0)
        cx0 = rng.uniform(-0.15, 0.15) * fov
        cy0 = rng.uniform(-0.15, 0.15) * fov
        spots.append(
            SpotSpec(
                x=float(cx0 + dist * np.cos(ang)),
                y=float(cy0 + dist * np.sin(ang)),
                radius=r,
                umbra_frac=float(rng.uniform(0.3, 0.55)),
                pore=pore,
                light_bridge=float(rng.uniform(0, np.pi)) if (not pore and rng.random() < 0.3) else None,
                shape=[(float(rng.uniform(0, 0.12 / m**0.5)), float(rng.uniform(0, 2 * np.pi))) for m in range(2, 7)],
                fibril_seed=int(rng.integers(2**31)),
            )
        )
    return spots


def spot_factor(
    size: int,
    cdelt: float,
    spots: list[SpotSpec],
    umbra: float,
    penumbra: float,
    filament_contrast: float,
    superpenumbra: float = 0.0,
    centre_px: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative intensity factor of a set of spots, and the normalised radius map.

    The factor is 1 far from spots, ``penumbra`` in the penumbra (with radial filaments of
    relative contrast ``filament_contrast``) and ``umbra`` in the umbra. ``superpenumbra`` darkens
    radial fibrils outside the penumbra (H-alpha superpenumbral fibrils). The second array is
    min over spots of r / R(phi) (< 1 inside a penumbra), used to place plage around spots.
    """
    x, y = tx.pixel_grid(size)
    cx0, cy0 = centre_px if centre_px is not None else ((size - 1) / 2, (size - 1) / 2)
    factor = np.ones((size, size), np.float32)
    umap = np.full((size, size), 99.0, np.float32)
    for sp in spots:
        r_px = sp.radius / cdelt
        reach = r_px * (2.6 if superpenumbra else 1.3) + 3
        cx = cx0 + sp.x / cdelt
        cy = cy0 + sp.y / cdelt
        x0, x1 = int(max(cx - reach, 0)), int(min(cx + reach + 1, size))
        y0, y1 = int(max(cy - reach, 0)), int(min(cy + reach + 1, size))
        if x0 >= x1 or y0 >= y1:
            continue
        np.minimum(umap, np.hypot(x - cx, y - cy) / r_px, out=umap)  # plage placement needs u everywhere
        dx = x[y0:y1, x0:x1] - cx
        dy = y[y0:y1, x0:x1] - cy
        r = np.hypot(dx, dy)
        phi = np.arctan2(dy, dx)
        edge = np.ones_like(r)
        for m, (amp, ph) in enumerate(sp.shape, start=2):
            edge += amp * np.cos(m * phi + ph)
        u = r / (r_px * edge)
        umap[y0:y1, x0:x1] = np.minimum(umap[y0:y1, x0:x1], u)
        srng = np.random.default_rng(sp.fibril_seed)
        soft = max(0.6 / max(r_px, 1.0), 0.04)
        if sp.pore:
            f = 1.0 - (1.0 - (umbra + 0.25 * (1 - umbra))) * tx.smoothstep((1.0 - u) / (2 * soft) + 0.5)
        else:
            nfil = 1024
            fil = tx.noise_1d(srng, nfil, scale=nfil / max(2 * np.pi * r_px / 1.5, 8))
            fil2 = tx.noise_1d(srng, nfil, scale=nfil / max(2 * np.pi * r_px / 4.0, 8))
            idx = ((phi + np.pi) / (2 * np.pi) * nfil).astype(np.int32) % nfil
            pen_level = penumbra * (1.0 + filament_contrast * fil[idx])
            in_pen = tx.smoothstep((1.0 - u) / (2 * soft) + 0.5)
            uf = sp.umbra_frac * (1.0 + 0.1 * fil2[idx])
            in_umb = tx.smoothstep((uf - u) / (2 * soft * 1.5) + 0.5)
            if sp.light_bridge is not None:
                d_lb = np.abs(dx * np.sin(sp.light_bridge) - dy * np.cos(sp.light_bridge))
                in_umb = in_umb * tx.smoothstep(d_lb / max(0.08 * r_px, 1.0) - 0.3)
            f = 1.0 - (1.0 - pen_level) * in_pen
            f = f - (f - umbra) * in_umb
            if superpenumbra:
                outside = np.clip(u - 1.0, 0, None)
                sp_fib = np.clip(fil2[idx] - 0.3, 0, None) * np.exp(-outside / 0.4) * (u > 1.0)
                f = f * (1.0 - superpenumbra * sp_fib)
        factor[y0:y1, x0:x1] *= f.astype(np.float32)
    return factor, umap


def chromosphere(
    rng: np.random.Generator,
    size: int,
    cdelt: float,
    network_contrast: float,
    fibril_contrast: float,
    grain_contrast: float = 0.04,
    cell_arcsec: float = 22.0,
    lane_width: float = 0.55,
    clump_arcsec: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Quiet chromosphere: bright network and, in H-alpha, the dark fibrils and mottles around it.

    With ``fibril_contrast == 0`` (the AIA UV/EUV channels) the image is the bright network
    (``lanes`` modulated by ``clump_arcsec`` clumps) plus ``grain_contrast`` fine grains. With
    ``fibril_contrast > 0`` it is H-alpha line centre, see :func:`_halpha_chromosphere`.

    Returns the intensity (mean near 1) and the network-lane map (0..1), which the AIA
    channels reuse for their bright network.
    """
    if fibril_contrast > 0:
        return _halpha_chromosphere(rng, size, cdelt, network_contrast, fibril_contrast, cell_arcsec)
    # one white-noise spectrum serves every band: the filters barely overlap, so the bands are
    # nearly independent, and each saves a noise draw and a forward FFT
    spec = tx.white_spectrum(rng, size)
    net = tx.filtered_field(spec, tx.bandpass_kernel(size, cell_arcsec / cdelt, 0.3), size)
    lanes = np.exp(-((net / lane_width) ** 2))
    clumps = tx.filtered_field(spec, tx.bandpass_kernel(size, max(clump_arcsec / cdelt, 3.0), 0.5), size)
    grains = tx.filtered_field(spec, tx.bandpass_kernel(size, max(1.2 / cdelt, 2.5), 0.5), size)
    bright = lanes * np.clip(0.3 + 0.8 * clumps, 0, None)
    image = 1.0 + network_contrast * (bright - bright.mean()) + grain_contrast * grains
    return image.astype(np.float32), lanes


def _half_angle(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction (cos theta, sin theta) of the doubled-angle vector (u, v) = r (cos 2 theta, sin 2 theta).

    Half-angle formulas, without arctan2, cos and sin.
    """
    cos2 = u / np.maximum(np.hypot(u, v), np.float32(1e-12))
    dx = np.sqrt(np.clip(0.5 + 0.5 * cos2, 0, 1))
    dy = np.copysign(np.sqrt(np.clip(0.5 - 0.5 * cos2, 0, 1)), v)
    return dx, dy


def _halpha_chromosphere(
    rng: np.random.Generator, size: int, cdelt: float, network_contrast: float, fibril_contrast: float, cell_arcsec: float
) -> tuple[np.ndarray, np.ndarray]:
    """H-alpha line-centre quiet Sun: a carpet of dark fibrils fanning out from diffuse bright network.

    * network: the lanes of a random cell pattern (``cell_arcsec``), broadened into diffuse
      patches (no beads: at 0.3" the H-alpha network is smooth bright rosette cores);
    * fibrils: thin dark threads everywhere, steered by a direction field that points away
      from the network near it (mottles fanning out of rosettes) and follows a smooth random
      large-scale direction inside cells (so cell centres show no star-shaped singularities);
      darker and denser near the network;
    * bushes: the threads grouped in bundles of similar darkness, 1-2.5" across and 10-25"
      long, along a slower-turning direction field;
    * a weak scale-free brightness modulation (power ~ k^-2.4 up to 100"), the mottle
      clusters and network patches seen at all scales in full-disc H-alpha.
    Dark threads of 0.3-0.6" width have strong contrast at SOT's resolution but average out at
    seeing-limited 2"; the bushes do not, and make the elongated mottle texture of full-disc
    H-alpha quiet Sun at a few per cent rms contrast (BBSO: 0.040; simulated 0.039,
    :func:`slic_lib.realism.simulator_vs_bbso`).
    """
    spec = tx.white_spectrum(rng, size)
    cell_px = cell_arcsec / cdelt
    net = tx.filtered_field(spec, tx.bandpass_kernel(size, cell_px, 0.3), size)
    large = tx.filtered_field(spec, tx.lowpass_kernel(size, 1.6 * cell_px), size)
    clumps = tx.filtered_field(spec, tx.bandpass_kernel(size, max(5.0 / cdelt, 3.0), 0.45), size)
    lanes = np.exp(-((net / 0.8) ** 2))
    bright = lanes * lanes * tx.smoothstep((clumps + 0.3) / 2.0)
    # direction field in doubled-angle form: radially away from the bright network patches
    # near them (mottles fanning out of rosettes), a smooth random direction elsewhere
    gy, gx = np.gradient(bright)
    g2 = gx * gx + gy * gy
    gain = float(rng.uniform(2.0, 5.0)) / max(float(g2.mean()), 1e-12)
    phi0 = np.float32(rng.uniform(0, 2 * np.pi))
    phi = np.float32(1.2 * np.pi) * large + phi0  # doubled angle
    dx, dy = _half_angle(gain * (gx * gx - gy * gy) + np.cos(phi), gain * (2 * gx * gy) + np.sin(phi))
    length = max(float(rng.uniform(3.0, 7.0)) / cdelt, 4.0)
    # threads are 0.4" wide; on coarse pixels they are unresolved: draw them 1.5 px wide and
    # weaker by the square root of the widening (what averaging uncorrelated threads gives)
    width = max(0.4 / cdelt, 1.5)
    bush_contrast = float(rng.uniform(0.05, 0.12))
    fibril_contrast *= min(1.0, 0.4 / cdelt / width) ** 0.5
    grain = tx.filtered_field(spec, tx.bandpass_kernel(size, 2.5 * width, 0.5), size)
    fib = tx.dense_streaks(grain, dx, dy, length, step_px=0.8 * width)  # 2.5 width period / 3
    threads = np.where(fib > 0, fib, 0.35 * fib)  # dark threads stand out more than the gaps
    # mottles crowd around the network, in clusters of a few arcsec
    density = (0.4 + 0.6 * np.exp(-((net / 1.4) ** 2))) * (1.0 + 0.5 * np.clip(-clumps, -1.0, 2.0))
    image = 1.0 + network_contrast * (bright - bright.mean())
    image -= fibril_contrast * density * (threads - threads.mean())
    # the threads grow in bushes of similar darkness, 1-2.5" across and 10-25" long: quiet-Sun
    # mottles of 5-10 Mm in clusters and fibrils of up to 20 Mm (Tsiropoula et al. 2012, Space
    # Sci. Rev. 169, 181). Single threads average out at seeing-limited 2", the bushes do not:
    # they are the swirling dark-fibril texture of full-disc H-alpha quiet Sun (BBSO), a few
    # per cent deep, which a network that never saw it takes for small filaments
    # the bushes follow the network less and turn more slowly than the single threads
    phi = np.float32(0.6 * np.pi) * large + phi0
    bx, by = _half_angle(0.3 * gain * (gx * gx - gy * gy) + np.cos(phi), 0.3 * gain * (2 * gx * gy) + np.sin(phi))
    bush_w = max(float(rng.uniform(1.0, 2.5)) / cdelt, 1.5)
    bush_len = max(float(rng.uniform(10.0, 25.0)) / cdelt, 6.0)
    bush_grain = tx.filtered_field(spec, tx.bandpass_kernel(size, 2.5 * bush_w, 0.5), size)
    bushes = tx.dense_streaks(bush_grain, bx, by, bush_len, step_px=0.8 * bush_w)
    bushes = np.where(bushes > 0, bushes, 0.6 * bushes)
    image -= bush_contrast * density * (bushes - bushes.mean())
    image += 0.1 * fibril_contrast * tx.filtered_field(spec, tx.powerlaw_kernel(size, 2.4, 100.0 / cdelt), size)
    return image.astype(np.float32), lanes


def plage(rng: np.random.Generator, size: int, cdelt: float, elongation: float, scale_arcsec: float = 12.0) -> np.ndarray:
    """Patchy plage/active-network brightening in 0..~1.5, optionally elongated along one axis."""
    spec = tx.white_spectrum(rng, size)
    ang = rng.uniform(0, np.pi)
    s = scale_arcsec / cdelt
    blobs = tx.filtered_field(spec, tx.anisotropic_kernel(size, ang, s * (1 + elongation), s), size)
    fine = tx.filtered_field(spec, tx.bandpass_kernel(size, max(3.0 / cdelt, 3.0), 0.5), size)
    mask = tx.smoothstep((blobs - 0.4) / 1.2)
    return (mask * np.clip(0.85 + 0.25 * fine, 0, None)).astype(np.float32)


def limb_geometry(
    size: int, cdelt: float, xcen: float, ycen: float, rsun: float, angle: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Height above the limb (arcsec; negative on the disc) and, if asked, position angle of each pixel."""
    x, y = tx.pixel_grid(size)
    c = (size - 1) / 2
    sx = (x - c) * float(cdelt) + float(xcen)
    sy = (y - c) * float(cdelt) + float(ycen)
    r = np.hypot(sx, sy)
    r -= float(rsun)
    return r, (np.arctan2(sy, sx) if angle else None)


def limb_darkening(height: np.ndarray, rsun: float, u: float) -> np.ndarray:
    """Linear limb-darkening law ``1 - u (1 - mu)`` on the disc (1 off the disc)."""
    r = np.clip((height + float(rsun)) / float(rsun), 0, 1)
    mu = np.sqrt(1.0 - r**2)
    return 1.0 - float(u) * (1.0 - mu)


def prominence(
    rng: np.random.Generator,
    size: int,
    cdelt: float,
    psi: float,
    tang: np.ndarray,
    above: np.ndarray,
    h: np.ndarray,
    t0: float | None = None,
    width: float | None = None,
    height: float | None = None,
) -> np.ndarray:
    """Emission (0..~1) of a threaded prominence standing on the limb.

    ``tang`` is the distance along the limb and ``above`` the height above it (arcsec, per
    pixel); ``psi`` the position angle of the local vertical. Threads run vertically
    (hedgerow) or along the limb at random; a low-pass noise field breaks up the envelope.
    """
    fov = size * cdelt
    t0 = rng.uniform(-0.3, 0.3) * fov if t0 is None else t0
    width = rng.uniform(0.2, 0.7) * fov if width is None else width
    height = rng.uniform(0.12, 0.45) * fov if height is None else height
    lift = rng.uniform(0, 0.3) * height if rng.random() < 0.4 else 0.0
    spec = tx.white_spectrum(rng, size)
    blob = tx.filtered_field(spec, tx.lowpass_kernel(size, 0.1 * fov / cdelt), size)
    env = np.exp(-(((tang - t0) / (width / 2)) ** 2)) * np.exp(-(((above - lift - height / 2) / (height / 1.6)) ** 2))
    shape = tx.smoothstep(env * (1.8 + 0.9 * blob) - 0.35) * (h > -1.0) * np.exp(-above / (1.5 * height))
    # threads: vertical (hedgerow) or along the limb, each bending and fanning a little, of
    # uneven length and brightness (a single anisotropic filter gave a regular comb)
    thread_angle = psi + (0 if rng.random() < 0.6 else np.pi / 2) + rng.normal(0, 0.2)
    angle = (thread_angle + 0.15 * blob).astype(np.float32)  # the envelope's noise bends them
    grain = tx.filtered_field(spec, tx.bandpass_kernel(size, max(1.2 / cdelt, 2.5), 0.6), size)
    length = max(rng.uniform(5.0, 10.0) / cdelt, 4.0)
    dx, dy = np.cos(angle), np.sin(angle)
    threads = tx.dense_streaks(grain, dx, dy, length, step_px=max(0.4 / cdelt, 0.8))
    threads *= 1.0 + 0.3 * blob
    return (shape * np.clip(0.6 + 0.35 * threads, 0.05, None)).astype(np.float32)
