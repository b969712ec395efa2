"""The paper's test observations, each written once: what was observed, and how it is simulated.

Armstrong & Fletcher (2019, Sect. 4.2) test their H-alpha-trained network on SDO/AIA images
and on co-temporal Hinode/SOT H-alpha frames. :data:`OBSERVATIONS` holds one
:class:`Observation` per (target, channel); :mod:`slic_lib.fido` queries and cuts the real
frames from it and :func:`slic_lib.synthetic.generate_sequence` simulates them from it
(:class:`Simulation`). Keys are lower case with hyphens (``slic fido fetch KEY``, folder names).

============================  ==========  ======================  ===============  ========================
key                           channel     time (UT)               target           paper
============================  ==========  ======================  ===============  ========================
ar11638-1600                  AIA 1600 A  2013-01-01 12:00-13:00  AR11638          Figure 4
ar11638-1700                  AIA 1700 A  2013-01-01 12:00-13:00  AR11638          section 4.2.1
ar12665-1600                  AIA 1600 A  2017-07-10 12:00-13:00  AR12665          Figure 8
ar12665-1700                  AIA 1700 A  2017-07-10 12:00-13:00  AR12665          section 4.2.1
ar12674-1600                  AIA 1600 A  2017-09-06 12:00-13:00  AR12674          Figure 9
ar12674-1700                  AIA 1700 A  2017-09-06 12:00-13:00  AR12674          section 4.2.1
ar11108-1600                  AIA 1600 A  2010-09-25 08:05-09:20  AR11108          Figure 5 (left)
ar11108-sot-halpha            SOT 6563 A  2010-09-25 08:05-09:20  AR11108          Figure 5 (middle, right)
prominence-2012-08-31-304     AIA 304 A   2012-08-31 12:00-13:00  east limb        Figure 6 (right)
prominence-2013-01-01-ne-304  AIA 304 A   2013-01-01 10:00-11:00  north-east limb  Figure 6 (left)
prominence-2013-01-01-se-304  AIA 304 A   2013-01-01 10:00-11:00  south-east limb  Figure 6 (middle)
============================  ==========  ======================  ===============  ========================

The expected class is ``sunspots`` for the active regions and ``prominences`` for the limb.

:func:`adversarial_tests` gives the nine keys of notebook 05 (Figures 4, 6, 8, 9 and the 1700 A
runs of section 4.2.1) and :func:`resolution_pair` the co-temporal SOT/AIA pair of Figure 5.

Sources
-------
Times, channels and targets are the paper's (Sect. 4.2, Figs. 4-6, 8, 9); the cadences are
AIA's (24 s in the UV, 12 s in the EUV). The offline helioprojective centres (Earth observer,
at the start time) were computed with sunpy (differential rotation) from these daily reports;
:mod:`slic_lib.fido` prefers the HEK's NOAA position when it can reach it:

* AR11638: N13W07 at 2013-01-03 00:00 UT (solen.info report of 2013-01-03), i.e. N13E13 at the
  start time;
* AR12665: S06E17 on 2017-07-10 12:00 UT, interpolated between its central-meridian passage on
  about 11 July (SPA solar report for July 2017, latitude S06) and the S06W29 site of its
  M2.4 flare on 2017-07-14 (GOES event list); uncertain by a few degrees;
* AR12674: N12W83 at about 12 UT on 2017-09-10 (solen.info report of 2017-09-11), i.e. N12W30 on
  2017-09-06 12:00 UT;
* AR11108: no offline position (the HEK or an explicit centre is required);
* prominences: the paper's wording ("off the eastern limb", "north-east", "south-east") placed
  25-40 arcsec outside the limb at position angles 90, 45 and 135 degrees; approximate.

No Fido client serves calibrated Hinode/SOT H-alpha frames (the VSO indexes level 0 only), so
``ar11108-sot-halpha`` carries a manual download step (:data:`SOT_MANUAL_STEP`).

The simulator's pointings are illustrative, not the measured positions above; its first frame
times are those of the archive's first files (AIA's 1600 A frames are stamped 16.12 s past the
minute, for example).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass

import astropy.units as u
from astropy.time import Time

from .classes import CLASSES
from .errors import SlicError

__all__ = [
    "Observation",
    "Simulation",
    "OBSERVATIONS",
    "SOT_MANUAL_STEP",
    "observation",
    "adversarial_tests",
    "resolution_pair",
]

SOT_MANUAL_STEP = (
    "no Fido client serves calibrated Hinode/SOT H-alpha frames (the VSO has level 0 only), so "
    "download the SOT/NFI H-I 6563 A level-1 frames for {start}-{end} UT from the Hinode Science "
    "Data Centre Europe (http://sdc.uio.no/sdc/) or DARTS (https://darts.isas.jaxa.jp/solar/hinode/) "
    "and put the FITS files in {folder}"
)
"""Manual download step for the SOT frames; :func:`slic_lib.fido.manual_step` fills in the
times and the cache folder."""


@dataclass(frozen=True)
class Simulation:
    """How :func:`slic_lib.synthetic.generate_sequence` simulates an observation.

    Attributes
    ----------
    kind : str
        Scene kind: one of :data:`slic_lib.synthetic.AIA_KINDS` for AIA, ``"halpha"`` for SOT.
    first_frame : str
        ISO time of the first simulated frame; later frames follow on the cadence grid up to the
        observation's end.
    pointing : tuple of float
        Field centre (xcen, ycen) in arcsec; illustrative, not the region's measured position.
    stream : str
        Name of the random streams: its CRC-32, with the user's seed, seeds the scene and every
        frame's noise. These are the simulator's sequence names from before the registries were
        merged, kept so that the same seed still gives bit-for-bit the same frames.
    spots : str or None
        ``"single"`` (one round spot, the paper's single-spot AR11108), ``"group"`` (a random
        group of up to three spots) or ``None`` (no sunspot).
    spots_stream : str or None
        Name of the random stream of the spots; observations of one region share it, so AIA 1600
        and 1700 A (and SOT and AIA of AR11108) show the same spots.
    cadence : float or None
        Seconds between simulated frames where the observation has no fixed cadence (SOT);
        ``None`` uses the observation's.
    fov : float or None
        Field of view in arcsec (SOT); ``None`` keeps the instrument's pixel scale (AIA).
    """

    kind: str
    first_frame: str
    pointing: tuple[float, float]
    stream: str
    spots: str | None = None
    spots_stream: str | None = None
    cadence: float | None = None
    fov: float | None = None


@dataclass(frozen=True)
class Observation:
    """One test observation of the paper.

    Attributes
    ----------
    key : str
        Registry key, also the name of its download and simulation folders.
    instrument : str
        ``"AIA"`` or ``"SOT"``.
    wavelength : astropy.units.Quantity
        Channel (AIA) or filter centre (SOT).
    start, end : str
        UTC time range (ISO).
    target : str
        What is observed (``"AR11638"``, ``"prominence, east limb"``).
    noaa : int or None
        NOAA active-region number (looked up in the HEK); ``None`` for limb targets.
    center : tuple of float or None
        Offline cut-out centre (Tx, Ty) in arcsec, helioprojective, Earth observer, at ``start``;
        ``None`` where no position can be justified offline.
    size : tuple of float or None
        Cut-out (width, height) in arcsec; ``None`` keeps the full frame.
    cadence : astropy.units.Quantity or None
        Native cadence of the channel; ``None`` where it is not fixed (SOT).
    every : int or None
        Default sampling for downloads: every Nth frame.
    figure : str
        Where the paper shows it (``"Figure 4"``, ``"section 4.2.1"``).
    panel : str or None
        The panel of ``figure`` (``"left"``), if it has several.
    paper_result : str
        What the paper's network answered.
    expected_class : str
        The class a perfect classifier would give (one of :data:`slic_lib.classes.CLASSES`).
    simulation : Simulation
        The simulator's settings for it.
    manual : str or None
        Manual download step (a template, see :data:`SOT_MANUAL_STEP`) where no Fido client
        serves the data.
    cache : str or None
        Download folder name shared by observations cut from the same frames (the two
        prominences of 2013-01-01); ``None`` uses ``key``.
    """

    key: str
    instrument: str
    wavelength: u.Quantity
    start: str
    end: str
    target: str
    noaa: int | None
    center: tuple[float, float] | None
    size: tuple[float, float] | None
    cadence: u.Quantity | None
    every: int | None
    figure: str
    panel: str | None
    paper_result: str
    expected_class: str
    simulation: Simulation
    manual: str | None = None
    cache: str | None = None

    def __post_init__(self):
        if self.expected_class not in CLASSES:
            raise ValueError(f"{self.key}: expected class {self.expected_class!r} is not one of {CLASSES}")
        if self.instrument not in ("AIA", "SOT"):
            raise ValueError(f"{self.key}: unknown instrument {self.instrument!r}")

    @property
    def on_disk(self) -> bool:
        """True for active regions (rotated with the Sun), False for limb prominences."""
        return self.noaa is not None

    @property
    def frames(self) -> int | None:
        """Number of frames in the time range at the native cadence (``None`` without one)."""
        if self.cadence is None:
            return None
        span = (Time(self.end) - Time(self.start)).to(u.s)
        return round((span / self.cadence).decompose().value)

    @property
    def where(self) -> str:
        """The figure and panel, e.g. ``"Figure 6 (left)"``."""
        return f"{self.figure} ({self.panel})" if self.panel else self.figure

    @property
    def description(self) -> str:
        """One line: target, instrument, channel and where the paper shows it."""
        panel = f", {self.panel}" if self.panel else ""
        return (f"{self.target} in {self.instrument} {self.wavelength.to_value(u.AA):.0f} A, "
                f"{self.start[:10]} (paper {self.figure}{panel})")


# --------------------------------------------------------------------------- the registry

_SUNSPOT_BOX = (300.0, 300.0)
_LIMB_BOX = (400.0, 400.0)
_UV_RESULT = "sunspot classified sometimes as sunspots, sometimes as flares or prominences"
# Time stamp (seconds past the start minute) of the first AIA frame in the archive: 1600 A frames
# fall 16.12 s (or 4.12 s) past a minute, 1700 A 6.72 s, 304 A 7.13 s.
_UV_FIRST = {1600: "16.12", 1700: "06.72"}


def _limb(rsun_arcsec: float, position_angle_deg: float, height: float = 60.0) -> tuple[float, float]:
    """A simulator pointing ``height`` arcsec above the limb; the angle is counter-clockwise
    from solar west (+x), so the east limb is at 180 degrees."""
    a = math.radians(position_angle_deg)
    return (round((rsun_arcsec + height) * math.cos(a), 1), round((rsun_arcsec + height) * math.sin(a), 1))


def _aia(key, wave, start, end, target, noaa, center, figure, panel, result, pointing, stream, first,
         every=5, cache=None, spots="group") -> Observation:
    """An AIA observation: 1600/1700 A sunspots of an active region, or a 304 A limb prominence."""
    sunspot = wave in (1600, 1700)
    sim = Simulation(
        kind=f"{wave}_sunspot" if sunspot else "304_prominence",
        first_frame=f"{start[:-2]}{first}",
        pointing=pointing,
        stream=stream,
        spots=spots if sunspot else None,
        spots_stream=target if sunspot else None,
    )
    return Observation(
        key, "AIA", wave * u.AA, start, end, target, noaa, center,
        _SUNSPOT_BOX if sunspot else _LIMB_BOX, (24 if sunspot else 12) * u.s, every, figure, panel,
        result, "sunspots" if sunspot else "prominences", sim, cache=cache,
    )


def _region(noaa: int, day: str, center, figure_1600: str, pointing) -> list[Observation]:
    """The 1600 and 1700 A observations of one active region, 12:00-13:00 UT (Figs. 4, 8, 9 and
    section 4.2.1)."""
    start, end = f"{day}T12:00:00", f"{day}T13:00:00"
    return [
        _aia(f"ar{noaa}-{w}", w, start, end, f"AR{noaa}", noaa, center,
             figure_1600 if w == 1600 else "section 4.2.1", None, _UV_RESULT, pointing, f"AR{noaa}_{w}",
             _UV_FIRST[w])
        for w in (1600, 1700)
    ]


_AR11108 = dict(start="2010-09-25T08:05:00", end="2010-09-25T09:20:00", pointing=(300.0, -400.0))

_ALL = [
    *_region(11638, "2013-01-01", (-212.0, 270.0), "Figure 4", (-350.0, 300.0)),
    *_region(12665, "2017-07-10", (-276.0, -160.0), "Figure 8", (-250.0, -100.0)),
    *_region(12674, "2017-09-06", (467.0, 95.0), "Figure 9", (-300.0, 250.0)),
    _aia("ar11108-1600", 1600, _AR11108["start"], _AR11108["end"], "AR11108", 11108, None, "Figure 5",
         "left", "sunspot misclassified as flares", _AR11108["pointing"], "AR11108_1600", "04.12",
         spots="single"),
    Observation(
        "ar11108-sot-halpha", "SOT", 6563 * u.AA, _AR11108["start"], _AR11108["end"], "AR11108", 11108,
        None, None, None, None, "Figure 5", "middle, right",
        "classified as sunspots at full and at AIA-degraded resolution", "sunspots",
        # SOT's H-alpha cadence during this run is not in the paper; 60 s is illustrative
        Simulation("halpha", "2010-09-25T08:05:10.0", _AR11108["pointing"], "AR11108_SOT_halpha",
                   spots="single", spots_stream="AR11108", cadence=60.0, fov=82.0),
        manual=SOT_MANUAL_STEP,
    ),
    _aia("prominence-2012-08-31-304", 304, "2012-08-31T12:00:00", "2012-08-31T13:00:00",
         "prominence, east limb", None, (-990.0, 0.0), "Figure 6", "right",
         "flares and prominences with comparable probability", _limb(954.0, 195.0),
         "prominence_20120831_304", "07.13", every=10),
    _aia("prominence-2013-01-01-ne-304", 304, "2013-01-01T10:00:00", "2013-01-01T11:00:00",
         "prominence, north-east limb", None, (-707.0, 707.0), "Figure 6", "left", "classified as flares",
         _limb(975.0, 150.0), "prominence_20130101_NE_304", "07.13", every=10, cache="prominences-2013-01-01-304"),
    _aia("prominence-2013-01-01-se-304", 304, "2013-01-01T10:00:00", "2013-01-01T11:00:00",
         "prominence, south-east limb", None, (-707.0, -707.0), "Figure 6", "middle", "classified as flares",
         _limb(975.0, 210.0), "prominence_20130101_SE_304", "07.13", every=10, cache="prominences-2013-01-01-304"),
]

OBSERVATIONS: Mapping[str, Observation] = types.MappingProxyType({o.key: o for o in _ALL})
"""key -> observation: every observation the paper tests on (Sect. 4.2, Figs. 4-6, 8, 9), read only."""

_ADVERSARIAL = (
    "ar11638-1600", "ar11638-1700", "ar12665-1600", "ar12665-1700", "ar12674-1600", "ar12674-1700",
    "prominence-2012-08-31-304", "prominence-2013-01-01-ne-304", "prominence-2013-01-01-se-304",
)
_RESOLUTION_PAIR = ("ar11108-sot-halpha", "ar11108-1600")


def observation(key: str) -> Observation:
    """The registry entry ``key``.

    Raises
    ------
    SlicError
        For an unknown key; the message lists the valid ones.
    """
    try:
        return OBSERVATIONS[key]
    except KeyError:
        raise SlicError(
            f"unknown observation {key!r}; choose one of {', '.join(OBSERVATIONS)} (see `slic fido list`)."
        ) from None


def adversarial_tests() -> tuple[str, ...]:
    """Keys of notebook 05's tests, in order: AIA 1600/1700 A sunspots of AR11638, AR12665 and
    AR12674 (Figures 4, 8, 9 and section 4.2.1), then the three 304 A prominences (Figure 6)."""
    return _ADVERSARIAL


def resolution_pair() -> tuple[str, str]:
    """Keys (SOT, AIA) of Figure 5's co-temporal AR11108 pair: Hinode/SOT H-alpha and AIA 1600 A."""
    return _RESOLUTION_PAIR
