"""The paper's SDO/AIA (and Hinode/SOT) test observations: registry, Fido queries, cut-outs.

Armstrong & Fletcher (2019, Sect. 4.2) test the H-alpha-trained network on:

* sunspots in AIA 1600 and 1700 A: AR11638 (2013-01-01), AR12665 (2017-07-10) and AR12674
  (2017-09-06), each 12:00-13:00 UT (Figs. 4, 8, 9);
* AR11108 on 2010-09-25, AIA 1600 A 08:05-09:20 UT, with co-temporal Hinode/SOT H-alpha frames
  (Fig. 5);
* prominences in AIA 304 A: 2012-08-31 12:00-13:00 UT (east limb) and 2013-01-01 10:00-11:00 UT
  (two prominences, north-east and south-east limb) (Fig. 6).

:data:`OBSERVATIONS` holds one entry per (target, channel). :func:`query` builds the Fido attrs
(pure, offline), :func:`search` and :func:`fetch` talk to the VSO through ``sunpy.net.Fido``,
and :func:`load` returns cut-outs around the target, prepared to AIA level 1.5 with aiapy when
it is installed (``pip install slic_lib[aia]``).

Region centres
--------------
The NOAA positions are looked up at run time in the HEK (``sunpy.net.hek``, the NOAA SWPC
active-region events for the NOAA number, nearest the start time). Without a network the
offline table in :data:`OBSERVATIONS` is used; its helioprojective centres at the start time were
computed with sunpy (differential rotation, Earth observer) from these daily reports:

* AR11638: N13W07 at 2013-01-03 00:00 UT (solen.info report of 2013-01-03), i.e. N13E13 at the
  start time;
* AR12665: S06E17 on 2017-07-10 12:00 UT, interpolated between its central-meridian passage on
  about 11 July (SPA solar report for July 2017, latitude S06) and the S06W29 site of its
  M2.4 flare on 2017-07-14 (GOES event list); uncertain by a few degrees;
* AR12674: N12W83 at about 12 UT on 2017-09-10 (solen.info report of 2017-09-11), i.e. N12W30 on
  2017-09-06 12:00 UT;
* AR11108: no offline position (HEK or an explicit ``center=`` is required);
* prominences: the paper's wording ("off the eastern limb", "north-east", "south-east") placed
  25-40 arcsec outside the limb at position angles 90, 45 and 135 degrees; approximate.

Each frame's cut-out centre is the start-time centre rotated differentially to the frame's time
(``sunpy.coordinates.propagate_with_solar_surface``); off-limb targets are not rotated.

Hinode/SOT H-alpha
------------------
No Fido client in sunpy 7 serves calibrated SOT filtergrams: the VSO indexes SOT but only level-0
FG data (sunpy pull request 8566 adds DARTS/LMSAL scraper clients, not released). So the
``ar11108-sot-halpha`` entry can be *searched* (VSO, level 0) but not fetched: download the
co-temporal SOT/NFI H-I 6563 A level-1 frames from the Hinode Science Data Centre Europe
(http://sdc.uio.no/sdc/, the archive the paper cites) or DARTS
(https://darts.isas.jaxa.jp/solar/hinode/) and put the FITS files in
``data/fido/ar11108-sot-halpha/``; :func:`load` then reads them.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from . import paths
from .classes import CLASSES
from .errors import SlicError

log = logging.getLogger(__name__)

SOT_MANUAL_STEP = (
    "no Fido client serves calibrated Hinode/SOT H-alpha frames (the VSO has level 0 only), so "
    "download the SOT/NFI H-I 6563 A level-1 frames for {start}-{end} UT from the Hinode Science "
    "Data Centre Europe (http://sdc.uio.no/sdc/) or DARTS (https://darts.isas.jaxa.jp/solar/hinode/) "
    "and put the FITS files in {folder}"
)


@dataclass(frozen=True)
class Observation:
    """One test observation of the paper.

    Attributes
    ----------
    name
        Registry key, also the cache folder name.
    instrument, wavelength
        ``"AIA"`` or ``"SOT"``; the channel / filter centre.
    start, end
        UTC time range (ISO strings).
    target
        What is observed (``"AR11638"``, ``"prominence, east limb"``).
    noaa
        NOAA active-region number (looked up in the HEK), ``None`` for limb targets.
    expected_class
        The class a perfect classifier would give (one of ``slic_lib.classes.CLASSES``).
    center
        Offline cut-out centre (Tx, Ty) in arcsec, helioprojective, Earth observer, at ``start``;
        ``None`` where no position can be justified offline.
    size
        Cut-out (width, height) in arcsec; ``None`` keeps the full frame.
    cadence
        Native cadence of the channel (AIA UV 24 s, EUV 12 s).
    every
        Default sampling: every Nth frame (``query(name, sample=N)`` overrides it).
    figure, paper_result
        Where the paper shows it and what the network answered there.
    manual
        Manual download step where no Fido client serves the data, else ``None``.
    cache
        Cache folder name when several observations share the same frames (the two prominences
        of 2013-01-01), else ``None`` (the folder is ``name``).
    """

    name: str
    instrument: str
    wavelength: u.Quantity
    start: str
    end: str
    target: str
    noaa: int | None
    expected_class: str
    center: tuple[float, float] | None
    size: tuple[float, float] | None
    cadence: u.Quantity | None
    every: int | None
    figure: str
    paper_result: str
    manual: str | None = None
    cache: str | None = None

    @property
    def on_disk(self) -> bool:
        """True for active regions (rotated with the Sun), False for limb prominences."""
        return self.noaa is not None

    @property
    def frames(self) -> int | None:
        """Number of frames in the time range at the native cadence."""
        if self.cadence is None:
            return None
        span = (Time(self.end) - Time(self.start)).to(u.s)
        return round((span / self.cadence).decompose().value)

    def sample_interval(self, sample: int | None = None) -> u.Quantity | None:
        """Time between the frames asked for: ``sample`` (default :attr:`every`) x cadence."""
        every = self.every if sample is None else sample
        if every is None or self.cadence is None:
            return None
        if int(every) != every or every < 1:
            raise SlicError(f"sample must be a positive whole number of frames, not {every!r}.")
        return int(every) * self.cadence


def _aia(name, wavelength, start, end, target, noaa, expected, center, size, figure, result, every=5,
         cache=None):
    cadence = (24 if wavelength in (1600, 1700) else 12) * u.s
    return Observation(name, "AIA", wavelength * u.AA, start, end, target, noaa, expected,
                       center, size, cadence, every, figure, result, cache=cache)


_SUNSPOT_BOX = (300.0, 300.0)
_LIMB_BOX = (400.0, 400.0)
_UV_RESULT = "sunspot classified sometimes as sunspots, sometimes as flares or prominences"

#: name -> observation; every observation the paper names (Sect. 4.2, Figs. 4-6, 8, 9).
OBSERVATIONS: dict[str, Observation] = {
    o.name: o
    for o in (
        *(
            _aia(f"ar11638-{w}", w, "2013-01-01T12:00:00", "2013-01-01T13:00:00", "AR11638", 11638,
                 "sunspots", (-212.0, 270.0), _SUNSPOT_BOX, "Fig. 4" if w == 1600 else "Sect. 4.2.1",
                 _UV_RESULT)
            for w in (1600, 1700)
        ),
        *(
            _aia(f"ar12665-{w}", w, "2017-07-10T12:00:00", "2017-07-10T13:00:00", "AR12665", 12665,
                 "sunspots", (-276.0, -160.0), _SUNSPOT_BOX, "Fig. 8" if w == 1600 else "Sect. 4.2.1",
                 _UV_RESULT)
            for w in (1600, 1700)
        ),
        *(
            _aia(f"ar12674-{w}", w, "2017-09-06T12:00:00", "2017-09-06T13:00:00", "AR12674", 12674,
                 "sunspots", (467.0, 95.0), _SUNSPOT_BOX, "Fig. 9" if w == 1600 else "Sect. 4.2.1",
                 _UV_RESULT)
            for w in (1600, 1700)
        ),
        _aia("ar11108-1600", 1600, "2010-09-25T08:05:00", "2010-09-25T09:20:00", "AR11108", 11108,
             "sunspots", None, _SUNSPOT_BOX, "Fig. 5 (left)", "sunspot misclassified as flares"),
        Observation(
            "ar11108-sot-halpha", "SOT", 6563 * u.AA, "2010-09-25T08:05:00", "2010-09-25T09:20:00",
            "AR11108", 11108, "sunspots", None, None, None, None, "Fig. 5 (middle, right)",
            "classified as sunspots at full and at AIA-degraded resolution",
            manual=SOT_MANUAL_STEP,
        ),
        _aia("prominence-2012-08-31-304", 304, "2012-08-31T12:00:00", "2012-08-31T13:00:00",
             "prominence, east limb", None, "prominences", (-990.0, 0.0), _LIMB_BOX, "Fig. 6 (right)",
             "flares and prominences with comparable probability", every=10),
        _aia("prominence-2013-01-01-ne-304", 304, "2013-01-01T10:00:00", "2013-01-01T11:00:00",
             "prominence, north-east limb", None, "prominences", (-707.0, 707.0), _LIMB_BOX,
             "Fig. 6 (left)", "classified as flares", every=10, cache="prominences-2013-01-01-304"),
        _aia("prominence-2013-01-01-se-304", 304, "2013-01-01T10:00:00", "2013-01-01T11:00:00",
             "prominence, south-east limb", None, "prominences", (-707.0, -707.0), _LIMB_BOX,
             "Fig. 6 (middle)", "classified as flares", every=10, cache="prominences-2013-01-01-304"),
    )
}

assert all(o.expected_class in CLASSES for o in OBSERVATIONS.values())


def observation(name: str) -> Observation:
    """The registry entry ``name``, or a :class:`SlicError` listing the valid names."""
    try:
        return OBSERVATIONS[name]
    except KeyError:
        raise SlicError(f"unknown observation {name!r}; run `slic fido list` for the names.") from None


def cache_dir(name: str) -> Path:
    """Folder where the frames of ``name`` are downloaded (``<data>/fido/<name>``, or the shared
    folder of observations cut from the same frames)."""
    obs = observation(name)
    return paths.data_root() / "fido" / (obs.cache or obs.name)


def manual_step(name: str) -> str | None:
    """The manual download step for an observation no Fido client serves, else ``None``."""
    obs = observation(name)
    if obs.manual is None:
        return None
    return obs.manual.format(start=f"{obs.start[:10]} {obs.start[11:16]}", end=obs.end[11:16], folder=cache_dir(name))


# --------------------------------------------------------------------------- Fido


def query(name: str, sample: int | None = None) -> tuple:
    """Fido attrs for an observation (pure; no network).

    Parameters
    ----------
    name
        Key of :data:`OBSERVATIONS`.
    sample
        Every Nth frame (``1`` = every frame); default the registry's ``every``.

    Returns
    -------
    tuple of sunpy.net.attr.Attr
        ``a.Time``, ``a.Instrument``, ``a.Wavelength`` and, when sampling, ``a.Sample``; for SOT
        also ``a.Source("Hinode")``. Pass them to ``Fido.search(*attrs)``.
    """
    from sunpy.net import attrs as a

    obs = observation(name)
    attrs = [a.Time(obs.start, obs.end), a.Instrument(obs.instrument), a.Wavelength(obs.wavelength)]
    if obs.instrument == "SOT":
        attrs.insert(1, a.Source("Hinode"))
    interval = obs.sample_interval(sample)
    if interval is not None and interval > obs.cadence:
        attrs.append(a.Sample(interval))
    return tuple(attrs)


def _network_error(what: str, exc: BaseException) -> SlicError:
    return SlicError(f"cannot reach the VSO to {what} ({exc}); check your network and try again.")


def search(name: str, sample: int | None = None):
    """Search the VSO for the frames of ``name``; returns a ``UnifiedResponse``."""
    from sunpy.net import Fido
    from sunpy.util.exceptions import SunpyConnectionWarning

    attrs = query(name, sample)
    try:
        with warnings.catch_warnings():  # one SlicError instead of a warning per VSO mirror
            warnings.simplefilter("ignore", SunpyConnectionWarning)
            return Fido.search(*attrs)
    except (ConnectionError, OSError) as exc:
        raise _network_error(f"search for {name}", exc) from exc


def fetch(name: str, path: str | Path | None = None, sample: int | None = None,
          progress: bool = True) -> list[Path]:
    """Download the frames of ``name`` into a cache folder; files already there are kept.

    Parameters
    ----------
    name
        Key of :data:`OBSERVATIONS`.
    path
        Folder; default :func:`cache_dir` (``<data>/fido/<name>``).
    sample
        Every Nth frame; default the registry's ``every``.
    progress
        parfive/tqdm progress bars.

    Returns
    -------
    list of pathlib.Path
        The FITS files of this observation in the folder, sorted.
    """
    step = manual_step(name)
    if step is not None:
        raise SlicError(step + ".")
    folder = Path(path) if path is not None else cache_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    result = search(name, sample)
    if len(result) == 0 or sum(len(r) for r in result) == 0:
        raise SlicError(f"the VSO returned no frames for {name}; try again later or with --sample 1.")
    from sunpy.net import Fido

    files = Fido.fetch(result, path=str(folder / "{file}"), overwrite=False, progress=progress)
    if files.errors:
        raise SlicError(
            f"{len(files.errors)} of {len(files) + len(files.errors)} downloads for {name} failed "
            f"({files.errors[0].exception}); run the same command again to fetch the missing ones."
        )
    return sorted(Path(f) for f in files)


def local_files(name: str, folder: str | Path | None = None) -> list[Path]:
    """FITS files of ``name`` already in its cache folder (or ``folder``)."""
    folder = Path(folder) if folder is not None else cache_dir(name)
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".fits", ".fts", ".fit") or p.name.endswith(".fits.gz"))


# --------------------------------------------------------------------------- region centres


def _hek_center(noaa: int, time: Time) -> SkyCoord | None:
    """Position of NOAA ``noaa`` from the HEK SWPC events nearest ``time``; ``None`` if unknown."""
    from sunpy.coordinates import frames
    from sunpy.net import attrs as a
    from sunpy.net import hek

    table = hek.HEKClient().search(a.Time(time - 1 * u.day, time + 1 * u.day), a.hek.AR,
                                   a.hek.AR.NOAANum == noaa)
    if table is None or len(table) == 0:
        return None
    rows = [r for r in table if "NOAA" in str(r["frm_name"]).upper()] or list(table)
    rows = [r for r in rows if int(r["ar_noaanum"]) == noaa]
    if not rows:
        return None
    best = min(rows, key=lambda r: abs((Time(r["event_starttime"]) - time).to_value(u.s)))
    when = Time(best["event_starttime"])
    return SkyCoord(u.Quantity(best["hpc_x"], u.arcsec), u.Quantity(best["hpc_y"], u.arcsec),
                    frame=frames.Helioprojective(observer="earth", obstime=when))


def region_center(name: str, use_hek: bool = True) -> SkyCoord:
    """Centre of the target of ``name`` as a helioprojective SkyCoord (Earth observer).

    The HEK position of the NOAA region is used when it can be reached (its ``obstime`` is the
    HEK event time; :func:`cutout` rotates it to each frame); otherwise the offline centre of the
    registry at the start time.
    """
    from sunpy.coordinates import frames

    obs = observation(name)
    start = Time(obs.start)
    if use_hek and obs.noaa is not None:
        try:
            found = _hek_center(obs.noaa, start)
        except (OSError, ValueError, KeyError) as exc:  # no network, or an unexpected answer
            log.info("HEK lookup of AR%s failed (%s); using the offline table", obs.noaa, exc)
            found = None
        if found is not None:
            return found
    if obs.center is None:
        raise SlicError(
            f"there is no offline position for {obs.target} and the HEK could not be reached; "
            f"pass center=SkyCoord(Tx, Ty, frame=...) to load()."
        )
    return SkyCoord(obs.center[0] * u.arcsec, obs.center[1] * u.arcsec,
                    frame=frames.Helioprojective(observer="earth", obstime=start))


# --------------------------------------------------------------------------- maps


def cutout(smap, center: SkyCoord, size: tuple[float, float] | u.Quantity, rotate: bool = True):
    """Cut a (width, height) box around ``center`` out of ``smap``.

    Parameters
    ----------
    smap : sunpy.map.GenericMap
        Map of one frame.
    center
        Target position at any time; with ``rotate`` it is moved differentially with the solar
        surface to the map's time and observer, else its Tx/Ty are used as they are (off-limb).
    size
        Box width and height in arcsec (floats or a Quantity).
    rotate
        Rotate with the solar surface (on-disk targets).
    """
    from sunpy.coordinates import propagate_with_solar_surface

    width, height = u.Quantity(size, u.arcsec)
    frame = smap.coordinate_frame
    if rotate:
        with propagate_with_solar_surface():
            moved = center.transform_to(frame)
    else:
        moved = SkyCoord(center.Tx, center.Ty, frame=frame)
    if not (np.isfinite(moved.Tx.value) and np.isfinite(moved.Ty.value)):
        raise SlicError(f"the cut-out centre {center} is not on the solar disk at {smap.date.isot}.")
    bottom_left = SkyCoord(moved.Tx - width / 2, moved.Ty - height / 2, frame=frame)
    top_right = SkyCoord(moved.Tx + width / 2, moved.Ty + height / 2, frame=frame)
    return smap.submap(bottom_left, top_right=top_right)


_warned_no_aiapy = False


def prep_aia(smap):
    """AIA level 1 -> 1.5 with ``aiapy.calibrate.register`` and exposure normalisation (DN/s).

    aiapy is optional (``pip install slic_lib[aia]``); without it a warning is issued once and
    the level-1 map is returned unchanged. The pointing update (``update_pointing``) needs the
    JSOC pointing table online and is not applied.
    """
    global _warned_no_aiapy
    try:
        from aiapy.calibrate import register
    except ImportError:
        if not _warned_no_aiapy:
            warnings.warn("aiapy is not installed, so AIA maps stay at level 1 "
                          "(pip install 'slic_lib[aia]' for level 1.5).", UserWarning, stacklevel=3)
            _warned_no_aiapy = True
        return smap
    level15 = register(smap)
    return level15 / level15.exposure_time


def load(name: str, files: Sequence[str | Path] | None = None, center: SkyCoord | None = None,
         prep: bool = True, use_hek: bool = True) -> list:
    """Read the frames of ``name`` as cut-outs around the target.

    Parameters
    ----------
    name
        Key of :data:`OBSERVATIONS`.
    files
        FITS files; default those in the cache folder (see :func:`fetch`).
    center
        Target centre at any time (overrides HEK and the offline table).
    prep
        Prepare AIA maps to level 1.5 with aiapy (see :func:`prep_aia`).
    use_hek
        Look the NOAA region up in the HEK first.

    Returns
    -------
    list of sunpy.map.GenericMap
        One cut-out per file, in time order (full frames where the registry has no size).
    """
    import sunpy.map

    obs = observation(name)
    files = list(files) if files is not None else local_files(name)
    if not files:
        step = manual_step(name)
        raise SlicError(step + "." if step else f"no frames of {name} in {cache_dir(name)}; run `slic fido fetch {name}` first.")
    maps = sorted((sunpy.map.Map(str(f)) for f in files), key=lambda m: m.date)
    if obs.size is None:
        return maps
    center = center if center is not None else region_center(name, use_hek)
    out = []
    for smap in maps:
        if prep and obs.instrument == "AIA":
            smap = prep_aia(smap)
        out.append(cutout(smap, center, obs.size, rotate=obs.on_disk))
    return out


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``slic fido``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="the paper's observations")
    for action, help_ in (("search", "search the VSO"), ("fetch", "download into data/fido/NAME")):
        p = sub.add_parser(action, help=help_)
        p.add_argument("name", help="observation name (see `slic fido list`)")
        p.add_argument("--sample", type=int, default=None, help="every Nth frame (1 = all)")
        if action == "fetch":
            p.add_argument("--dest", type=Path, default=None, help="folder (default data/fido/NAME)")


def run(args: argparse.Namespace) -> int:
    """Run ``slic fido list|search|fetch``."""
    if args.action == "list":
        print(_listing())
        return 0
    step = manual_step(args.name)
    if args.action == "search":
        print(search(args.name, args.sample))
        if step:
            print(f"note: {step}.")
        return 0
    files = fetch(args.name, args.dest, args.sample)
    print(f"{len(files)} files of {args.name} in {files[0].parent if files else args.dest}")
    return 0


def _listing() -> str:
    lines = [f"{'name':30} {'instr':5} {'channel':>8}  {'time (UT)':24} {'target':28} {'expect':11} frames  every"]
    for o in OBSERVATIONS.values():
        frames = "manual" if o.manual else str(o.frames)
        lines.append(
            f"{o.name:30} {o.instrument:5} {o.wavelength.to_value(u.AA):>6.0f} A  "
            f"{o.start[:10]} {o.start[11:16]}-{o.end[11:16]}{'':7} {o.target:28} {o.expected_class:11} "
            f"{frames:>6}  {o.every or '-':>5}"
        )
    return "\n".join(lines)
