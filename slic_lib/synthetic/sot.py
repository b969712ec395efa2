"""Hinode/SOT narrow-band H-alpha (6563 A) scenes of the paper's five classes.

Each class builder draws its geometry in arcseconds from the generator, so the pixel scale
(field of view 50-200" over ``size`` pixels), contrast, exposure level, noise, resolution
(0.33" diffraction limit plus a random defocus), vignetting and limb darkening all vary from
run to run, and some images carry a secondary feature of another class (a small spot beside
flare ribbons, a filament near a sunspot), so no single brightness statistic separates them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..classes import CLASSES
from . import features as ft
from . import textures as tx
from .core import FrameConditions, Scene, SimImage, day_hour, ephemeris, observe_frame, random_date, sky_position

__all__ = ["sot_scene", "render_sot", "sot_frame", "SOT_SATURATION", "HALPHA"]

HALPHA = 6563.0
SOT_SATURATION = 4095.0  # 12-bit camera
SOT_RESOLUTION = 0.33  # arcsec, diffraction limit at 6563 A
SOT_PIXEL = 0.08  # arcsec, native pixel of the narrow-band imager


def _fibril_texture(rng: np.random.Generator, size: int, angle: float, length_px: float, width_px: float) -> np.ndarray:
    return tx.filtered_field(tx.white_spectrum(rng, size), tx.anisotropic_kernel(size, angle, length_px, width_px), size)


def _filament_factor(
    rng: np.random.Generator, size: int, cdelt: float, centre: tuple[float, float] | None = None, scale: float = 1.0
) -> np.ndarray:
    """Multiplicative darkening of one H-alpha filament with barbs, threads and a faint channel.

    The spine is a ribbon 4-12" wide (before ``scale``) with a flat-topped cross-section and
    fine threads along its axis; at seeing-limited 2" it is a dark band of about 0.8 of its
    surroundings, as the real BBSO filaments are.
    """
    fov = size * cdelt
    length = max(rng.uniform(0.3, 1.1) * fov * scale, 12.0) / cdelt
    halfw = min(rng.uniform(2.0, 6.0), 0.08 * fov) * scale ** 0.5 / cdelt
    angle = rng.uniform(0, np.pi)
    if centre is None:
        centre = (size / 2 + rng.uniform(-0.2, 0.2) * size, size / 2 + rng.uniform(-0.2, 0.2) * size)
    x, y, s = tx.curve_points(
        rng, centre, angle, length, curvature=rng.uniform(-0.25, 0.25), wiggle=rng.uniform(0, 0.06) * length
    )
    taper = np.sqrt(np.clip(1 - s**8, 0, 1))
    w = halfw * taper * (1 + 0.35 * tx.noise_1d(rng, len(s), len(s) / 6))
    curves = [(x, y, s, np.clip(w, 0.4, None))]
    n_barbs = int(rng.integers(1, 8))
    for _ in range(n_barbs):
        j = int(rng.integers(len(s) // 8, 7 * len(s) // 8))
        j1 = min(j + 1, len(s) - 1)
        along = np.arctan2(y[j1] - y[j - 1], x[j1] - x[j - 1])
        side = rng.choice([-1, 1])
        ang = along + side * rng.uniform(0.5, 1.1)
        blen = rng.uniform(2.0, 5.0) * halfw
        t = np.linspace(0, 1, max(int(blen / 0.5), 2), dtype=np.float32)
        bx = x[j] + t * blen * np.cos(ang)
        by = y[j] + t * blen * np.sin(ang)
        curves.append((bx, by, s[j] + 0 * t, w[j] * (0.7 - 0.5 * t)))
    cf = tx.curve_field(size, curves)
    threads = _fibril_texture(rng, size, angle, max(6.0 / cdelt, 3.0), max(0.3 / cdelt, 0.6))
    depth = rng.uniform(0.15, 0.32)
    rel2 = cf.distance / np.maximum(cf.width, np.float32(0.3))
    rel2 *= rel2
    prof = np.exp(-rel2 * np.sqrt(rel2))  # exp(-|d/w|^3): flat-topped ribbon with soft edges
    channel = np.exp(-((cf.distance / (3.5 * halfw)) ** 2))
    dark = depth * prof * np.clip(0.85 + 0.2 * threads, 0.5, 1.1) + 0.08 * depth * channel
    return np.clip(1.0 - dark, 0.05, 1.0).astype(np.float32)


def _ribbons(rng: np.random.Generator, size: int, cdelt: float) -> np.ndarray:
    """Additive emission of two (occasionally one) flare ribbons with bright kernels."""
    fov = size * cdelt
    angle = rng.uniform(0, np.pi)
    sep = rng.uniform(0.08, 0.35) * fov / cdelt
    c = np.array([size / 2 + rng.uniform(-0.15, 0.15) * size, size / 2 + rng.uniform(-0.15, 0.15) * size])
    normal = np.array([-np.sin(angle), np.cos(angle)])
    curves = []
    brights = []
    n_rib = 2 if rng.random() < 0.85 else 1
    for k in range(n_rib):
        side = 1 if k == 0 else -1
        length = rng.uniform(0.25, 0.9) * fov / cdelt
        centre = c + side * sep / 2 * normal + rng.uniform(-0.1, 0.1) * length * np.array([np.cos(angle), np.sin(angle)])
        x, y, s = tx.curve_points(
            rng, tuple(centre), angle + rng.normal(0, 0.15), length,
            curvature=side * rng.uniform(-0.05, 0.25), wiggle=rng.uniform(0, 0.05) * length,
        )
        halfw = rng.uniform(0.4, 1.8) / cdelt * (1 + 0.5 * tx.noise_1d(rng, len(s), len(s) / 10))
        curves.append((x, y, s, np.clip(halfw, 0.6, None)))
        brights.append(np.clip(1 + 0.8 * tx.noise_1d(rng, len(s), len(s) / 15), 0.15, None))
    cf = tx.curve_field(size, curves)
    amp_img = np.zeros((size, size), np.float32)
    for k, (x, y, s, _) in enumerate(curves):
        sel = cf.label == k + 1
        idx = np.clip(((cf.param[sel] + 1) / 2 * (len(s) - 1)).astype(np.int64), 0, len(s) - 1)
        amp_img[sel] = brights[k][idx]
    peak = rng.uniform(0.5, 4.0)
    halo = np.exp(-cf.distance / (4.0 * np.maximum(cf.width, 1.0)))
    return (peak * amp_img * (cf.profile() + 0.15 * halo)).astype(np.float32)


def _prominence_scene(rng: np.random.Generator, size: int, cdelt: float, rsun: float) -> tuple[np.ndarray, float, float, list[str]]:
    """Limb with the disc on one side, spicules, dark sky and a bright threaded prominence."""
    fov = size * cdelt
    psi = rng.uniform(0, 2 * np.pi)
    d = rng.uniform(-0.3, 0.42) * fov  # height of the image centre above the limb
    xcen, ycen = (rsun + d) * np.cos(psi), (rsun + d) * np.sin(psi)
    h, pa = ft.limb_geometry(size, cdelt, xcen, ycen, rsun)
    disc_img, _ = ft.chromosphere(rng, size, cdelt, rng.uniform(0.1, 0.35), rng.uniform(0.05, 0.2))
    disc = disc_img * ft.limb_darkening(h, rsun, rng.uniform(0.3, 0.6))
    on_disc = tx.smoothstep(-h / max(2 * cdelt, 0.3) + 0.5)
    tang = (pa - psi) * rsun  # arcsec along the limb, 0 at the image centre's position angle
    tang = (tang + np.pi * rsun) % (2 * np.pi * rsun) - np.pi * rsun
    nsp = 4096
    spic_noise = tx.noise_1d(rng, nsp, scale=nsp / (fov * 2.0))
    spic_idx = np.clip(((tang / fov + 1.0) / 3.0 * nsp).astype(np.int64), 0, nsp - 1)
    spic_height = rng.uniform(3.0, 8.0) * (1 + 0.3 * spic_noise[spic_idx])
    above = np.clip(h, 0, None)
    spicules = rng.uniform(0.15, 0.4) * np.exp(-above / np.maximum(spic_height / 2.5, 0.5)) * (0.6 + 0.4 * np.clip(spic_noise[spic_idx], -1, 1))
    sky = rng.uniform(0.005, 0.03) + rng.uniform(0.01, 0.05) * np.exp(-above / 25.0)
    prom = rng.uniform(0.12, 0.5) * ft.prominence(rng, size, cdelt, psi, tang, above, h)
    image = on_disc * disc + (1 - on_disc) * (sky + spicules) + prom * (1 - 0.7 * on_disc)
    return image.astype(np.float32), float(xcen), float(ycen), []


def sot_scene(class_name: str, rng: np.random.Generator, size: int = 512, date: dt.datetime | None = None,
              fov: float | None = None, pointing: tuple[float, float] | None = None,
              spots: list[ft.SpotSpec] | None = None) -> tuple[Scene, dt.datetime, tuple[float, float, float]]:
    """Draw one H-alpha pointing of ``class_name`` and the settings of the run that observes it.

    ``date``, ``fov`` (arcsec), ``pointing`` (xcen, ycen arcsec; not for prominences) and, for
    sunspots, the ``spots`` themselves may be fixed (the AR11108 co-temporal SOT/AIA run).
    Returns the scene, the start date of the run and the ephemeris (rsun arcsec, B0 deg, dsun m).
    """
    if class_name not in CLASSES:
        raise ValueError(f"unknown class {class_name!r}; expected one of {', '.join(CLASSES)}")
    date = random_date(rng) if date is None else date
    rsun, b0, dsun = ephemeris(day_hour(date))
    fov = float(np.exp(rng.uniform(np.log(50.0), np.log(200.0)))) if fov is None else fov
    cdelt = fov / size
    secondary: list[str] = []
    if class_name == "prominences":
        image, xcen, ycen, secondary = _prominence_scene(rng, size, cdelt, rsun)
    else:
        xcen, ycen = sky_position(rng, rsun) if pointing is None else pointing
        active = class_name in ("flares", "sunspots")
        image, _ = ft.chromosphere(
            rng, size, cdelt,
            # weak: at BBSO's 2" the bright network hides among the fibril bushes (features.chromosphere)
            network_contrast=rng.uniform(0.05, 0.2),
            fibril_contrast=rng.uniform(0.15, 0.4) * (1.2 if active else 1.0),
        )
        if class_name == "quiet" and rng.random() < 0.3:
            image += rng.uniform(0.05, 0.3) * ft.plage(rng, size, cdelt, elongation=rng.uniform(0, 2))
            secondary.append("active network")
        if class_name == "filaments":
            image *= _filament_factor(rng, size, cdelt)
            if rng.random() < 0.2:
                image *= _filament_factor(rng, size, cdelt, scale=0.5)
            if rng.random() < 0.2:
                pores = ft.random_spot_group(rng, size * cdelt, n_max=2, pore_only=True)
                image *= ft.spot_factor(size, cdelt, pores, rng.uniform(0.3, 0.6), 0.8, 0.0)[0]
                secondary.append("pore")
        elif class_name == "flares":
            image += rng.uniform(0.3, 1.0) * ft.plage(rng, size, cdelt, elongation=rng.uniform(0, 3))
            if rng.random() < 0.35:
                spots = ft.random_spot_group(rng, 0.5 * size * cdelt, n_max=2)
                for sp in spots:
                    sp.x += rng.choice([-1, 1]) * 0.3 * size * cdelt
                image *= ft.spot_factor(size, cdelt, spots, rng.uniform(0.15, 0.4), rng.uniform(0.5, 0.8), 0.2)[0]
                secondary.append("sunspot")
            image += _ribbons(rng, size, cdelt)
        elif class_name == "sunspots":
            if spots is None:
                if rng.random() < 0.12:
                    # a group of pores, as SOT pointed at one would see it: at least two, 3-7" across.
                    # A lone pore of 2" in a 100" field is under one pixel of the network's input, so
                    # such an image is no sunspot image to it (the network called them filaments)
                    spots = ft.random_spot_group(rng, size * cdelt, pore_only=True, pore_radius=(1.5, 3.5), n_min=2)
                else:
                    spots = ft.random_spot_group(rng, size * cdelt)
            factor, umap = ft.spot_factor(
                size, cdelt, spots, umbra=rng.uniform(0.1, 0.35), penumbra=rng.uniform(0.45, 0.75),
                filament_contrast=rng.uniform(0.12, 0.3), superpenumbra=rng.uniform(0.15, 0.4),
            )
            near = np.exp(-np.clip(umap - 1.2, 0, None) / 2.0) * (umap > 1.0)
            image += rng.uniform(0.2, 0.8) * ft.plage(rng, size, cdelt, elongation=rng.uniform(0, 1.5)) * near
            image *= factor
            if rng.random() < 0.25:
                image *= _filament_factor(rng, size, cdelt, scale=0.6)
                secondary.append("filament")
        h, _ = ft.limb_geometry(size, cdelt, xcen, ycen, rsun, angle=False)
        image *= ft.limb_darkening(h, rsun, rng.uniform(0.2, 0.5))
    x, y = tx.pixel_grid(size)
    c = (size - 1) / 2
    vign = 1.0 - rng.uniform(0.0, 0.1) * (((x - c) ** 2 + (y - c) ** 2) / (2 * c**2))
    image = (image * vign).astype(np.float32)
    fwhm = np.hypot(SOT_RESOLUTION, rng.uniform(0.0, 0.6))
    # pixels coarser than the camera's 0.08" are sums of native pixels (binned or resampled):
    # more photons each, so relative noise falls by the binning factor
    binning = max(cdelt / SOT_PIXEL, 1.0)
    scene = Scene(
        intensity=image,
        cdelt=cdelt,
        xcen=xcen,
        ycen=ycen,
        class_name=class_name,
        psf_sigma_px=float(fwhm / 2.3548 / cdelt),
        level=float(rng.uniform(500.0, 2600.0)),
        dark=float(rng.uniform(0.0, 40.0)),
        shot=float(rng.uniform(0.05, 1.0)) / binning**2,
        read=float(rng.uniform(1.0, 6.0)) / binning,
        saturation=SOT_SATURATION,
        exptime=float(rng.choice([0.0512, 0.0768, 0.1024, 0.1536, 0.2048, 0.3072])),
        secondary=secondary,
    )
    return scene, date, (rsun, b0, dsun)


def sot_frame(scene: Scene, rng: np.random.Generator, date: dt.datetime, eph: tuple[float, float, float],
              t: float = 0.0, frame: int = 0, sequence_id: str = "", seed: str = "", description: str = "",
              conditions: FrameConditions | None = None) -> SimImage:
    """Observe ``scene`` ``t`` seconds after ``date`` and wrap it as a :class:`SimImage`.

    ``conditions`` (:func:`slic_lib.synthetic.core.run_conditions`) fix the frame's PSF width,
    pointing and exposure within its run; without them they are drawn from ``rng``.
    """
    return observe_frame(scene, rng, date, eph, instrument="SOT/NB", wavelength=HALPHA, kind="halpha", t=t, frame=frame,
                         sequence_id=sequence_id, seed=seed, conditions=conditions,
                         description=description or f"Simulated Hinode/SOT NFI H-alpha image of class {scene.class_name}")


def render_sot(class_name: str, rng: np.random.Generator, size: int = 512) -> SimImage:
    """Render one simulated Hinode/SOT H-alpha image of ``class_name``.

    Parameters
    ----------
    class_name : str
        One of ``slic_lib.classes.CLASSES``.
    rng : numpy.random.Generator
        All randomness (scene, date, pointing, noise) comes from it.
    size : int
        Width and height in pixels.

    Returns
    -------
    SimImage
        float32 camera counts (0-4095) with its metadata.
    """
    scene, date, eph = sot_scene(class_name, rng, size)
    return sot_frame(scene, rng, date, eph, sequence_id=f"single-{date:%Y%m%d%H%M%S}")
