"""Classify FITS files into a catalogue: one CSV row per input file (``slic classify``).

Columns: ``path, label, status, error`` and one probability column ``p_<class>`` per class.
A file that cannot be read or used gets ``status=error`` and the reason; the others go on.
Rows are written batch by batch, so an interrupted run keeps every finished row, and a
second run with the same ``--out`` skips the files already catalogued.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from .errors import SlicError
from .inference import predict_proba
from .model import SlicNet, load_checkpoint, read_checkpoint
from .preprocess import BadFrameError, is_fits_path, preprocess


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, and FITS files found recursively in folders, in sorted order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and is_fits_path(f))
        else:
            out.append(p)  # a missing file becomes an error row, not a crash
    return out


def columns(class_names: Sequence[str]) -> list[str]:
    return ["path", "label", "status", "error", *[f"p_{c}" for c in class_names]]


def _done_paths(out: Path, header: list[str]) -> set[str]:
    if not out.exists() or out.stat().st_size == 0:
        return set()
    with out.open(newline="") as fh:
        reader = csv.reader(fh)
        if next(reader, None) != header:
            raise SlicError(f"{out} exists with other columns (another model?); choose another --out or pass --overwrite.")
        return {row[0] for row in reader if row}


def classify_files(
    paths: Iterable[str | os.PathLike],
    model: SlicNet | str | os.PathLike,
    out: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
) -> list[dict]:
    """Classify files with a model; optionally append the rows to a CSV catalogue.

    Returns the rows written in this call, as dicts keyed by :func:`columns`.
    """
    model = model if isinstance(model, SlicNet) else load_checkpoint(model)
    names = model.class_names
    header = columns(names)
    files = expand_paths(paths)
    writer = fh = None
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        done = set() if overwrite else _done_paths(out, header)
        files = [f for f in files if str(f) not in done]
        fresh = overwrite or not done
        fh = out.open("w" if fresh else "a", newline="")
        writer = csv.DictWriter(fh, fieldnames=header)
        if fresh:
            writer.writeheader()
    rows: list[dict] = []
    try:
        bar = tqdm(total=len(files), desc="classifying", unit="file", disable=not progress)
        for start in range(0, len(files), batch_size):
            batch = files[start : start + batch_size]
            images, ok_rows, batch_rows = [], [], []
            for f in batch:
                row = {"path": str(f), "label": "", "status": "ok", "error": "", **{f"p_{c}": "" for c in names}}
                try:
                    images.append(preprocess(f, model.preprocessing))
                    ok_rows.append(row)
                except BadFrameError as exc:
                    row.update(status="error", error=str(exc))
                batch_rows.append(row)
            if images:
                probs = predict_proba(model, np.stack(images), batch_size, device)
                for row, p in zip(ok_rows, probs):
                    row["label"] = names[int(p.argmax())]
                    row.update({f"p_{c}": f"{v:.6f}" for c, v in zip(names, p)})
            if writer is not None:
                writer.writerows(batch_rows)
                fh.flush()
            rows += batch_rows
            bar.update(len(batch))
        bar.close()
    finally:
        if fh is not None:
            fh.close()
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="FITS files or folders (searched recursively)")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (slic train / slic paper) or published sol_class_4.pth")
    parser.add_argument("--out", type=Path, default=Path("catalogue.csv"), help="CSV catalogue to write (default catalogue.csv)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--overwrite", action="store_true", help="start the catalogue afresh instead of skipping files already in it")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    ckpt = read_checkpoint(args.model)
    rows = classify_files(args.paths, args.model, args.out, args.batch_size, args.device, args.overwrite, not args.no_progress)
    n_err = sum(r["status"] == "error" for r in rows)
    print(f"wrote {len(rows)} rows to {args.out} ({len(rows) - n_err} classified, {n_err} errors)")
    if ckpt.metrics.get("synthetic_data"):
        print("note: this model was trained on simulated images (slic_lib.synthetic); treat its labels of real data with care.")
    return 0
