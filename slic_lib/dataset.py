"""Class folders of FITS files -> one dataset file, and the train/validation splits.

The dataset file is HDF5 (h5py). Why HDF5 rather than compressed npz or zarr: the paper's
13,175 images at 256x256 are 3.4 GB as float32, so the file must be readable in slices
without loading it whole (npz cannot; zarr can but is one folder of many files, awkward to
move to a cluster); HDF5 is a single self-describing file with per-dataset compression,
string columns and attributes, read by every language astronomers use.

Layout of the file::

    images        float32 (N, size, size)   preprocessed with the stored PreprocessConfig
    labels        int64   (N,)              index into attrs["class_names"]
    paths         str     (N,)              source file
    times         str     (N,)              DATE-OBS (ISO), "" when unknown
    instruments   str     (N,)              e.g. "SOT/SP" or "AIA"
    wavelengths   float64 (N,)              Angstrom, NaN when unknown
    groups        int64   (N,)              observation sequence id (frames of one run share it)
    synthetic     bool    (N,)              header marks the image as simulated (SYNTHET = T)
    attrs: class_names, preprocessing (JSON), skipped (JSON list of {path, reason}),
           source, created

Splits
------
``fixed``: the split that came with the data (the Slic release's train and test files).
``every-nth`` (the paper's): within each class in file-name (time) order, every Nth file goes
to validation. ``grouped`` (the default): whole observation sequences go to one side, so
near-identical frames a few seconds apart never sit on both sides and inflate validation
accuracy. Sequences are found from the headers: frames of one class folder less than
``max_gap`` apart in time, at the same pointing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .classes import CLASSES
from .errors import SlicError
from .preprocess import BadFrameError, PreprocessConfig, is_fits_path, load_map, preprocess_array, image_array

log = logging.getLogger(__name__)

SPLITS = ("grouped", "every-nth", "fixed")


@dataclass
class Frame:
    """One readable image and what the dataset keeps of its header."""

    path: str
    label: int
    image: np.ndarray
    time: str = ""
    instrument: str = ""
    wavelength: float = float("nan")
    xcen: float = float("nan")
    ycen: float = float("nan")
    synthetic: bool = False


@dataclass
class BuildReport:
    """What :func:`build_dataset` did: counts per class and every skipped file with its reason."""

    path: Path
    n_images: int
    per_class: dict[str, int]
    skipped: list[dict[str, str]] = field(default_factory=list)
    n_groups: int = 0

    def __str__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.per_class.items())
        lines = [f"wrote {self.n_images} images in {self.n_groups} observation sequences to {self.path} ({counts})"]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s):")
            lines += [f"  {s['path']}: {s['reason']}" for s in self.skipped]
        return "\n".join(lines)


def find_class_files(root: str | os.PathLike, class_names: Sequence[str] = CLASSES) -> list[tuple[Path, int]]:
    """List ``(path, label)`` for FITS files under ``root/<class>/`` (recursively), sorted by name.

    Raises
    ------
    SlicError
        If ``root`` does not exist or holds none of the class folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise SlicError(f"{root} is not a folder; expected class folders such as {root}/{class_names[0]}/.")
    present = [c for c in class_names if (root / c).is_dir()]
    if not present:
        raise SlicError(f"{root} has none of the class folders {', '.join(class_names)}.")
    out: list[tuple[Path, int]] = []
    for label, name in enumerate(class_names):
        folder = root / name
        if folder.is_dir():
            files = sorted((p for p in folder.rglob("*") if p.is_file() and is_fits_path(p)), key=lambda p: p.name)
            out += [(p, label) for p in files]
    return out


def _header_float(meta, key: str) -> float:
    try:
        return float(meta.get(key, "nan"))
    except (TypeError, ValueError):
        return float("nan")


def read_frame(path: str | os.PathLike, label: int, config: PreprocessConfig) -> Frame:
    """Read and preprocess one FITS file; raises :class:`BadFrameError` with the reason."""
    smap = load_map(path)
    image = preprocess_array(image_array(smap), config)
    meta = smap.meta
    try:
        time = smap.date.isot
    except Exception:
        time = ""
    try:
        wavelength = float(smap.wavelength.to_value("Angstrom")) if smap.wavelength is not None else float("nan")
    except Exception:
        wavelength = float("nan")
    synthetic = str(meta.get("synthet", "")).strip().upper() in ("T", "TRUE", "1")
    return Frame(
        path=str(path),
        label=label,
        image=image,
        time=time,
        instrument=str(smap.instrument or ""),
        wavelength=wavelength,
        xcen=_header_float(meta, "xcen") if "xcen" in meta else _header_float(meta, "crval1"),
        ycen=_header_float(meta, "ycen") if "ycen" in meta else _header_float(meta, "crval2"),
        synthetic=synthetic,
    )


def _read_one(args: tuple[str, int, PreprocessConfig]) -> Frame | tuple[str, str]:
    path, label, config = args
    try:
        return read_frame(path, label, config)
    except BadFrameError as exc:
        return (path, str(exc))


def assign_groups(
    labels: Sequence[int],
    times: Sequence[str],
    xcen: Sequence[float] | None = None,
    ycen: Sequence[float] | None = None,
    max_gap_minutes: float = 10.0,
    max_offset_arcsec: float = 30.0,
) -> np.ndarray:
    """Observation-sequence ids: frames of one class, close in time and pointing, share an id.

    Frames without a time each form their own group (nothing can be said of them).
    """
    n = len(labels)
    xcen = np.full(n, np.nan) if xcen is None else np.asarray(xcen, float)
    ycen = np.full(n, np.nan) if ycen is None else np.asarray(ycen, float)
    parsed = np.array([_to_seconds(t) for t in times], dtype=float)
    groups = np.full(n, -1, dtype=np.int64)
    next_id = 0
    for label in np.unique(labels):
        idx = np.flatnonzero(np.asarray(labels) == label)
        idx = idx[np.argsort(parsed[idx], kind="stable")]
        prev = None
        current = -1
        for i in idx:
            known = not np.isnan(parsed[i])
            same = (
                known
                and prev is not None
                and parsed[i] - parsed[prev] <= max_gap_minutes * 60
                and not np.hypot(xcen[i] - xcen[prev], ycen[i] - ycen[prev]) > max_offset_arcsec
            )
            if not same:
                current = next_id
                next_id += 1
            groups[i] = current
            prev = i if known else None
    return groups


def _to_seconds(t: str) -> float:
    if not t:
        return float("nan")
    try:
        return datetime.fromisoformat(t.replace("Z", "")).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return float("nan")


def build_dataset(
    root: str | os.PathLike,
    out: str | os.PathLike,
    config: PreprocessConfig = PreprocessConfig(),
    class_names: Sequence[str] = CLASSES,
    workers: int | None = None,
    progress: bool = True,
    source: str = "",
) -> BuildReport:
    """Read every FITS file under ``root/<class>/`` and write one HDF5 dataset file.

    Unreadable, empty, all-zero, NaN-only or wrong-dimensional frames are skipped and listed
    with their reason (in the returned report and in the file's ``skipped`` attribute); they
    never stop the build. The file is written under a temporary name and renamed when
    complete, so an interrupted build never leaves a half-written dataset behind.
    """
    import h5py
    from tqdm.auto import tqdm

    files = find_class_files(root, class_names)
    if not files:
        raise SlicError(f"no FITS files found under the class folders of {root}.")
    tasks = [(str(p), label, config) for p, label in files]
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    frames: list[Frame] = []
    skipped: list[dict[str, str]] = []
    bar = tqdm(total=len(tasks), desc="reading FITS", unit="file", disable=not progress)
    if workers > 1 and len(tasks) > 32:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            results = pool.map(_read_one, tasks, chunksize=16)
            for r in results:
                (frames.append(r) if isinstance(r, Frame) else skipped.append({"path": r[0], "reason": r[1]}))
                bar.update()
    else:
        for t in tasks:
            r = _read_one(t)
            (frames.append(r) if isinstance(r, Frame) else skipped.append({"path": r[0], "reason": r[1]}))
            bar.update()
    bar.close()
    for s in skipped:
        log.warning("skipped %s: %s", s["path"], s["reason"])
    if not frames:
        raise SlicError(f"none of the {len(files)} FITS files under {root} could be used (first problem: {skipped[0]['reason']}).")

    labels = np.array([f.label for f in frames], dtype=np.int64)
    times = [f.time for f in frames]
    groups = assign_groups(labels, times, [f.xcen for f in frames], [f.ycen for f in frames])

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    str_dt = h5py.string_dtype()
    with h5py.File(tmp, "w") as h5:
        h5.create_dataset(
            "images",
            data=np.stack([f.image for f in frames]),
            chunks=(1, config.size, config.size),
            compression="gzip",
            compression_opts=4,
            shuffle=True,
        )
        h5["labels"] = labels
        h5.create_dataset("paths", data=[f.path for f in frames], dtype=str_dt)
        h5.create_dataset("times", data=times, dtype=str_dt)
        h5.create_dataset("instruments", data=[f.instrument for f in frames], dtype=str_dt)
        h5["wavelengths"] = np.array([f.wavelength for f in frames])
        h5["groups"] = groups
        h5["synthetic"] = np.array([f.synthetic for f in frames])
        h5.attrs["class_names"] = json.dumps(list(class_names))
        h5.attrs["preprocessing"] = json.dumps(asdict(config))
        h5.attrs["skipped"] = json.dumps(skipped)
        h5.attrs["source"] = source or str(Path(root).resolve())
        h5.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    os.replace(tmp, out)
    per_class = {name: int((labels == i).sum()) for i, name in enumerate(class_names)}
    return BuildReport(out, len(frames), per_class, skipped, int(len(np.unique(groups))))


@dataclass
class SolarData:
    """A dataset file in memory: images, labels and their metadata."""

    images: np.ndarray
    labels: np.ndarray
    paths: np.ndarray
    times: np.ndarray
    groups: np.ndarray
    synthetic: np.ndarray
    class_names: tuple[str, ...]
    preprocessing: PreprocessConfig
    skipped: list[dict[str, str]]
    source: str = ""
    fixed_val: np.ndarray | None = None  # a split that came with the data (the Slic release's)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def is_synthetic(self) -> bool:
        """True when any image is simulated: results must then say so."""
        return bool(self.synthetic.any())

    def subset(self, idx: np.ndarray) -> "SolarData":
        idx = np.asarray(idx)
        return SolarData(
            self.images[idx], self.labels[idx], self.paths[idx], self.times[idx], self.groups[idx],
            self.synthetic[idx], self.class_names, self.preprocessing, self.skipped, self.source,
            None if self.fixed_val is None else self.fixed_val[idx],
        )


def load_dataset(path: str | os.PathLike) -> SolarData:
    """Read a dataset file written by :func:`build_dataset` (or converted from the Slic npz)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise SlicError(f"dataset file {path} does not exist; build one with 'slic build'.")
    try:
        with h5py.File(path, "r") as h5:
            return SolarData(
                images=h5["images"][...],
                labels=h5["labels"][...],
                paths=h5["paths"].asstr()[...],
                times=h5["times"].asstr()[...],
                groups=h5["groups"][...],
                synthetic=h5["synthetic"][...],
                class_names=tuple(json.loads(h5.attrs["class_names"])),
                preprocessing=PreprocessConfig(**json.loads(h5.attrs["preprocessing"])),
                skipped=json.loads(h5.attrs.get("skipped", "[]")),
                source=str(h5.attrs.get("source", "")),
                fixed_val=h5["val"][...] if "val" in h5 else None,
            )
    except (OSError, KeyError) as exc:
        raise SlicError(f"{path} is not a slic_lib dataset file ({exc}).") from exc


# --------------------------------------------------------------------------------------------
# The released Slic data (npz: label in column 0, then a flattened 256x256 image in 0..255)
# --------------------------------------------------------------------------------------------


def load_slic_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``solar_train_data.npz`` / ``solar_test_data.npz`` of the Slic release.

    Returns ``(images, labels)``: ``float32 (N, 256, 256)`` in 0..255 and ``int64 (N,)``.
    """
    path = Path(path)
    if not path.is_file():
        raise SlicError(f"{path} does not exist; download it with 'slic fetch slic-release'.")
    with np.load(path) as f:
        if "data" not in f.files:
            raise SlicError(f"{path} has no 'data' array; it is not a Slic release file.")
        data = f["data"]
    side = int(round((data.shape[1] - 1) ** 0.5))
    if data.ndim != 2 or side * side != data.shape[1] - 1:
        raise SlicError(f"{path}: rows of {data.shape[1]} values are not a label plus a square image.")
    return data[:, 1:].reshape(-1, side, side).astype(np.float32), data[:, 0].astype(np.int64)


def convert_slic_npz(npz: str | os.PathLike, out: str | os.PathLike, val_npz: str | os.PathLike | None = None) -> Path:
    """Write released npz file(s) as a dataset file (preprocessing ``slic-npz``, as released).

    With ``val_npz`` (``solar_test_data.npz``) its images are appended and flagged as the
    fixed validation split (``split="fixed"``): the paper's own 11,857/1,318 split. The
    release keeps no file names or times, so each image is its own group.
    """
    import h5py

    images, labels = load_slic_npz(npz)
    val = np.zeros(len(labels), dtype=bool)
    if val_npz is not None:
        vi, vl = load_slic_npz(val_npz)
        images, labels = np.concatenate([images, vi]), np.concatenate([labels, vl])
        val = np.concatenate([val, np.ones(len(vl), dtype=bool)])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    str_dt = h5py.string_dtype()
    n = len(labels)
    names = [f"{Path(npz).name}#{i}" for i in range(int((~val).sum()))]
    if val_npz is not None:
        names += [f"{Path(val_npz).name}#{i}" for i in range(int(val.sum()))]
    with h5py.File(out, "w") as h5:
        h5.create_dataset("images", data=images, chunks=(1, *images.shape[1:]), compression="gzip", shuffle=True)
        h5["labels"] = labels
        h5.create_dataset("paths", data=names, dtype=str_dt)
        h5.create_dataset("times", data=[""] * n, dtype=str_dt)
        h5.create_dataset("instruments", data=["SOT"] * n, dtype=str_dt)
        h5["wavelengths"] = np.full(n, 6563.0)
        h5["groups"] = np.arange(n, dtype=np.int64)
        h5["synthetic"] = np.zeros(n, dtype=bool)
        if val_npz is not None:
            h5["val"] = val
        h5.attrs["class_names"] = json.dumps(list(CLASSES))
        h5.attrs["preprocessing"] = json.dumps(asdict(PreprocessConfig(size=images.shape[1], mode="slic-npz")))
        h5.attrs["skipped"] = "[]"
        h5.attrs["source"] = str(Path(npz).resolve())
    return out


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


def split_every_nth(labels: Sequence[int], n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The paper's split: within each class, in stored (file-name, i.e. time) order, every
    ``n``-th file goes to validation (90/10 for ``n=10``). Returns ``(train_idx, val_idx)``."""
    labels = np.asarray(labels)
    val = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        val.append(idx[n - 1 :: n])
    val_idx = np.sort(np.concatenate(val)) if val else np.array([], dtype=int)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx, val_idx


def split_grouped(
    labels: Sequence[int], groups: Sequence[int], val_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Whole observation sequences to one side, about ``val_fraction`` of each class to validation.

    Groups are shuffled with ``seed`` and taken into validation until the class's share is
    reached, so every class appears on both sides when it has at least two groups.
    """
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    val_mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        in_class = labels == label
        gids = np.unique(groups[in_class])
        rng.shuffle(gids)
        target = val_fraction * in_class.sum()
        taken = 0
        for g in gids[:-1] if len(gids) > 1 else []:  # always leave one group for training
            if taken >= target:
                break
            members = in_class & (groups == g)
            val_mask |= members
            taken += int(members.sum())
    return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def split(data: SolarData, kind: str = "grouped", val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices of a dataset, by the named split (see module docstring)."""
    if kind == "grouped":
        return split_grouped(data.labels, data.groups, val_fraction, seed)
    if kind == "every-nth":
        return split_every_nth(data.labels, max(2, round(1 / val_fraction)))
    if kind == "fixed":
        if data.fixed_val is None:
            raise SlicError("this dataset carries no fixed split; use --split grouped or every-nth.")
        return np.flatnonzero(~data.fixed_val), np.flatnonzero(data.fixed_val)
    raise SlicError(f"unknown split {kind!r}; choose one of {', '.join(SPLITS)}.")


# --------------------------------------------------------------------------------------------
# Command line: slic build
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="folder with one sub-folder of FITS files per class")
    parser.add_argument("--out", type=Path, required=True, help="dataset file to write (.h5)")
    parser.add_argument("--size", type=int, default=64, help="side of the preprocessed images (default 64)")
    parser.add_argument("--mode", choices=("standard", "slic-npz"), default="standard", help="preprocessing mode")
    parser.add_argument("--workers", type=int, default=None, help="processes reading files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    report = build_dataset(
        args.root, args.out, PreprocessConfig(size=args.size, mode=args.mode), workers=args.workers, progress=not args.no_progress
    )
    print(report)
    return 0
