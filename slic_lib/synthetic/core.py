"""The simulated image record, the static scene of one pointing, and how an instrument observes it.

A :class:`Scene` is what the Sun looks like in one pointing (relative intensity, quiet Sun = 1)
plus the instrument settings of that run (resolution, exposure level, noise). :func:`observe`
turns it into one frame: optional slow evolution ("flicker"), a Gaussian PSF, sub-pixel
pointing jitter, exposure jitter, photon and read noise, and the camera's integer counts with
saturation.

How the frames of one run differ is either drawn afresh for every frame (the AIA sequences:
PSF width 0.95-1.08 of nominal, 0.25 px rms jitter) or given by :func:`run_conditions`, which
models a Hinode/SOT observing run: the correlation tracker holds the image to a few
hundredths of an arcsecond, and the image quality (PSF width) drifts slowly, as a smooth
random walk, so frames a few seconds apart are near-identical but for their noise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import textures as tx

__all__ = ["SimImage", "Scene", "FrameConditions", "observe", "run_conditions", "ephemeris", "random_date", "sky_position"]

SOT_JITTER = 0.02
"""Residual pointing jitter of Hinode/SOT under its correlation tracker, arcsec rms per axis
(about 0.01-0.03 arcsec; Shimizu et al. 2008, Solar Phys. 249, 221)."""


@dataclass
class SimImage:
    """One simulated frame and the metadata its FITS header is built from.

    Attributes
    ----------
    data : numpy.ndarray
        2-D float32 image in instrument units (SOT: camera counts; AIA: level-1 DN).
    instrument : str
        ``"SOT/NB"`` (Hinode/SOT narrow-band filter imager, H-alpha) or ``"AIA"``.
    wavelength : float
        Wavelength in angstrom (6563, 1600, 1700 or 304).
    cdelt : float
        Pixel scale in arcsec per pixel.
    date_obs : datetime.datetime
        Start of the exposure (UTC).
    xcen, ycen : float
        Helioprojective pointing of the image centre (arcsec).
    class_name : str
        True class (one of ``slic_lib.classes.CLASSES``).
    sequence_id : str
        Identifier of the observing sequence the frame belongs to.
    secondary : list of str
        Secondary features also present (e.g. ``["sunspot"]`` in a flare image).
    exptime : float
        Exposure time in seconds.
    rsun, b0, dsun : float
        Apparent solar radius (arcsec), B0 angle (deg) and Sun-observer distance (m).
    kind : str
        AIA stand-in kind (``AIA_KINDS``) or ``"halpha"``.
    frame : int
        Index of the frame in its sequence.
    seed : str
        Description of the seed that produced the frame (written to HISTORY).
    description : str
        Free text written to the header's COMMENT.
    """

    data: np.ndarray
    instrument: str
    wavelength: float
    cdelt: float
    date_obs: dt.datetime
    xcen: float
    ycen: float
    class_name: str
    sequence_id: str = ""
    secondary: list[str] = field(default_factory=list)
    exptime: float = 0.1
    rsun: float = 960.0
    b0: float = 0.0
    dsun: float = 1.495978707e11
    kind: str = "halpha"
    frame: int = 0
    seed: str = ""
    description: str = ""


@dataclass
class Scene:
    """The Sun in one pointing plus the instrument settings of one observing run."""

    intensity: np.ndarray
    cdelt: float
    xcen: float
    ycen: float
    class_name: str
    psf_sigma_px: float
    level: float
    dark: float
    shot: float
    read: float
    saturation: float
    exptime: float
    secondary: list[str] = field(default_factory=list)
    flicker: list[tuple[np.ndarray, float, float, float]] = field(default_factory=list)
    floor: float = 0.0


@dataclass(frozen=True)
class FrameConditions:
    """How one frame of a run is observed, relative to its :class:`Scene`.

    Attributes
    ----------
    psf_scale : float
        PSF width in units of the scene's ``psf_sigma_px``.
    shift : tuple of float
        Pointing offset (dy, dx) in pixels.
    gain : float
        Exposure level in units of the scene's ``level``.
    """

    psf_scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    gain: float = 1.0


def run_conditions(rng: np.random.Generator, times: Sequence[float], cdelt: float, jitter: float = SOT_JITTER,
                   psf_rms: float = 0.05, psf_time: float = 600.0, gain_rms: float = 0.003) -> list[FrameConditions]:
    """Frame-by-frame observing conditions of one observing run at ``times`` (s, increasing).

    The log of the PSF width is an Ornstein-Uhlenbeck process (a random walk pulled back to
    the nominal width): stationary spread ``psf_rms``, correlation time ``psf_time``. For a
    telescope in orbit this is the slow thermal focus drift rather than atmospheric seeing;
    frames 10 s apart differ in PSF width by about ``psf_rms * sqrt(2 * 10 / psf_time)``
    (0.9 % by default). The pointing jitters independently from frame to frame by ``jitter``
    arcsec rms per axis, and the exposure level by ``gain_rms``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the run's conditions.
    times : sequence of float
        Frame times in seconds since the start of the run.
    cdelt : float
        Pixel scale in arcsec per pixel (converts the jitter to pixels).
    jitter, psf_rms, psf_time, gain_rms : float
        See above.

    Returns
    -------
    list of FrameConditions
        One per frame, in the order of ``times``.
    """
    times = np.asarray(times, dtype=float)
    log_width = rng.normal(0.0, psf_rms)
    conditions = []
    for k, t in enumerate(times):
        if k:
            r = np.exp(-max(t - times[k - 1], 0.0) / psf_time)
            log_width = log_width * r + psf_rms * np.sqrt(1.0 - r * r) * rng.normal()
        shift = rng.normal(0.0, jitter / cdelt, 2)
        conditions.append(FrameConditions(float(np.exp(log_width)), (float(shift[0]), float(shift[1])),
                                          float(1.0 + gain_rms * rng.normal())))
    return conditions


def observe(scene: Scene, rng: np.random.Generator, t: float = 0.0, conditions: FrameConditions | None = None) -> np.ndarray:
    """One frame of ``scene`` at ``t`` seconds after the sequence start, in instrument counts.

    Parameters
    ----------
    scene : Scene
        What is observed.
    rng : numpy.random.Generator
        Source of this frame's noise (and, without ``conditions``, its PSF, jitter and exposure).
    t : float
        Time since the start of the sequence (drives the slow "flicker" evolution).
    conditions : FrameConditions, optional
        This frame's PSF width, pointing and exposure (:func:`run_conditions`); default: drawn
        from ``rng`` independently of other frames (PSF width 0.95-1.08, jitter 0.25 px rms,
        exposure within 1.5 %).

    Returns
    -------
    numpy.ndarray
        float32 counts, already rounded and clipped to the camera's range.
    """
    image = scene.intensity
    if scene.flicker:
        image = image.copy()
        for fld, amp, period, phase in scene.flicker:
            image += np.float32(amp * np.sin(2 * np.pi * t / period + phase)) * fld
    if conditions is None:
        psf_scale = rng.uniform(0.95, 1.08)
        shift = (float(rng.normal(0, 0.25)), float(rng.normal(0, 0.25)))
        gain = rng.uniform(0.985, 1.015)
    else:
        psf_scale, shift, gain = conditions.psf_scale, conditions.shift, conditions.gain
    image = tx.fft_blur(image, scene.psf_sigma_px * psf_scale, shift)
    counts = image * np.float32(scene.level * gain) + np.float32(scene.dark)
    noise = rng.standard_normal(counts.shape, dtype=np.float32)
    sigma_n = np.sqrt(np.clip(counts, 0, None) * np.float32(scene.shot) + np.float32(scene.read**2))
    counts += noise * sigma_n
    np.rint(counts, out=counts)
    np.clip(counts, scene.floor, scene.saturation, out=counts)
    return counts


def observe_frame(scene: "Scene", rng: np.random.Generator, date: dt.datetime, eph: tuple[float, float, float], *,
                  instrument: str, wavelength: float, kind: str, description: str, t: float = 0.0, frame: int = 0,
                  sequence_id: str = "", seed: str = "", conditions: FrameConditions | None = None) -> "SimImage":
    """Observe ``scene`` ``t`` seconds after ``date`` (under ``conditions``, see :func:`observe`) as a :class:`SimImage`."""
    return SimImage(
        data=observe(scene, rng, t, conditions),
        instrument=instrument,
        wavelength=wavelength,
        cdelt=scene.cdelt,
        date_obs=date + dt.timedelta(seconds=t),
        xcen=scene.xcen,
        ycen=scene.ycen,
        class_name=scene.class_name,
        sequence_id=sequence_id,
        secondary=list(scene.secondary),
        exptime=scene.exptime,
        rsun=eph[0],
        b0=eph[1],
        dsun=eph[2],
        kind=kind,
        frame=frame,
        seed=seed,
        description=description,
    )


@lru_cache(maxsize=256)
def ephemeris(date_iso: str) -> tuple[float, float, float]:
    """Apparent solar radius (arcsec), B0 (deg) and Earth-Sun distance (m) from ``sunpy.coordinates.sun``."""
    from astropy.time import Time
    from sunpy.coordinates import sun

    t = Time(date_iso, scale="utc")
    return (
        float(sun.angular_radius(t).to_value("arcsec")),
        float(sun.B0(t).to_value("deg")),
        float(sun.earth_distance(t).to_value("m")),
    )


def random_date(rng: np.random.Generator, first_year: int = 2007, last_year: int = 2016) -> dt.datetime:
    """A random UTC time, to 0.1 s, between the start of ``first_year`` and the end of ``last_year``."""
    start = dt.datetime(first_year, 1, 1)
    span = (dt.datetime(last_year + 1, 1, 1) - start).total_seconds()
    return start + dt.timedelta(seconds=round(float(rng.uniform(0, span)), 1))


def sky_position(rng: np.random.Generator, rsun: float, max_frac: float = 0.85) -> tuple[float, float]:
    """A random on-disc helioprojective pointing (arcsec) within ``max_frac`` of the radius."""
    r = rsun * max_frac * np.sqrt(rng.uniform(0, 1))
    a = rng.uniform(0, 2 * np.pi)
    return float(r * np.cos(a)), float(r * np.sin(a))


def day_hour(date: dt.datetime) -> str:
    """ISO string of ``date`` rounded down to the hour (ephemeris cache key)."""
    return date.replace(minute=0, second=0, microsecond=0).isoformat()
