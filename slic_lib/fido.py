"""Fido queries, downloads and cut-outs of the paper's test observations.

The observations themselves (times, channels, targets, offline centres, sampling) are in
:mod:`slic_lib.observations`; this module turns an observation key into data:
:func:`query` builds the Fido attrs (pure, offline), :func:`search` and :func:`fetch` talk to
the VSO through ``sunpy.net.Fido``, and :func:`load` returns cut-outs around the target,
prepared to AIA level 1.5 with aiapy when it is installed (``pip install slic_lib[aia]``).
``slic fido list|search|fetch KEY`` is the command line.

Region centres
--------------
The NOAA positions are looked up at run time in the HEK (``sunpy.net.hek``, the NOAA SWPC
active-region events for the NOAA number, nearest the start time). Without a network the
offline centre of the registry is used (its sources are listed in :mod:`slic_lib.observations`).
Each frame's cut-out centre is the start-time centre rotated differentially to the frame's time
(``sunpy.coordinates.propagate_with_solar_surface``); off-limb targets are not rotated.

Hinode/SOT H-alpha
------------------
No Fido client in sunpy 7 serves calibrated SOT filtergrams: the VSO indexes SOT but only level-0
FG data (sunpy pull request 8566 adds DARTS/LMSAL scraper clients, not released). So
``ar11108-sot-halpha`` can be *searched* (VSO, level 0) but not fetched: :func:`manual_step`
says where to download the level-1 frames and where to put them; :func:`load` then reads them.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
import sunpy.map
from astropy.coordinates import SkyCoord
from astropy.time import Time
from sunpy.coordinates import frames, propagate_with_solar_surface

from . import paths
from .errors import SlicError
from .observations import OBSERVATIONS, Observation, observation

log = logging.getLogger(__name__)


def cache_dir(key: str) -> Path:
    """Folder where the frames of observation ``key`` are downloaded.

    ``<data>/fido/<key>``, or the folder shared by observations cut from the same frames.
    """
    obs = observation(key)
    return paths.data_root() / "fido" / (obs.cache or obs.key)


def manual_step(key: str) -> str | None:
    """The manual download step for an observation no Fido client serves, else ``None``."""
    obs = observation(key)
    if obs.manual is None:
        return None
    return obs.manual.format(start=f"{obs.start[:10]} {obs.start[11:16]}", end=obs.end[11:16], folder=cache_dir(key))


def sample_interval(obs: Observation, sample: int | None = None) -> u.Quantity | None:
    """Time between the frames asked for: ``sample`` (default ``obs.every``) times the cadence.

    Raises
    ------
    SlicError
        If ``sample`` is not a positive whole number.
    """
    every = obs.every if sample is None else sample
    if every is None or obs.cadence is None:
        return None
    if int(every) != every or every < 1:
        raise SlicError(f"sample must be a positive whole number of frames, not {every!r}.")
    return int(every) * obs.cadence


# --------------------------------------------------------------------------- Fido


def query(key: str, sample: int | None = None) -> tuple:
    """Fido attrs for an observation (pure; no network).

    Parameters
    ----------
    key
        Key of :data:`slic_lib.observations.OBSERVATIONS`.
    sample
        Every Nth frame (``1`` = every frame); default the registry's ``every``.

    Returns
    -------
    tuple of sunpy.net.attr.Attr
        ``a.Time``, ``a.Instrument``, ``a.Wavelength`` and, when sampling, ``a.Sample``; for SOT
        also ``a.Source("Hinode")``. Pass them to ``Fido.search(*attrs)``.
    """
    from sunpy.net import attrs as a  # sunpy.net: slow to import, needed only for queries

    obs = observation(key)
    attrs = [a.Time(obs.start, obs.end), a.Instrument(obs.instrument), a.Wavelength(obs.wavelength)]
    if obs.instrument == "SOT":
        attrs.insert(1, a.Source("Hinode"))
    interval = sample_interval(obs, sample)
    if interval is not None and interval > obs.cadence:
        attrs.append(a.Sample(interval))
    return tuple(attrs)


def _network_error(what: str, exc: BaseException) -> SlicError:
    return SlicError(f"cannot reach the VSO to {what} ({exc}); check your network and try again.")


def search(key: str, sample: int | None = None):
    """Search the VSO for the frames of ``key``; returns a ``UnifiedResponse``."""
    from sunpy.net import Fido  # sunpy.net: slow to import, needed only online
    from sunpy.util.exceptions import SunpyConnectionWarning

    attrs = query(key, sample)
    try:
        with warnings.catch_warnings():  # one SlicError instead of a warning per VSO mirror
            warnings.simplefilter("ignore", SunpyConnectionWarning)
            return Fido.search(*attrs)
    except (ConnectionError, OSError) as exc:
        raise _network_error(f"search for {key}", exc) from exc


def fetch(key: str, path: str | Path | None = None, sample: int | None = None,
          progress: bool = True) -> list[Path]:
    """Download the frames of ``key`` into a cache folder; files already there are kept.

    Parameters
    ----------
    key
        Key of :data:`slic_lib.observations.OBSERVATIONS`.
    path
        Folder; default :func:`cache_dir` (``<data>/fido/<key>``).
    sample
        Every Nth frame; default the registry's ``every``.
    progress
        parfive/tqdm progress bars.

    Returns
    -------
    list of pathlib.Path
        The FITS files of this observation in the folder, sorted.
    """
    step = manual_step(key)
    if step is not None:
        raise SlicError(step + ".")
    folder = paths.make_folder(Path(path) if path is not None else cache_dir(key), "--dest", "the downloaded frames")
    result = search(key, sample)
    if len(result) == 0 or sum(len(r) for r in result) == 0:
        raise SlicError(f"the VSO returned no frames for {key}; try again later or with --sample 1.")
    from sunpy.net import Fido  # sunpy.net: slow to import, needed only online

    files = Fido.fetch(result, path=str(folder / "{file}"), overwrite=False, progress=progress)
    if files.errors:
        raise SlicError(
            f"{len(files.errors)} of {len(files) + len(files.errors)} downloads for {key} failed "
            f"({files.errors[0].exception}); run the same command again to fetch the missing ones."
        )
    every = observation(key).every
    if path is None and (sample is None or every is None or sample <= every):  # every frame the notebooks want is there
        (folder / COMPLETE).write_text(json.dumps({"key": key, "sample": sample, "frames": len(files)}))
    return sorted(Path(f) for f in files)


COMPLETE = ".complete.json"
"""Written into an observation's cache folder once :func:`fetch` has every frame its search found."""


def is_complete(key: str) -> bool:
    """True when :func:`fetch` finished the cache folder of ``key`` (a folder filled by hand, or by an
    interrupted download, is not)."""
    return (cache_dir(key) / COMPLETE).is_file()


def local_files(key: str, folder: str | Path | None = None) -> list[Path]:
    """FITS files of ``key`` already in its cache folder (or ``folder``)."""
    folder = Path(folder) if folder is not None else cache_dir(key)
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".fits", ".fts", ".fit") or p.name.endswith(".fits.gz"))


# --------------------------------------------------------------------------- region centres


def _hek_center(noaa: int, time: Time) -> SkyCoord | None:
    """Position of NOAA ``noaa`` from the HEK SWPC events nearest ``time``; ``None`` if unknown."""
    from sunpy.net import attrs as a  # sunpy.net: slow to import, needed only online
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


def region_center(key: str, use_hek: bool = True) -> SkyCoord:
    """Centre of the target of ``key`` as a helioprojective SkyCoord (Earth observer).

    The HEK position of the NOAA region is used when it can be reached (its ``obstime`` is the
    HEK event time; :func:`cutout` rotates it to each frame); otherwise the offline centre of the
    registry at the start time.
    """
    obs = observation(key)
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
    out = smap.submap(bottom_left, top_right=top_right)
    if min(out.data.shape) < 2:  # the box misses the frame (a partial field of view placed by hand, or another target)
        raise SlicError(f"the {width.value:g}x{height.value:g}\" box around ({moved.Tx.value:.0f}\", {moved.Ty.value:.0f}\") lies outside "
                        f"the frame of {smap.date.isot} ({smap.meta.get('instrume', smap.instrument)}, {smap.data.shape[1]}x"
                        f"{smap.data.shape[0]} pixels): the frame does not show the target.")
    return out


_warned_no_aiapy = False


def prep_aia(smap):
    """AIA level 1 -> 1.5 with ``aiapy.calibrate.register`` and exposure normalisation (DN/s).

    aiapy is optional (``pip install slic_lib[aia]``); without it a warning is issued once and
    the level-1 map is returned unchanged. The pointing update (``update_pointing``) needs the
    JSOC pointing table online and is not applied.
    """
    global _warned_no_aiapy
    try:
        from aiapy.calibrate import register  # optional dependency (the "aia" extra)
    except ImportError:
        if not _warned_no_aiapy:
            warnings.warn("aiapy is not installed, so AIA maps stay at level 1 "
                          "(pip install 'slic_lib[aia]' for level 1.5).", UserWarning, stacklevel=3)
            _warned_no_aiapy = True
        return smap
    level15 = register(smap)
    return level15 / level15.exposure_time


def load(key: str, files: Sequence[str | Path] | None = None, center: SkyCoord | None = None,
         prep: bool = True, use_hek: bool = True) -> list:
    """Read the frames of ``key`` as cut-outs around the target.

    Parameters
    ----------
    key
        Key of :data:`slic_lib.observations.OBSERVATIONS`.
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
    obs = observation(key)
    files = list(files) if files is not None else local_files(key)
    if not files:
        step = manual_step(key)
        raise SlicError(step + "." if step else f"no frames of {key} in {cache_dir(key)}; run `slic fido fetch {key}` first.")
    maps = sorted((sunpy.map.Map(str(f)) for f in files), key=lambda m: m.date)
    simulated = [m for m in maps if str(m.meta.get("synthet", "")).strip().upper() in ("T", "TRUE", "1")]
    if simulated:  # the results of the Fido path are labelled as observations
        raise SlicError(f"{len(simulated)} of the {len(maps)} frames of {key} are simulated (their headers say slic_lib's "
                        f"simulator made them, SYNTHET = T); the Fido path takes observations: use --aia-source simulator for "
                        "simulated frames.")
    if obs.size is None:
        return maps
    center = center if center is not None else region_center(key, use_hek)
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
    sub.add_parser("list", help="the paper's observations: key, channel, time, target, figure, frames")
    keys = ", ".join(OBSERVATIONS)
    for action, help_ in (("search", "search the VSO"), ("fetch", "download into data/fido/KEY")):
        p = sub.add_parser(action, help=help_)
        p.add_argument("key", metavar="KEY", help=f"observation: {keys}")
        p.add_argument("--sample", type=int, default=None, help="every Nth frame (1 = all; default per observation)")
        if action == "fetch":
            p.add_argument("--dest", type=Path, default=None, help="folder (default data/fido/KEY)")


def run(args: argparse.Namespace) -> int:
    """Run ``slic fido list|search|fetch``."""
    if args.action == "list":
        print(listing())
        return 0
    step = manual_step(args.key)
    if args.action == "search":
        print(search(args.key, args.sample))
        if step:
            print(f"note: {step}.")
        return 0
    files = fetch(args.key, args.dest, args.sample)
    print(f"{len(files)} files of {args.key} in {files[0].parent if files else args.dest}")
    return 0


def listing() -> str:
    """The registry as a text table (``slic fido list``)."""
    rows = [("key", "channel", "time (UT)", "target", "paper", "expect", "frames", "every")]
    for o in OBSERVATIONS.values():
        rows.append((
            o.key, f"{o.instrument} {o.wavelength.to_value(u.AA):.0f} A",
            f"{o.start[:10]} {o.start[11:16]}-{o.end[11:16]}", o.target, o.where, o.expected_class,
            "manual" if o.manual else str(o.frames), str(o.every or "-"),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
