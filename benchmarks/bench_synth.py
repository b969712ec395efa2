"""Throughput of slic_lib.synthetic against the goal of 50 images/s (512 x 512) on 2 cores.

Prints images/s for render only and render + FITS write, with 1 and 2 worker processes,
and the ratio to the goal. Usage: ``python benchmarks/bench_synth.py [--n 200] [--size 512]``.
Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from slic_lib.classes import CLASSES
from slic_lib.synthetic import generate
from slic_lib.synthetic.sot import sot_frame, sot_scene

GOAL = 50.0


def _render_run(args: tuple[int, int, int, int]) -> int:
    """Render (no write) one observing run of ``frames`` frames, as ``generate`` does."""
    seed, size, frames, cls = args
    scene_ss, *frame_ss = np.random.SeedSequence(seed).spawn(frames + 1)
    scene, date, eph = sot_scene(CLASSES[cls % len(CLASSES)], np.random.default_rng(scene_ss), size)
    for k, ss in enumerate(frame_ss):
        sot_frame(scene, np.random.default_rng(ss), date, eph, t=5.0 * k)
    return frames


def render_only(n: int, size: int, frames: int, workers: int) -> float:
    tasks = [(i, size, frames, i) for i in range(n // frames)]
    start = time.perf_counter()
    if workers == 1:
        done = sum(_render_run(t) for t in tasks)
    else:
        with ProcessPoolExecutor(workers) as pool:
            done = sum(pool.map(_render_run, tasks))
    return done / (time.perf_counter() - start)


def render_write(n: int, size: int, frames: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate(tmp, per_class=n // len(CLASSES), size=size, frames_per_sequence=frames,
                         workers=workers, progress=False)
        return len(paths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="images per measurement")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames-per-sequence", type=int, default=4)
    args = parser.parse_args()
    render_only(10, args.size, args.frames_per_sequence, 1)  # warm caches and imports
    print(f"slic_lib.synthetic throughput, {args.size}x{args.size}, {args.n} images, "
          f"{args.frames_per_sequence} frames per run; goal {GOAL:.0f} images/s on 2 cores")
    print(f"{'measurement':<16}{'workers':>8}{'images/s':>10}{'x goal':>8}")
    for label, fn in (("render only", render_only), ("render + write", render_write)):
        for workers in (1, 2):
            rate = fn(args.n, args.size, args.frames_per_sequence, workers)
            print(f"{label:<16}{workers:>8}{rate:>10.1f}{rate / GOAL:>8.2f}")


if __name__ == "__main__":
    main()
