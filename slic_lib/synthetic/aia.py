"""SDO/AIA stand-ins for the paper's adversarial tests (0.6" pixels, 1.2" resolution).

* ``1600_sunspot`` / ``1700_sunspot``: a sunspot (dark umbra, faint penumbra) surrounded by
  bright, often elongated plage and network brightenings -- the plage is what makes the paper's
  network answer "flares" or "prominences" for UV sunspots.
* ``304_prominence``: an off-limb prominence on diffuse He II coronal emission and a bright
  spicule layer, with bright points on the disc.

Scenes carry slow "flicker" fields so that frames of an hour-long sequence evolve (the spot
stays, plage and network brighten and fade).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import features as ft
from . import textures as tx
from .core import Scene, SimImage, day_hour, ephemeris, observe_frame, random_date, sky_position

__all__ = ["AIA_KINDS", "AIA_CDELT", "aia_scene", "aia_frame", "render_aia"]

AIA_KINDS: tuple[str, ...] = ("1600_sunspot", "1700_sunspot", "304_prominence")
AIA_CDELT = 0.6  # arcsec per pixel
AIA_RESOLUTION = 1.2  # arcsec FWHM
AIA_SATURATION = 16383.0  # 14-bit camera
_KIND_INFO = {
    # kind: (wavelength, class, exptime s, quiet-Sun DN range)
    "1600_sunspot": (1600.0, "sunspots", 2.901, (90.0, 220.0)),
    "1700_sunspot": (1700.0, "sunspots", 1.001, (1200.0, 2600.0)),
    "304_prominence": (304.0, "prominences", 2.901, (60.0, 200.0)),
}


def _uv_sunspot(rng: np.random.Generator, size: int, cdelt: float, wave: float, spots: list[ft.SpotSpec] | None):
    fov = size * cdelt
    image, lanes = ft.chromosphere(rng, size, cdelt, network_contrast=rng.uniform(0.5, 0.9), fibril_contrast=0.0,
                                   grain_contrast=0.08, cell_arcsec=rng.uniform(18, 30), lane_width=0.8, clump_arcsec=6.0)
    if spots is None:
        spots = ft.random_spot_group(rng, min(fov, 150.0), n_max=3)
    factor, umap = ft.spot_factor(
        size, cdelt, spots, umbra=rng.uniform(0.25, 0.45) if wave == 1600 else rng.uniform(0.2, 0.4),
        penumbra=rng.uniform(0.75, 0.95), filament_contrast=0.05,
    )
    near = np.exp(-np.clip(umap - 1.1, 0, None) / 3.0) * (umap > 1.05)
    pl = ft.plage(rng, size, cdelt, elongation=rng.uniform(1.0, 4.0), scale_arcsec=rng.uniform(6, 12))
    plage_amp = rng.uniform(1.5, 4.0) if wave == 1600 else rng.uniform(1.0, 2.5)
    plage_img = plage_amp * pl * np.clip(near + 0.08, 0, 1)
    image = (image + plage_img) * factor
    flicker = []
    spec = tx.white_spectrum(rng, size)
    for _ in range(3):  # plage and network brightenings that come and go over minutes
        blobs = tx.filtered_field(spec, tx.bandpass_kernel(size, rng.uniform(2.0, 6.0) / cdelt, 0.4), size)
        fld = (np.clip(blobs, 0, 2.5) ** 2 / 6.25 * (plage_img + 0.5 * lanes) * (umap > 1.0)).astype(np.float32)
        flicker.append((fld, float(rng.uniform(0.15, 0.4)), float(rng.uniform(200, 1500)), float(rng.uniform(0, 2 * np.pi))))
    return image.astype(np.float32), flicker


def _he304_prominence(rng: np.random.Generator, size: int, cdelt: float, xcen: float, ycen: float, rsun: float):
    fov = size * cdelt
    psi = float(np.arctan2(ycen, xcen))
    h, pa = ft.limb_geometry(size, cdelt, xcen, ycen, rsun)
    disc, lanes = ft.chromosphere(rng, size, cdelt, network_contrast=rng.uniform(0.4, 0.8), fibril_contrast=0.0,
                                  grain_contrast=0.15, cell_arcsec=rng.uniform(20, 30), lane_width=0.8, clump_arcsec=6.0)
    spec = tx.white_spectrum(rng, size)
    points = np.clip(tx.filtered_field(spec, tx.bandpass_kernel(size, 3.0 / cdelt, 0.4), size) - 1.5, 0, None) ** 2
    disc = disc + rng.uniform(0.5, 1.5) * points
    on_disc = tx.smoothstep(-h / 2.0 + 0.5)
    above = np.clip(h, 0, None)
    tang = ((pa - psi + np.pi) % (2 * np.pi) - np.pi) * rsun
    corona_tex = tx.filtered_field(spec, tx.anisotropic_kernel(size, psi, 15.0 / cdelt, 3.0 / cdelt), size)
    corona = rng.uniform(0.1, 0.25) * np.exp(-above / rng.uniform(20, 45)) * np.clip(1 + 0.4 * corona_tex, 0.2, None)
    spicules = rng.uniform(0.3, 0.6) * np.exp(-above / rng.uniform(3.0, 6.0))
    prom = rng.uniform(0.4, 1.2) * ft.prominence(
        rng, size, cdelt, psi, tang, above, h, t0=rng.uniform(-0.15, 0.15) * fov,
        width=rng.uniform(0.15, 0.4) * fov, height=rng.uniform(0.08, 0.2) * fov,
    )
    image = on_disc * disc * (1 + 0.3 * np.exp(h / 15.0)) + (1 - on_disc) * (corona + spicules + 0.01) + prom
    flicker = [
        ((prom * np.clip(corona_tex, 0, None)).astype(np.float32), float(rng.uniform(0.1, 0.3)), float(rng.uniform(600, 2400)), float(rng.uniform(0, 6.3))),
        ((points * on_disc).astype(np.float32), float(rng.uniform(0.3, 0.6)), float(rng.uniform(200, 900)), float(rng.uniform(0, 6.3))),
    ]
    return image.astype(np.float32), flicker


def aia_scene(
    kind: str,
    rng: np.random.Generator,
    size: int = 512,
    date: dt.datetime | None = None,
    pointing: tuple[float, float] | None = None,
    spots: list[ft.SpotSpec] | None = None,
) -> tuple[Scene, dt.datetime, tuple[float, float, float]]:
    """Draw one AIA pointing of ``kind`` (see :data:`AIA_KINDS`); returns scene, date, ephemeris.

    ``pointing`` is (xcen, ycen) in arcsec; for ``304_prominence`` it should lie just beyond the
    limb (the default draws a random limb position angle).
    """
    if kind not in AIA_KINDS:
        raise ValueError(f"unknown AIA kind {kind!r}; expected one of {', '.join(AIA_KINDS)}")
    wave, class_name, exptime, qs_range = _KIND_INFO[kind]
    date = random_date(rng, 2010, 2020) if date is None else date
    rsun, b0, dsun = ephemeris(day_hour(date))
    cdelt = AIA_CDELT
    if kind == "304_prominence":
        if pointing is None:
            psi = rng.uniform(0, 2 * np.pi)
            r = rsun + rng.uniform(-0.1, 0.2) * size * cdelt
            pointing = (float(r * np.cos(psi)), float(r * np.sin(psi)))
        image, flicker = _he304_prominence(rng, size, cdelt, pointing[0], pointing[1], rsun)
    else:
        pointing = sky_position(rng, rsun, 0.7) if pointing is None else pointing
        image, flicker = _uv_sunspot(rng, size, cdelt, wave, spots)
        h, _ = ft.limb_geometry(size, cdelt, pointing[0], pointing[1], rsun, angle=False)
        image *= ft.limb_darkening(h, rsun, 0.5)
    scene = Scene(
        intensity=image,
        cdelt=cdelt,
        xcen=float(pointing[0]),
        ycen=float(pointing[1]),
        class_name=class_name,
        psf_sigma_px=AIA_RESOLUTION / 2.3548 / cdelt,
        level=float(rng.uniform(*qs_range)),
        dark=0.0,
        shot=float(rng.uniform(0.5, 1.5)),
        read=float(rng.uniform(0.8, 1.5)),
        saturation=AIA_SATURATION,
        exptime=exptime,
        secondary=["plage"] if class_name == "sunspots" else ["coronal emission"],
        flicker=flicker,
        floor=-8.0,
    )
    return scene, date, (rsun, b0, dsun)


def aia_frame(scene: Scene, kind: str, rng: np.random.Generator, date: dt.datetime, eph: tuple[float, float, float],
              t: float = 0.0, frame: int = 0, sequence_id: str = "", seed: str = "", description: str = "") -> SimImage:
    """Observe an AIA ``scene`` ``t`` seconds after ``date`` and wrap it as a :class:`SimImage`."""
    wave = _KIND_INFO[kind][0]
    return observe_frame(scene, rng, date, eph, instrument="AIA", wavelength=wave, kind=kind, t=t, frame=frame,
                         sequence_id=sequence_id, seed=seed,
                         description=description or f"Simulated SDO/AIA {int(wave)} A stand-in ({kind})")


def render_aia(kind: str, rng: np.random.Generator, size: int = 512) -> SimImage:
    """Render one simulated SDO/AIA image of ``kind`` (one of :data:`AIA_KINDS`).

    Parameters
    ----------
    kind : str
        ``"1600_sunspot"``, ``"1700_sunspot"`` or ``"304_prominence"``.
    rng : numpy.random.Generator
        All randomness comes from it.
    size : int
        Width and height in pixels (0.6" each).

    Returns
    -------
    SimImage
        float32 level-1 DN with its metadata.
    """
    scene, date, eph = aia_scene(kind, rng, size)
    return aia_frame(scene, kind, rng, date, eph, sequence_id=f"single-{kind}-{date:%Y%m%d%H%M%S}")
