"""Observation sequences: the labelled SOT training set and the paper's AIA/SOT time series.

:func:`generate` writes ``outdir/<class>/FGyyyymmdd_hhmmss.s.fits`` for every class, made of
observing runs of ``frames_per_sequence`` frames a few seconds apart, as a real SOT run is: one
scene per run, seen through a PSF whose width drifts slowly (a smooth random walk), with
sub-pixel pointing jitter and fresh photon and read noise in every frame
(:func:`~slic_lib.synthetic.core.run_conditions`), so consecutive frames correlate at about
0.99, like real SOT NFI frames seconds apart, while runs differ in scene. Runs are at random
dates in 2007-2016 at least two hours apart -- so a split by time gaps keeps a run on one
side, while the Slic release's every-10th-file split puts frames of one run on both. Work is spread over processes one run at a time; every run
gets its own ``SeedSequence`` child, so the arrays do not depend on the number of workers.

:func:`generate_sequence` simulates one of the paper's test observations
(:data:`slic_lib.observations.OBSERVATIONS`, which holds the simulator's settings for each) at
the instrument's real cadence.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import zlib
from concurrent.futures import as_completed
from pathlib import Path

import astropy.units as u
import numpy as np
from ..progress import tqdm

from ..classes import CLASSES
from ..errors import SlicError
from ..observations import Observation, Simulation, observation
from ..processes import worker_pool
from . import features as ft
from .aia import aia_frame, aia_scene
from .core import run_conditions
from .headers import aia_filename, sot_filename, write_fits
from .sot import sot_frame, sot_scene

__all__ = ["generate", "generate_sequence", "frame_times"]

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
    """Render and write one observing run: one scene, frames ``cadence`` apart (in a worker process)."""
    scene_ss, *frame_ss = seedseq.spawn(n_frames + 1)
    rng = np.random.default_rng(scene_ss)
    cadence = round(float(rng.uniform(2.0, 20.0)), 1)
    scene, date, eph = sot_scene(class_name, rng, size, date=date)
    times = [k * cadence for k in range(n_frames)]
    conditions = run_conditions(rng, times, scene.cdelt)
    paths = []
    for k, (ss, cond) in enumerate(zip(frame_ss, conditions)):
        sim = sot_frame(scene, np.random.default_rng(ss), date, eph, t=times[k], frame=k,
                        sequence_id=sequence_id, seed=seed_text, conditions=cond)
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
            with worker_pool(n_workers) as pool:
                futures = {pool.submit(_sot_run, *task): i for i, task in enumerate(tasks)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(len(results[futures[fut]]))
    return [Path(p) for i in range(len(tasks)) for p in results[i]]


def _observation(key: str) -> tuple[Observation, Simulation, dt.datetime, float]:
    """The registry entry ``key``, its simulation settings, first frame time and cadence (s)."""
    obs = observation(key)
    sim = obs.simulation
    cadence = sim.cadence if sim.cadence is not None else float(obs.cadence.to_value(u.s))
    return obs, sim, dt.datetime.fromisoformat(sim.first_frame), cadence


def frame_times(key: str, n_frames: int | None = None) -> list[float]:
    """Seconds after the first frame of observation ``key`` of the frames to simulate.

    Parameters
    ----------
    key : str
        Key of :data:`slic_lib.observations.OBSERVATIONS`.
    n_frames : int, optional
        Only this many frames, evenly spread over the time range on the cadence grid;
        default every frame.

    Returns
    -------
    list of float
        Offsets in seconds, increasing.
    """
    obs, _, first, cadence = _observation(key)
    end = dt.datetime.fromisoformat(obs.end)
    n_full = int((end - first).total_seconds() // cadence) + 1
    idx = np.arange(n_full)
    if n_frames is not None and n_frames < n_full:
        idx = np.unique(np.round(np.linspace(0, n_full - 1, n_frames)).astype(int))
    return [float(i * cadence) for i in idx]


def _target_spots(sim: Simulation, seed: int) -> list[ft.SpotSpec] | None:
    """The spots of the observed region, the same for every observation of it."""
    if sim.spots is None:
        return None
    rng = np.random.default_rng([seed, zlib.crc32(sim.spots_stream.encode())])
    if sim.spots == "single":  # the paper's single-spot region AR11108
        return [ft.SpotSpec(x=0.0, y=0.0, radius=20.0, umbra_frac=0.45,
                            shape=[(float(rng.uniform(0, 0.06)), float(rng.uniform(0, 6.3))) for _ in range(4)],
                            fibril_seed=int(rng.integers(2**31)))]
    return ft.random_spot_group(rng, 150.0, n_max=3)


def generate_sequence(
    key: str,
    outdir: str | Path,
    seed: int = 0,
    size: int = 512,
    n_frames: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Simulate one of the paper's observations as time-ordered FITS files.

    The settings (scene kind, pointing, spots, first frame, cadence) come from the observation's
    :class:`~slic_lib.observations.Simulation`.

    Parameters
    ----------
    key : str
        Key of :data:`slic_lib.observations.OBSERVATIONS`.
    outdir : str or Path
        Folder for the files (AIA- or SOT-style names).
    seed : int
        Seed; the scene depends on it and the observation, each frame's noise on its time too.
    size : int
        Width and height in pixels.
    n_frames : int, optional
        Simulate only this many frames, evenly spread over the time range (on the cadence grid).
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of Path
        Files in time order.

    Raises
    ------
    SlicError
        For an unknown key, a bad size or frame count, or an output folder that cannot be written.
    """
    obs, sim, first, cadence = _observation(key)
    _check_positive("size", size, 16)
    _check_positive("n_frames", n_frames)
    outdir = _check_outdir(outdir)
    stream = zlib.crc32(sim.stream.encode())
    rng = np.random.default_rng([seed, stream])
    spots = _target_spots(sim, seed)
    seed_text = f"seed={seed} sequence={key}"
    description = obs.description + " (simulated)"
    wavelength = float(obs.wavelength.to_value(u.AA))
    if obs.instrument == "SOT":
        scene, date, eph = sot_scene(obs.expected_class, rng, size, date=first, fov=sim.fov, pointing=sim.pointing,
                                     spots=spots)
    else:
        scene, date, eph = aia_scene(sim.kind, rng, size, date=first, pointing=sim.pointing, spots=spots)
    paths = []
    for t in tqdm(frame_times(key, n_frames), desc=key, unit="frame", disable=not progress):
        frng = np.random.default_rng([seed, stream, int(round(t * 100))])
        if obs.instrument == "SOT":
            sim_image = sot_frame(scene, frng, date, eph, t=t, frame=int(t // cadence), sequence_id=key,
                                  seed=seed_text, description=description)
            fname = sot_filename(sim_image.date_obs)
        else:
            sim_image = aia_frame(scene, sim.kind, frng, date, eph, t=t, frame=int(t // cadence), sequence_id=key,
                                  seed=seed_text, description=description)
            fname = aia_filename(sim_image.date_obs, wavelength)
        paths.append(write_fits(sim_image, outdir / fname))
    return paths
