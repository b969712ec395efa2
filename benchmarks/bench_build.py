"""Building a dataset file from class folders of FITS files: `build_dataset` on both cores against the original loop.

The original approach, implemented here as it was: one file at a time, ``astropy.io.fits``
reading the pixels as float64, a per-pixel Python check that the frame is not all zeros,
NaNs replaced, a scikit-image anti-aliased resize and per-image standardisation in float64,
the images stacked and written to HDF5. :func:`slic_lib.dataset.build_dataset` does the same
preprocessing in float32 in a process pool (both cores), reads each file's header facts with
sunpy, and writes the project's dataset file. Both run alternately in this process, with
the matrix-product peak timed in between; the contents of the two builds of
``build_dataset`` (one worker and two) are compared for identity, and the original's images
against them.

    python benchmarks/bench_build.py [--n 96] [--file-size 512] [--size 64] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Row, Table, interleaved, peak_variants, peaks, write_fits_files  # noqa: E402

from slic_lib.classes import CLASSES  # noqa: E402
from slic_lib.dataset import build_dataset, find_class_files, load_dataset  # noqa: E402
from slic_lib.preprocess import PreprocessConfig  # noqa: E402


def original_build(root: Path, out: Path, size: int) -> np.ndarray:
    """The original loop: per file, float64 read, per-pixel zero check, skimage resize, standardise; returns the images."""
    from astropy.io import fits
    from skimage.transform import resize

    images, labels = [], []
    for path, label in find_class_files(root, CLASSES):
        data = fits.getdata(path).astype(np.float64)
        rows, cols = data.shape
        all_zero = True
        for i in range(rows):  # the per-pixel check of the original code
            for j in range(cols):
                if data[i, j] != 0:
                    all_zero = False
        if all_zero:
            continue
        finite = np.isfinite(data)
        if not finite.all():
            data = np.where(finite, data, np.median(data[finite]))
        img = resize(data, (size, size), order=1, anti_aliasing=True, preserve_range=True, mode="reflect")
        images.append((img - img.mean()) / img.std())
        labels.append(label)
    stack = np.stack(images)
    with h5py.File(out, "w") as h5:
        h5["images"] = stack.astype(np.float32)
        h5["labels"] = np.asarray(labels)
    return stack


def main(argv: list[str] | None = None) -> Table:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=96, help="FITS files, spread over the five class folders")
    parser.add_argument("--file-size", type=int, default=512, help="side of the FITS images")
    parser.add_argument("--size", type=int, default=64, help="side of the preprocessed images (the cpu profile's 64)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        root = work / f"tree_{args.n}_{args.file_size}"
        if len(list(root.rglob("*.fits"))) != args.n:
            write_fits_files(root, args.n, size=args.file_size, classes=CLASSES)
        cfg = PreprocessConfig(size=args.size)
        out: dict[str, np.ndarray] = {}
        variants = {
            "original loop": lambda: out.__setitem__("original", original_build(root, work / "orig.h5", args.size)),
            f"build_dataset, {args.workers} workers": lambda: build_dataset(root, work / "par.h5", cfg, workers=args.workers, progress=False),
            "build_dataset, 1 worker": lambda: build_dataset(root, work / "one.h5", cfg, workers=1, progress=False),
        }
        seconds = interleaved({**variants, **peak_variants()}, repeats=args.repeats, warmup=0)
        peak = peaks(seconds)
        par, one = load_dataset(work / "par.h5"), load_dataset(work / "one.h5")
        identical = bool(np.array_equal(par.images, one.images) and np.array_equal(par.labels, one.labels)
                         and np.array_equal(par.paths, one.paths) and np.array_equal(par.groups, one.groups))
        diff = float(np.abs(out["original"] - par.images).max())

    table = Table(f"Dataset building: {args.n} FITS files of {args.file_size}x{args.file_size} -> {args.size}x{args.size}, "
                  f"median of {args.repeats} alternating runs")
    table.peaks = peak
    o = seconds["original loop"]
    for name in variants:
        if name != "original loop":
            table.add(Row("build a dataset file", "original loop", name, o, seconds[name], unit="s"))
    table.notes += [
        f"contents of the {args.workers}-worker and 1-worker builds identical (images, labels, paths, groups): {identical}",
        f"largest difference between the original loop's float64 images and build_dataset's float32 ones: {diff:.1e} (standardised units)",
        "the peak is of the main process's torch threads; the builds do not use torch",
    ]
    print(table.render())
    return table


if __name__ == "__main__":
    main()
