"""``slic synth``: write a simulated, labelled Hinode/SOT H-alpha dataset (and the AIA stand-ins)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..classes import CLASSES
from ..errors import SlicError
from ..observations import OBSERVATIONS
from .sequences import generate, generate_sequence

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``slic synth``."""
    parser.add_argument("outdir", type=Path, help="output folder; gets one sub-folder per class")
    parser.add_argument("--per-class", type=int, required=True, help="images per class")
    parser.add_argument("--seed", type=int, default=0, help="root random seed (default 0)")
    parser.add_argument("--size", type=int, default=512, help="image size in pixels (default 512)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    parser.add_argument("--frames-per-sequence", type=int, default=4, help="frames per observing run (default 4)")
    parser.add_argument("--aia", action="store_true",
                        help="also write each of the paper's AIA/SOT observations under OUTDIR/aia/<key>/ "
                             f"(keys: {', '.join(OBSERVATIONS)})")
    parser.add_argument("--aia-frames", type=int, default=None,
                        help="with --aia: frames per observation, evenly spread over its time range "
                             "(default: every frame)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


INTERRUPTED_KEEPS = "the frames written so far are whole FITS files (a rerun writes them again)"
"""What ``slic synth`` keeps when it is interrupted (:func:`slic_lib.cli.main` says it)."""


def run(args: argparse.Namespace) -> int:
    """Run ``slic synth``; bad arguments raise :class:`SlicError`."""
    if args.per_class < 1:
        raise SlicError(f"--per-class must be at least 1, not {args.per_class}.")
    if args.aia_frames is not None and args.aia_frames < 1:
        raise SlicError(f"--aia-frames must be at least 1, not {args.aia_frames}.")
    before = [c for c in CLASSES if Path(args.outdir, c).is_dir() and any(Path(args.outdir, c).iterdir())]
    if before:  # same-named files are replaced; others stay, so a class folder can end up with more files than asked
        print(f"note: {args.outdir} already holds files ({', '.join(before)}); files of the same names are written again and "
              "others are left beside them (use an empty folder for a dataset of exactly --per-class files a class)")
    paths = generate(args.outdir, args.per_class, seed=args.seed, size=args.size, workers=args.workers,
                     frames_per_sequence=args.frames_per_sequence, progress=not args.quiet)
    log.info("wrote %d simulated SOT files under %s", len(paths), args.outdir)
    if args.aia:
        for key in OBSERVATIONS:
            seq = generate_sequence(key, Path(args.outdir) / "aia" / key, seed=args.seed, size=args.size,
                                    n_frames=args.aia_frames, progress=not args.quiet)
            log.info("wrote %d simulated frames of %s", len(seq), key)
    return 0
