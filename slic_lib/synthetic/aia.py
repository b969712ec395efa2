"""SDO/AIA stand-ins for the paper's adversarial tests, with their physics from the literature.

AIA images the full disc at 0.6" per pixel and about 1.2" resolution (Lemen et al. 2012,
Sol. Phys. 275, 17). Scenes are relative intensity, the quiet-Sun level = 1.

``1600_sunspot`` / ``1700_sunspot`` (UV continuum of the temperature-minimum region, plus C IV
in 1600; Lemen et al. 2012)
    * quiet Sun: a bright chromospheric network outlining supergranular cells 20-30 Mm across
      (Rieutord & Rincon 2010, Living Rev. Sol. Phys. 7, 2), i.e. 28-41" at 1 au;
    * the spot: the umbra dark (0.3-0.5 of the quiet Sun in 1600, 0.2-0.35 in 1700, where the
      continuum forms deeper) and the penumbra near the quiet level, as in the sunspot and
      penumbra models of Fontenla et al. (2009, ApJ 707, 482);
    * plage around the spot: the dense aggregate of magnetic elements that surrounds an active
      region's spots (Solanki 1993, Space Sci. Rev. 63, 1), patchy, often elongated along the
      region's axis, brighter than the quiet Sun by a factor :data:`PLAGE_CONTRAST` (about 3 in
      1600, 1.8 in 1700: the plage-to-quiet ratios of Fontenla et al. 2009's models at these
      wavelengths, and the factor 2-5 of TRACE 1600 plage, Rutten et al. 1999, ASP Conf. Ser. 184,
      181). The knob ``plage`` of :func:`aia_scene` scales this brightening (its excess over the
      quiet Sun): 1 realistic, 0 none, 2 twice.
``304_prominence`` (He II 304 A, about 80 000 K, plus Si XI 303.3 A from 1-2 MK plasma)
    * the disc: bright chromospheric/transition-region network, the He II limb about 3" above the
      photospheric one (transition-region base at 2300 +- 500 km, Alissandrakis et al. 2018,
      Sol. Phys. 293, 20) and a modest brightening towards it;
    * spicules: thin radial jets reaching 5-10 Mm above the limb (Beckers 1968, Sol. Phys. 3, 367;
      Pereira et al. 2012, ApJ 759, 18), an intensity falling over a few arcsec;
    * diffuse coronal emission above the limb: in the 304 band off the limb the coronal Si XI line
      dominates He II from just above the limb (Andretta, Telloni & Del Zanna 2012, ApJ 757, 162),
      and the hot emission is of the same order as the cool structures' (Antolin et al. 2024,
      ApJ 961, 135). Optically thin emission goes as the density squared, so a hydrostatic corona
      of density scale height ``H = k T / (mu m_H g)`` = 47 Mm (T / 1 MK) (Aschwanden 2005,
      Physics of the Solar Corona, sect. 3.1) falls off with the intensity scale height ``H / 2``
      (the line-of-sight depth, ~ sqrt(2 pi R H), barely changes with height). T = 1.0-1.5 MK
      (the polar corona's 1.24 +- 0.25 MK from AIA scale heights, Alissandrakis et al. 2018)
      gives H/2 = 23-35 Mm. Its level at the limb, :data:`CORONA_LEVEL`, is 0.15-0.3 of the disc's
      quiet level (so that, as observed, it is of the same order as spicules and prominences).
      The knob ``corona`` of :func:`aia_scene` scales it: 1 realistic, 0 none (a black sky).
    * the prominence stands on that background, bright in He II (Labrosse et al. 2010, Space Sci.
      Rev. 151, 243; Mackay et al. 2010, Space Sci. Rev. 151, 333): 0.5-1 of the disc's level.

Every random number is drawn whatever the knobs are, so scenes of one seed differ only in what
a knob scales. Scenes carry slow "flicker" fields so that frames of an hour-long sequence evolve.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..errors import SlicError
from . import features as ft
from . import textures as tx
from .core import Scene, SimImage, day_hour, ephemeris, observe_frame, random_date, sky_position

__all__ = [
    "AIA_KINDS",
    "AIA_CDELT",
    "PLAGE_CONTRAST",
    "CORONA_LEVEL",
    "HE_LIMB_HEIGHT",
    "coronal_scale_height",
    "aia_scene",
    "aia_frame",
    "render_aia",
]

AIA_KINDS: tuple[str, ...] = ("1600_sunspot", "1700_sunspot", "304_prominence")
AIA_CDELT = 0.6  # arcsec per pixel (Lemen et al. 2012)
AIA_RESOLUTION = 1.2  # arcsec FWHM (Lemen et al. 2012)
AIA_SATURATION = 16383.0  # 14-bit camera
_KIND_INFO = {
    # kind: (wavelength, class, exptime s, quiet-Sun DN range)
    "1600_sunspot": (1600.0, "sunspots", 2.901, (90.0, 220.0)),
    "1700_sunspot": (1700.0, "sunspots", 1.001, (1200.0, 2600.0)),
    "304_prominence": (304.0, "prominences", 2.901, (60.0, 200.0)),
}
PLAGE_CONTRAST = {1600.0: (2.5, 3.5), 1700.0: (1.5, 2.1)}
"""Plage intensity over the quiet Sun's (range drawn per scene), per UV channel (see above)."""
UMBRA = {1600.0: (0.3, 0.5), 1700.0: (0.2, 0.35)}
"""Umbral intensity over the quiet Sun's, per UV channel (Fontenla et al. 2009)."""
CORONA_LEVEL = (0.15, 0.3)
"""Off-limb coronal 304 A intensity at the He II limb, over the disc's quiet level (see above)."""
CORONA_TEMPERATURE_MK = (1.0, 1.5)
"""Coronal temperature range in MK (Alissandrakis et al. 2018: 1.24 +- 0.25 MK)."""
HE_LIMB_HEIGHT = 3.0
"""Height of the He II 304 limb above the photospheric limb, arcsec (2300 km, Alissandrakis et al. 2018)."""
_MM_PER_MK = 47.0  # hydrostatic density scale height per MK, Mm (Aschwanden 2005)
_RSUN_KM = 695_700.0


def coronal_scale_height(temperature_mk: float, rsun_arcsec: float) -> float:
    """Intensity scale height (arcsec) of optically thin emission from a hydrostatic corona.

    Parameters
    ----------
    temperature_mk : float
        Coronal temperature in MK.
    rsun_arcsec : float
        Apparent solar radius in arcsec (sets the km per arcsec).

    Returns
    -------
    float
        ``H / 2`` with ``H = 47 Mm (T / 1 MK)``, in arcsec: the intensity goes as the density
        squared (Aschwanden 2005, sect. 3.1).
    """
    km_per_arcsec = _RSUN_KM / float(rsun_arcsec)
    return 0.5 * _MM_PER_MK * 1e3 * float(temperature_mk) / km_per_arcsec


def _check_knob(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise SlicError(f"{name} must be a finite factor of at least 0 (1 = realistic), not {value!r}.")
    return value


def _uv_plage_mask(rng: np.random.Generator, size: int, cdelt: float, umap: np.ndarray, lanes: np.ndarray,
                   spots: list[ft.SpotSpec]) -> np.ndarray:
    """Where the plage is (0..1.3; about 1 next to a spot): patchy, a little elongated, along the network.

    Elongated patches of 6-12" (random field thresholded), filled in near the spots (an
    e-folding of 25-50" beyond the penumbra, the extent of an active region's plage around its
    spots) and sparse far from them, brighter on the network lanes, which plage fills in
    (Solanki 1993).
    """
    spec = tx.white_spectrum(rng, size)
    s = rng.uniform(6, 12) / cdelt
    blobs = tx.filtered_field(spec, tx.anisotropic_kernel(size, rng.uniform(0, np.pi), s * (1 + rng.uniform(0.5, 2.0)), s), size)
    fine = tx.filtered_field(spec, tx.bandpass_kernel(size, max(3.0 / cdelt, 3.0), 0.5), size)
    radius = max(sp.radius for sp in spots) if spots else 10.0
    near = np.exp(-np.clip(umap - 1.1, 0, None) * radius / rng.uniform(25.0, 50.0)) * tx.smoothstep((umap - 1.0) / 0.15)
    mask = tx.smoothstep((blobs + 2.0 * near - 0.9) / 1.5) * np.clip(0.85 + 0.25 * fine, 0, None) * (0.8 + 0.4 * lanes)
    return np.clip(mask, 0, 1.3).astype(np.float32)


def _uv_sunspot(rng: np.random.Generator, size: int, cdelt: float, wave: float, spots: list[ft.SpotSpec] | None,
                plage: float):
    """A UV (1600/1700 A) sunspot group in its plage and network; returns intensity and flicker."""
    fov = size * cdelt
    image, lanes = ft.chromosphere(rng, size, cdelt, network_contrast=rng.uniform(0.5, 0.9) if wave == 1600 else rng.uniform(0.3, 0.6),
                                   fibril_contrast=0.0, grain_contrast=0.08, cell_arcsec=rng.uniform(28, 41),
                                   lane_width=0.8, clump_arcsec=6.0)
    if spots is None:
        spots = ft.random_spot_group(rng, min(fov, 150.0), n_max=3)
    factor, umap = ft.spot_factor(size, cdelt, spots, umbra=rng.uniform(*UMBRA[wave]), penumbra=rng.uniform(0.75, 0.95),
                                  filament_contrast=0.05)
    mask = _uv_plage_mask(rng, size, cdelt, umap, lanes, spots)
    excess = plage * (rng.uniform(*PLAGE_CONTRAST[wave]) - 1.0) * mask  # plage over quiet Sun, minus 1
    image = image * (1.0 + excess) * factor
    flicker = []
    spec = tx.white_spectrum(rng, size)
    for _ in range(3):  # plage and network brightenings that come and go over minutes
        blobs = tx.filtered_field(spec, tx.bandpass_kernel(size, rng.uniform(2.0, 6.0) / cdelt, 0.4), size)
        fld = (np.clip(blobs, 0, 2.5) ** 2 / 6.25 * (excess + 0.3 * lanes) * (umap > 1.0)).astype(np.float32)
        flicker.append((fld, float(rng.uniform(0.15, 0.4)), float(rng.uniform(200, 1500)), float(rng.uniform(0, 2 * np.pi))))
    return image.astype(np.float32), flicker


def _spicules(rng: np.random.Generator, size: int, cdelt: float, pa: np.ndarray, above: np.ndarray) -> np.ndarray:
    """The He II spicule forest: radial threads ~0.5" wide whose intensity falls over 3-5"."""
    spec = tx.white_spectrum(rng, size)
    grain = tx.filtered_field(spec, tx.bandpass_kernel(size, max(1.0 / cdelt, 2.5), 0.5), size)
    threads = tx.streaks(grain, np.cos(pa).astype(np.float32), np.sin(pa).astype(np.float32), max(8.0 / cdelt, 4.0))
    height = rng.uniform(3.0, 5.0)  # arcsec: down to a few per cent by 10 Mm (Pereira et al. 2012)
    return (rng.uniform(0.4, 0.7) * np.exp(-above / height) * np.clip(1.0 + 0.5 * threads, 0.1, None)).astype(np.float32)


def _he304_prominence(rng: np.random.Generator, size: int, cdelt: float, xcen: float, ycen: float, rsun: float,
                      corona: float, temperature_mk: float | None = None):
    """A 304 A limb prominence on the disc, spicules and the coronal background; intensity and flicker."""
    fov = size * cdelt
    psi = float(np.arctan2(ycen, xcen))
    h, pa = ft.limb_geometry(size, cdelt, xcen, ycen, rsun)
    h = h - HE_LIMB_HEIGHT  # height above the He II limb
    disc, lanes = ft.chromosphere(rng, size, cdelt, network_contrast=rng.uniform(0.6, 1.0), fibril_contrast=0.0,
                                  grain_contrast=0.15, cell_arcsec=rng.uniform(28, 41), lane_width=0.8, clump_arcsec=6.0)
    spec = tx.white_spectrum(rng, size)
    points = np.clip(tx.filtered_field(spec, tx.bandpass_kernel(size, 3.0 / cdelt, 0.4), size) - 1.5, 0, None) ** 2
    disc = disc + rng.uniform(0.5, 1.5) * points
    on_disc = tx.smoothstep(-h / 2.0 + 0.5)
    above = np.clip(h, 0, None)
    tang = ((pa - psi + np.pi) % (2 * np.pi) - np.pi) * rsun
    # coronal background: hydrostatic fall-off, broken into faint radial rays (streamers, plumes)
    t_drawn = rng.uniform(*CORONA_TEMPERATURE_MK)
    scale = coronal_scale_height(t_drawn if temperature_mk is None else temperature_mk, rsun)
    rays = tx.filtered_field(spec, tx.anisotropic_kernel(size, psi, 30.0 / cdelt, 4.0 / cdelt), size)
    level = rng.uniform(*CORONA_LEVEL)
    corona_img = corona * level * np.exp(-above / scale) * np.clip(1 + 0.25 * rays, 0.3, None)
    spicules = _spicules(rng, size, cdelt, pa, above)
    prom = rng.uniform(0.5, 1.0) * ft.prominence(
        rng, size, cdelt, psi, tang, above, h, t0=rng.uniform(-0.15, 0.15) * fov,
        width=rng.uniform(0.15, 0.4) * fov, height=rng.uniform(0.08, 0.2) * fov,
    )
    limb_bright = 1 + 0.3 * np.exp(np.clip(h, None, 0) / 15.0)
    image = on_disc * disc * limb_bright + (1 - on_disc) * (corona_img + spicules + 0.005) + prom
    flicker = [
        ((prom * np.clip(rays, 0, None)).astype(np.float32), float(rng.uniform(0.1, 0.3)), float(rng.uniform(600, 2400)), float(rng.uniform(0, 6.3))),
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
    plage: float = 1.0,
    corona: float = 1.0,
    corona_temperature: float | None = None,
) -> tuple[Scene, dt.datetime, tuple[float, float, float]]:
    """Draw one AIA pointing of ``kind``; returns scene, date and ephemeris (rsun ", B0 deg, dsun m).

    Parameters
    ----------
    kind : str
        One of :data:`AIA_KINDS`.
    rng : numpy.random.Generator
        All randomness comes from it; the same state gives the same scene whatever the knobs.
    size : int
        Width and height in pixels (0.6" each).
    date : datetime.datetime, optional
        Start of the run (default: random in 2010-2020).
    pointing : tuple of float, optional
        (xcen, ycen) in arcsec; for ``304_prominence`` just beyond the limb (default: random).
    spots : list of SpotSpec, optional
        The sunspots of a UV scene (default: a random group).
    plage : float
        UV scenes: plage brightening relative to the realistic one (1), 0 removes it.
    corona : float
        304 scenes: off-limb coronal emission relative to the realistic one (1), 0 removes it.
    corona_temperature : float, optional
        304 scenes: coronal temperature in MK, which sets the scale height (default: drawn in
        1.0-1.5 MK).

    Raises
    ------
    ValueError
        For an unknown kind.
    SlicError
        For a negative or non-finite knob.
    """
    if kind not in AIA_KINDS:
        raise ValueError(f"unknown AIA kind {kind!r}; expected one of {', '.join(AIA_KINDS)}")
    plage, corona = _check_knob("plage", plage), _check_knob("corona", corona)
    wave, class_name, exptime, qs_range = _KIND_INFO[kind]
    date = random_date(rng, 2010, 2020) if date is None else date
    rsun, b0, dsun = ephemeris(day_hour(date))
    cdelt = AIA_CDELT
    if kind == "304_prominence":
        if pointing is None:
            psi = rng.uniform(0, 2 * np.pi)
            r = rsun + rng.uniform(-0.1, 0.2) * size * cdelt
            pointing = (float(r * np.cos(psi)), float(r * np.sin(psi)))
        image, flicker = _he304_prominence(rng, size, cdelt, pointing[0], pointing[1], rsun, corona, corona_temperature)
    else:
        pointing = sky_position(rng, rsun, 0.7) if pointing is None else pointing
        image, flicker = _uv_sunspot(rng, size, cdelt, wave, spots, plage)
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


def render_aia(kind: str, rng: np.random.Generator, size: int = 512, plage: float = 1.0, corona: float = 1.0) -> SimImage:
    """Render one simulated SDO/AIA image of ``kind`` (one of :data:`AIA_KINDS`).

    Parameters
    ----------
    kind : str
        ``"1600_sunspot"``, ``"1700_sunspot"`` or ``"304_prominence"``.
    rng : numpy.random.Generator
        All randomness comes from it.
    size : int
        Width and height in pixels (0.6" each).
    plage, corona : float
        Physical knobs of :func:`aia_scene` (1 = realistic).

    Returns
    -------
    SimImage
        float32 level-1 DN with its metadata.
    """
    scene, date, eph = aia_scene(kind, rng, size, plage=plage, corona=corona)
    return aia_frame(scene, kind, rng, date, eph, sequence_id=f"single-{kind}-{date:%Y%m%d%H%M%S}")
