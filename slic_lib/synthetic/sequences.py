"""Observation sequences: the labelled SOT training set and the paper's AIA/SOT time series.

:func:`generate` writes ``outdir/<class>/FGyyyymmdd_hhmmss.s.fits`` for every class, made of
observing runs of ``frames_per_sequence`` near-identical frames a few seconds apart (same
pointing; seeing, jitter, exposure and noise change), runs at random dates in 2007-2016 at
least two hours apart -- so a split by time gaps keeps a run on one side, while the paper's
every-10th-file split does not. Work is spread over processes one run at a time; every run
gets its own ``SeedSequence`` child, so the arrays do not depend on the number of workers.

:data:`PAPER_SEQUENCES` lists the observations the paper tests on, and
:func:`generate_sequence` simulates one of them at the instrument's real cadence.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..classes import CLASSES
from ..errors import SlicError
from . import features as ft
from .aia import aia_frame, aia_scene
from .headers import aia_filename, sot_filename, write_fits
from .sot import sot_frame, sot_scene

__all__ = ["PaperSequence", "PAPER_SEQUENCES", "generate", "generate_sequence", "frame_times"]

MIN_RUN_GAP = dt.timedelta(hours=2)


def _check_outdir(outdir: str | Path) -> Path:
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        probe = outdir / ".slic_write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SlicError(f"cannot write to output folder {outdir} ({exc.strerror or exc}).") from None
    return outdir


def _check_positive(name: str, value: int | None, minimum: int = 1) -> None:
    if value is not None and (not isinstance(value, (int, np.integer)) or value < minimum):
        raise SlicError(f"{name} must be an integer of at least {minimum}, not {value!r}.")


def _run_dates(rng: np.random.Generator, n: int) -> list[dt.datetime]:
    """``n`` sorted random run start times in 2007-2016, at least ``MIN_RUN_GAP`` apart."""
    start = dt.datetime(2007, 1, 1)
    span = (dt.datetime(2017, 1, 1) - start).total_seconds() - n * MIN_RUN_GAP.total_seconds()
    offsets = np.sort(rng.uniform(0, max(span, 1.0), n))
    # adding k gaps to the k-th sorted offset keeps order and guarantees the spacing
    return [start + dt.timedelta(seconds=round(float(o), 1)) + k * MIN_RUN_GAP for k, o in enumerate(offsets)]


def _sot_run(class_name: str, seedseq: np.random.SeedSequence, date: dt.datetime, n_frames: int, size: int,
             outdir: str, sequence_id: str, seed_text: str) -> list[str]:
    """Render and write one observing run (executed in a worker process)."""
    scene_ss, *frame_ss = seedseq.spawn(n_frames + 1)
    rng = np.random.default_rng(scene_ss)
    cadence = round(float(rng.uniform(2.0, 20.0)), 1)
    scene, date, eph = sot_scene(class_name, rng, size, date=date)
    paths = []
    for k, ss in enumerate(frame_ss):
        sim = sot_frame(scene, np.random.default_rng(ss), date, eph, t=k * cadence, frame=k,
                        sequence_id=sequence_id, seed=seed_text)
        paths.append(str(write_fits(sim, Path(outdir) / class_name / sot_filename(sim.date_obs))))
    return paths


def generate(
    outdir: str | Path,
    per_class: int,
    seed: int = 0,
    size: int = 512,
    frames_per_sequence: int = 4,
    workers: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Write a labelled, simulated Hinode/SOT H-alpha dataset as FITS class folders.

    Parameters
    ----------
    outdir : str or Path
        Output folder; ``outdir/<class>/`` is made for every class of ``slic_lib.classes.CLASSES``.
    per_class : int
        Images per class.
    seed : int
        Root seed; the same seed gives identical data whatever ``workers`` is.
    size : int
        Image width and height in pixels.
    frames_per_sequence : int
        Frames per observing run (the last run of a class may be shorter).
    workers : int, optional
        Processes; ``None`` uses every CPU, 1 runs in this process.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of Path
        Written files, class by class in time order.

    Raises
    ------
    SlicError
        For a bad count, size or worker number, or an output folder that cannot be written.
    """
    _check_positive("per_class", per_class)
    _check_positive("size", size, 16)
    _check_positive("frames_per_sequence", frames_per_sequence)
    _check_positive("workers", workers)
    outdir = _check_outdir(outdir)
    seed_text = f"seed={seed} (numpy SeedSequence; per-class, per-run and per-frame spawn)"
    tasks = []
    for class_name, class_ss in zip(CLASSES, np.random.SeedSequence(seed).spawn(len(CLASSES))):
        date_ss, runs_ss = class_ss.spawn(2)
        n_runs = math.ceil(per_class / frames_per_sequence)
        dates = _run_dates(np.random.default_rng(date_ss), n_runs)
        for k, (run_ss, date) in enumerate(zip(runs_ss.spawn(n_runs), dates)):
            n_frames = min(frames_per_sequence, per_class - k * frames_per_sequence)
            seq_id = f"{class_name}-{k:05d}-{date:%Y%m%dT%H%M%S}"
            tasks.append((class_name, run_ss, date, n_frames, size, str(outdir), seq_id, seed_text))
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    results: dict[int, list[str]] = {}
    with tqdm(total=per_class * len(CLASSES), unit="img", desc="slic synth", disable=not progress) as bar:
        if n_workers == 1:
            for i, task in enumerate(tasks):
                results[i] = _sot_run(*task)
                bar.update(len(results[i]))
        else:
            with ProcessPoolExecutor(max_workers=n_workers) as pool:
                futures = {pool.submit(_sot_run, *task): i for i, task in enumerate(tasks)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(len(results[futures[fut]]))
    return [Path(p) for i in range(len(tasks)) for p in results[i]]


@dataclass(frozen=True)
class PaperSequence:
    """One observation the paper classifies (simulated here at the real times and cadence).

    ``pointing`` (arcsec) is illustrative, not the measured position of the region.
    """

    name: str
    instrument: str
    wavelength: float
    start: dt.datetime
    end: dt.datetime
    cadence: float
    expected_class: str
    description: str
    kind: str
    target: str
    pointing: tuple[float, float]


def _seq(name, instrument, wave, start, end, cadence, cls, desc, kind, target, pointing) -> PaperSequence:
    return PaperSequence(name, instrument, float(wave), dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end),
                         float(cadence), cls, desc, kind, target, pointing)


def _limb(rsun_arcsec: float, position_angle_deg: float, height: float = 60.0) -> tuple[float, float]:
    # position angle measured counter-clockwise from solar west (+x); east limb is 180 deg
    a = math.radians(position_angle_deg)
    return (round((rsun_arcsec + height) * math.cos(a), 1), round((rsun_arcsec + height) * math.sin(a), 1))


PAPER_SEQUENCES: dict[str, PaperSequence] = {
    s.name: s
    for s in [
        _seq("AR11638_1600", "AIA", 1600, "2013-01-01T12:00:16.12", "2013-01-01T13:00:00", 24, "sunspots",
             "AR11638 in AIA 1600 A with bright plage (paper Fig. 4)", "1600_sunspot", "AR11638", (-350.0, 300.0)),
        _seq("AR11638_1700", "AIA", 1700, "2013-01-01T12:00:06.72", "2013-01-01T13:00:00", 24, "sunspots",
             "AR11638 in AIA 1700 A", "1700_sunspot", "AR11638", (-350.0, 300.0)),
        _seq("AR12665_1600", "AIA", 1600, "2017-07-10T12:00:16.12", "2017-07-10T13:00:00", 24, "sunspots",
             "AR12665 in AIA 1600 A (paper Fig. 8)", "1600_sunspot", "AR12665", (-250.0, -100.0)),
        _seq("AR12665_1700", "AIA", 1700, "2017-07-10T12:00:06.72", "2017-07-10T13:00:00", 24, "sunspots",
             "AR12665 in AIA 1700 A", "1700_sunspot", "AR12665", (-250.0, -100.0)),
        _seq("AR12674_1600", "AIA", 1600, "2017-09-06T12:00:16.12", "2017-09-06T13:00:00", 24, "sunspots",
             "AR12674 in AIA 1600 A (paper Fig. 9)", "1600_sunspot", "AR12674", (-300.0, 250.0)),
        _seq("AR12674_1700", "AIA", 1700, "2017-09-06T12:00:06.72", "2017-09-06T13:00:00", 24, "sunspots",
             "AR12674 in AIA 1700 A", "1700_sunspot", "AR12674", (-300.0, 250.0)),
        _seq("AR11108_1600", "AIA", 1600, "2010-09-25T08:05:04.12", "2010-09-25T09:20:00", 24, "sunspots",
             "single-spot AR11108 in AIA 1600 A, co-temporal with SOT (paper Fig. 5)", "1600_sunspot", "AR11108",
             (300.0, -400.0)),
        _seq("AR11108_SOT_halpha", "SOT/NB", 6563, "2010-09-25T08:05:10.0", "2010-09-25T09:20:00", 60, "sunspots",
             "co-temporal Hinode/SOT H-alpha of the same AR11108 spot (paper Fig. 5; cadence illustrative)", "halpha",
             "AR11108", (300.0, -400.0)),
        _seq("prominence_20120831_304", "AIA", 304, "2012-08-31T12:00:07.13", "2012-08-31T13:00:00", 12,
             "prominences", "east-limb prominence in AIA 304 A on coronal He II emission (paper Fig. 6, right)",
             "304_prominence", "2012-08-31 E limb", _limb(954.0, 195.0)),
        _seq("prominence_20130101_NE_304", "AIA", 304, "2013-01-01T10:00:07.13", "2013-01-01T11:00:00", 12,
             "prominences", "north-east limb prominence in AIA 304 A (paper Fig. 6, left)", "304_prominence",
             "2013-01-01 NE limb", _limb(975.0, 150.0)),
        _seq("prominence_20130101_SE_304", "AIA", 304, "2013-01-01T10:00:07.13", "2013-01-01T11:00:00", 12,
             "prominences", "south-east limb prominence in AIA 304 A (paper Fig. 6, middle)", "304_prominence",
             "2013-01-01 SE limb", _limb(975.0, 210.0)),
    ]
}
"""The paper's AIA (and co-temporal SOT) observations, by name."""


def frame_times(entry: PaperSequence, n_frames: int | None = None) -> list[float]:
    """Seconds after ``entry.start`` of the frames to simulate (all, or ``n_frames`` evenly spread)."""
    n_full = int((entry.end - entry.start).total_seconds() // entry.cadence) + 1
    idx = np.arange(n_full)
    if n_frames is not None and n_frames < n_full:
        idx = np.unique(np.round(np.linspace(0, n_full - 1, n_frames)).astype(int))
    return [float(i * entry.cadence) for i in idx]


def _target_spots(entry: PaperSequence, seed: int) -> list[ft.SpotSpec]:
    rng = np.random.default_rng([seed, zlib.crc32(entry.target.encode())])
    if entry.target == "AR11108":  # the paper's single-spot region
        return [ft.SpotSpec(x=0.0, y=0.0, radius=20.0, umbra_frac=0.45,
                            shape=[(float(rng.uniform(0, 0.06)), float(rng.uniform(0, 6.3))) for _ in range(4)],
                            fibril_seed=int(rng.integers(2**31)))]
    return ft.random_spot_group(rng, 150.0, n_max=3)


def generate_sequence(
    name: str,
    outdir: str | Path,
    seed: int = 0,
    size: int = 512,
    n_frames: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Simulate one :data:`PAPER_SEQUENCES` observation as time-ordered FITS files.

    Parameters
    ----------
    name : str
        Key of :data:`PAPER_SEQUENCES`.
    outdir : str or Path
        Folder for the files (AIA- or SOT-style names).
    seed : int
        Seed; the scene depends on it and the target, each frame's noise on its index too.
    size : int
        Width and height in pixels.
    n_frames : int, optional
        Simulate only this many frames, evenly spread over the hour (on the real cadence grid).
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of Path
        Files in time order.
    """
    if name not in PAPER_SEQUENCES:
        raise SlicError(f"unknown sequence {name!r}; choose one of {', '.join(PAPER_SEQUENCES)}.")
    _check_positive("size", size, 16)
    _check_positive("n_frames", n_frames)
    entry = PAPER_SEQUENCES[name]
    outdir = _check_outdir(outdir)
    key = zlib.crc32(name.encode())
    rng = np.random.default_rng([seed, key])
    spots = _target_spots(entry, seed) if entry.expected_class == "sunspots" else None
    seed_text = f"seed={seed} sequence={name}"
    if entry.instrument.startswith("SOT"):
        scene, date, eph = sot_scene("sunspots", rng, size, date=entry.start, fov=82.0, pointing=entry.pointing,
                                     spots=spots)
    else:
        scene, date, eph = aia_scene(entry.kind, rng, size, date=entry.start, pointing=entry.pointing, spots=spots)
    paths = []
    for t in tqdm(frame_times(entry, n_frames), desc=name, unit="frame", disable=not progress):
        frng = np.random.default_rng([seed, key, int(round(t * 100))])
        if entry.instrument.startswith("SOT"):
            sim = sot_frame(scene, frng, date, eph, t=t, frame=int(t // entry.cadence), sequence_id=name,
                            seed=seed_text, description=entry.description + " (simulated)")
            fname = sot_filename(sim.date_obs)
        else:
            sim = aia_frame(scene, entry.kind, frng, date, eph, t=t, frame=int(t // entry.cadence), sequence_id=name,
                            seed=seed_text, description=entry.description + " (simulated)")
            fname = aia_filename(sim.date_obs, entry.wavelength)
        paths.append(write_fits(sim, outdir / fname))
    return paths
