"""``slic classify``: catalogue an archive of FITS images, one row per input file.

Every input gets exactly one row: ``status=ok`` with the predicted label, a probability per
class, a calibrated confidence and an out-of-distribution score and flag (:mod:`slic_lib.ood`),
or ``status=error`` with a reason that names the cause (:mod:`slic_lib.reader`). Both carry
the header facts a solar physicist filters on (instrument, wavelength, time, pointing, pixel
scale, exposure). Rows are committed in batches to a journal and the catalogue is written by
rename (:mod:`slic_lib.catalogue`): a run killed at any moment resumes to the same catalogue.

Decoding (reading, checking, resampling) runs in a reader thread or worker processes
(``--workers``) ahead of the network (:mod:`slic_lib.readahead`), so the network is never left
waiting for files; ``--dask`` spreads batches over a Dask cluster instead (:mod:`slic_lib.cluster`).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import glob
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import __version__
from . import catalogue as cat
from . import cluster, readahead
from .errors import SlicError
from .paths import text_path
from .preprocess import BadFrameError, PreprocessConfig, fits_under, is_fits_path, preprocess_array
from .reader import ReadError, read_image

EXIT_OK, EXIT_SOME_FAILED, EXIT_NONE_CLASSIFIED = 0, 3, 4
PRECISION_CHOICES = ("auto", "bfloat16", "float32", "int8")

EPILOG = f"""\
exit status:
  {EXIT_OK}  every input file was classified (OOD-flagged rows count as classified)
  1  an error before any file: no input files, unreadable model, catalogue locked by another run, ...
  2  a usage error of the command line (a missing --model, an unknown --precision, ...)
  {EXIT_SOME_FAILED}  some input files could not be classified (their rows say why)
  {EXIT_NONE_CLASSIFIED}  no input file could be classified
  130 interrupted (Ctrl-C), 143 terminated (SIGTERM: kill, a batch system's time limit);
      committed rows are kept and a rerun resumes

The catalogue is CSV or Parquet by its suffix, with absolute paths. A rerun with the same
--out skips files already classified and tries the failed ones again; a run killed at any
moment and rerun ends with one complete row per input.
"""


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _is_fits_name(path: Path) -> bool:
    name = path.name.lower()
    return is_fits_path(path) or name.endswith((".fits.fz", ".fz"))


def read_list(source: str) -> list[str]:
    """Paths from a list file, one a line (``-``: standard input); blank and ``#`` lines skipped.

    Read as bytes and decoded as the file system does (:func:`os.fsdecode`), so that ``find``'s
    list of an archive with names that are not UTF-8 names those files.
    """
    if source == "-":
        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        p = Path(source)
        if p.is_dir():
            raise SlicError(f"list file {source} is a folder; give the folder itself as a path, or a file of paths.")
        if not p.is_file():
            raise SlicError(f"list file {source} does not exist.")
        raw = p.read_bytes()
    if b"\0" in raw:
        raise SlicError(f"list file {source} is not a text file of paths (it holds NUL bytes).")
    lines = [os.fsdecode(line) for line in raw.splitlines()]
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def expand_inputs(paths: Iterable[str | os.PathLike], from_list: str | None = None, warn=None) -> list[Path]:
    """Input files in order, once each, as absolute paths: files as given, FITS files under
    folders (recursive, sorted) and glob matches (sorted; ``**`` recurses). A path that does not exist is kept
    (it becomes an error row); a pattern that matches nothing is reported through ``warn``."""
    items = [str(p) for p in paths] + (read_list(from_list) if from_list else [])
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += fits_under(p, _is_fits_name)
        elif p.exists() or not glob.has_magic(item):
            out.append(p)
        else:
            matches = sorted(glob.glob(item, recursive=True))
            found = [Path(m) for m in matches if Path(m).is_file()]
            for m in matches:
                if Path(m).is_dir():
                    found += fits_under(Path(m), _is_fits_name)
            if not found and warn:
                warn(f"no file matches {item!r}")
            out += found
    # absolute and normalised, so that two spellings of one file are one input (and one row)
    return list(dict.fromkeys(Path(os.path.abspath(p)) for p in out))


# --------------------------------------------------------------------------------------------
# One file, one batch
# --------------------------------------------------------------------------------------------


def empty_row(path: str, class_names: Sequence[str]) -> dict[str, Any]:
    return {c: None for c in cat.columns(class_names)} | {"path": path, "status": "ok", "error": ""}


def decode(path: str, preprocessing: PreprocessConfig, use_sunpy: bool = True) -> tuple[dict, np.ndarray | None]:
    """Read and preprocess one file: the row's file fields and the network input (None on error)."""
    row: dict[str, Any] = {"path": text_path(path), "status": "ok", "error": ""}
    try:
        img = read_image(path, use_sunpy=use_sunpy)
        row.update(hdu=img.hdu, hdu_name=img.hdu_name, reader=img.reader, **img.facts)
        return row, preprocess_array(img.data, preprocessing)
    except ReadError as exc:
        row.update(status="error", error=str(exc), error_kind=exc.kind)
    except BadFrameError as exc:
        row.update(status="error", error=str(exc), error_kind="unusable")
    except MemoryError:
        row.update(status="error", error="the image does not fit in memory", error_kind="too-large")
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop an archive's run
        msg = str(exc).splitlines()[0][:120] if str(exc) else ""
        row.update(status="error", error=f"unreadable ({type(exc).__name__}: {msg})", error_kind="unreadable")
    return row, None


def finish(model, rows: list[dict], images: list[np.ndarray | None], calibration, batch_size: int,
           device: str, precision: str) -> tuple[list[dict], float]:
    """Run the network on a batch's decoded images and fill in the rows; also the seconds it took."""
    from .ood import logits_and_features, outside_band, scores

    names = model.class_names
    full = [empty_row(r["path"], names) | r for r in rows]
    good = [i for i, im in enumerate(images) if im is not None]
    if not good:
        return full, 0.0
    t0 = time.perf_counter()
    arithmetic = "float32" if precision == "int8" else precision  # an int8 model is already quantized: no autocast
    z, f = logits_and_features(model, np.stack([images[i] for i in good]), batch_size, device, arithmetic)
    seconds = time.perf_counter() - t0
    s = scores(z, f, calibration)
    for j, i in enumerate(good):
        p = s["probs"][j]
        full[i].update({f"p_{c}": float(v) for c, v in zip(names, p)})
        full[i]["label"] = names[int(p.argmax())]
        full[i]["confidence"] = float(s["confidence"][j])
        if s["ood_score"] is not None:
            full[i]["ood_score"] = float(s["ood_score"][j])
            full[i]["ood_flag"] = bool(s["ood_flag"][j])
        # a frame taken outside H-alpha is out of distribution whatever the features say
        if outside_band(full[i].get("wavelength"), full[i].get("wavelength_unit")):
            full[i]["ood_flag"] = True
    return full, seconds


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def resolve_precision(precision: str, device: str = "auto") -> str:
    """``auto``: bfloat16 where the device computes it natively, float32 otherwise (the detection
    is :func:`slic_lib.inference.resolve_precision`'s); ``int8`` on CPUs (:mod:`slic_lib.quantize`)."""
    from .inference import resolve_precision as resolve

    if precision != "int8":
        return resolve(precision, device)
    from . import quantize

    if str(device).startswith("cuda"):
        raise SlicError("--precision int8 runs on the CPU only; use --device cpu, or --precision auto on a GPU.")
    if not quantize.supported():
        raise SlicError("this PyTorch has no int8 engine for this CPU (it needs an x86 CPU); use --precision auto.")
    return precision


def ready_model(checkpoint, precision: str):
    """The network of ``checkpoint`` made ready to classify at ``precision`` (resolved): int8
    with the checkpoint's stored scales, or BatchNorm folded (:func:`slic_lib.inference.fold_batchnorm`)."""
    from .inference import fold_batchnorm
    from .model import model_from_checkpoint

    net = model_from_checkpoint(checkpoint, copy=False)  # applied only, never trained
    if precision != "int8":
        return fold_batchnorm(net)
    from . import quantize

    int8 = (checkpoint.metrics or {}).get("int8")
    if not int8:
        how = ("write a calibrated slic_lib checkpoint of it with 'slic calibrate MODEL DATASET --out NEW.pt'" if checkpoint.published
               else "run 'slic calibrate MODEL DATASET' once (it stores them in the checkpoint)")
        raise SlicError(f"the model has no int8 scales: {how}, or use --precision auto.")
    return quantize.quantize(net, int8)


@dataclass
class Result:
    """What :func:`classify_files` did.

    Attributes
    ----------
    table : pyarrow.Table
        The catalogue rows of this call's inputs, in input order (before ``features`` filtering);
        ``rows`` gives them as dicts.
    out : Path or None
        The catalogue written.
    new : int
        Files classified in this call (the others were already in the catalogue).
    repaired : int
        Damaged rows of an existing catalogue that were dropped and classified again.
    seconds, network_seconds : float
        Wall time of the classification and the part of it the network's forward passes took.
    """

    table: Any
    out: Path | None = None
    new: int = 0
    repaired: int = 0
    seconds: float = 0.0
    network_seconds: float = 0.0
    precision: str = "float32"
    calibrated: bool = False
    synthetic_data: bool = False
    class_names: tuple[str, ...] = field(default_factory=tuple)
    int8_agreement: dict | None = None
    other_rows: int = 0
    other_errors: int = 0
    written: int | None = None
    features: tuple[str, ...] = ()

    @property
    def rows(self) -> list[dict]:
        """The rows of this call's inputs as dicts, in input order (before ``features`` filtering)."""
        return self.table.to_pylist()

    def _column(self, name: str) -> list:
        return self.table.column(name).to_pylist()

    @property
    def n_ok(self) -> int:
        return sum(s == "ok" for s in self._column("status"))

    @property
    def exit_code(self) -> int:
        if self.n_ok == self.table.num_rows:
            return EXIT_OK
        return EXIT_NONE_CLASSIFIED if self.n_ok == 0 else EXIT_SOME_FAILED

    def summary(self) -> str:
        """Counts per class, errors by cause, OOD flags, and the speed."""
        n, n_ok = self.table.num_rows, self.n_ok
        lines = [f"{n} files: {n_ok} classified, {n - n_ok} errors" + (f" ({self.new} new this run)" if self.new != n else "")]
        status = self._column("status")
        labels = collections.Counter(x for x, s in zip(self._column("label"), status) if s == "ok")
        if labels:
            lines.append("  classes: " + ", ".join(f"{c} {labels[c]}" for c in self.class_names if labels[c]))
        kinds = collections.Counter(k or "error" for k, s in zip(self._column("error_kind"), status) if s == "error")
        if kinds:
            lines.append("  errors: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
        n_ood = sum(bool(f) for f in self._column("ood_flag"))
        if self.calibrated:
            lines.append(f"  out of distribution (ood_flag): {n_ood}")
        else:
            lines.append(f"  out of distribution by the header's wavelength (ood_flag): {n_ood}; the model is uncalibrated, so "
                         "no ood_score (calibrate it with 'slic calibrate MODEL DATASET')")
        if self.repaired:
            lines.append(f"  {self.repaired} damaged row(s) of the existing catalogue were classified again")
        if self.other_rows:
            errors = f" ({self.other_errors} of them errors)" if self.other_errors else ""
            lines.append(f"  {self.out} also holds {self.other_rows} row(s) of earlier runs' other inputs{errors}, kept as they were "
                         "(--overwrite starts the catalogue afresh)")
        if self.written is not None and self.features:
            lines.append(f"  written to {self.out}: the {self.written} row(s) of {', '.join(self.features)} (--features); the others "
                         f"are remembered in {self.out}.parts, so a rerun does not classify them again")
        if self.int8_agreement:
            lines.append(f"  int8: labels equal float32 ones on {self.int8_agreement['agreement']:.1%} of the model's "
                         f"{self.int8_agreement['n_agreement']} validation images (measured by slic calibrate)")
        if self.new and self.seconds > 0:
            net = f"; the network alone {self.new / self.network_seconds:.1f} files/s" if self.network_seconds > 0 else ""
            lines.append(f"  speed: {self.new / self.seconds:.1f} files/s ({self.precision}){net}")
        return "\n".join(lines)


def classify_files(
    paths: Iterable[str | os.PathLike],
    model: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    from_list: str | None = None,
    batch_size: int = 32,
    device: str = "auto",
    precision: str = "auto",
    workers: int | None = None,
    dask: str | Any | None = None,
    overwrite: bool = False,
    features: Sequence[str] | None = None,
    use_sunpy: bool = True,
    progress: bool = True,
    warn=None,
) -> Result:
    """Classify FITS files with a checkpoint into a catalogue (see the module docstring).

    Parameters
    ----------
    paths
        Files, folders (searched recursively for FITS files) and glob patterns.
    model
        A checkpoint (``slic train``/``slic paper``) or the published ``sol_class_4.pth``.
    out
        Catalogue to write, ``*.csv`` or ``*.parquet``; None classifies without writing.
    from_list
        A file with one path a line, or ``-`` for standard input.
    batch_size
        Files per network batch and per committed part.
    device, precision
        Where and in which arithmetic the network runs (``precision="auto"``: see
        :func:`resolve_precision`; ``"int8"``: on the CPU, with the int8 scales ``slic
        calibrate`` stored in the checkpoint, :mod:`slic_lib.quantize`).
    workers
        Decoding processes (None: :func:`slic_lib.readahead.default_workers`; 0: one thread of this process).
        They are started with ``spawn``: a script that calls this function with processes
        must do so under ``if __name__ == "__main__":``.
    dask
        ``"local"`` (a LocalCluster of two one-thread workers), a scheduler address, or a
        ``dask.distributed.Client``: batches run on the cluster's workers.
    overwrite
        Start afresh instead of resuming.
    features
        Keep only rows predicted as one of these classes in the written catalogue (the full
        catalogue stays in the journal ``<out>.parts/`` so that reruns still resume).
    use_sunpy
        Read header facts through a sunpy Map where the header makes one.
    progress
        Show a progress bar in files per second.
    warn
        Called with one sentence for each warning (a pattern matching no file); default:
        printed to standard error.

    Returns
    -------
    Result
    """
    if precision not in PRECISION_CHOICES:  # the engine's own list lacks int8, which this path adds
        raise SlicError(f"unknown precision {precision!r}; use one of {', '.join(PRECISION_CHOICES)}.")
    if isinstance(paths, (str, os.PathLike)):  # one path, not its letters (a str is iterable)
        paths = [paths]
    if isinstance(features, str):
        features = [features]
    say = warn or (lambda msg: print(f"slic classify: warning: {msg}", file=sys.stderr))
    if precision == "int8":  # before the reader thread starts: its catch_warnings would undo a later filter
        from .quantize import quiet_deprecations

        quiet_deprecations()
    if out is not None and Path(out).is_dir():
        raise SlicError(f"--out {out} is a folder; name the catalogue file to write (*.csv or *.parquet).")
    # connected before anything is written: an address that fails leaves no unfinished run behind
    client, local = cluster.connect(str(dask)) if isinstance(dask, (str, os.PathLike)) else (dask, None)
    pool = readahead.decode_pool(workers, use_sunpy) if dask is None else None
    try:
        return _classify_files(paths, model, out, pool, from_list=from_list, batch_size=batch_size, device=device,
                               precision=precision, dask=client, overwrite=overwrite, features=features,
                               use_sunpy=use_sunpy, progress=progress, say=say)
    finally:
        if pool is not None:
            pool[0].shutdown(wait=True, cancel_futures=True)
        if client is not None and client is not dask:
            client.close()
        if local is not None:
            local.close()


def _classify_files(paths, model, out, pool, *, from_list, batch_size, device, precision, dask, overwrite, features,
                    use_sunpy, progress, say) -> Result:
    model_path = Path(model)
    hasher = cf.ThreadPoolExecutor(1, thread_name_prefix="sha256")
    hashing = hasher.submit(cat.sha256, model_path)  # 0.9 s for 540 MB, beside the imports and loading
    hasher.shutdown(wait=False)
    from .model import read_checkpoint
    from .ood import from_checkpoint

    precision = resolve_precision(precision, device)
    if precision == "int8":
        device = "cpu"  # also where 'auto' would take a GPU
    ckpt = read_checkpoint(model_path, mmap=True)
    names = tuple(ckpt.class_names)
    if features:
        unknown = [f for f in features if f not in names]
        if unknown:
            raise SlicError(f"unknown class(es) {', '.join(unknown)} in --features; the model's classes are {', '.join(names)}.")
    files = [str(f) for f in expand_inputs(paths, from_list, say)]
    if not files:
        raise SlicError("no input files: the paths, folders and patterns given hold no FITS file.")
    # the first files are decoded while the model is made ready and the catalogue read
    early = {} if pool is None else {f: pool[0].submit(decode, f, ckpt.preprocessing, use_sunpy)
                                     for f in files[: readahead.ahead(batch_size, pool[1])]}
    net = ready_model(ckpt, precision)
    calibration = from_checkpoint(ckpt)
    sha = hashing.result()
    provenance = {
        "slic_lib_version": __version__,
        "model": str(model_path),
        "model_sha256": sha,
        "class_names": list(names),
        "preprocessing": {"size": net.preprocessing.size, "mode": net.preprocessing.mode},
        "calibration": calibration.summary() if calibration else "uncalibrated",
        "calibration_sha256": cat.hashlib.sha256(repr(calibration.summary() if calibration else None).encode()).hexdigest(),
        "precision": precision,
        "columns": cat.columns(names),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    int8 = (ckpt.metrics or {}).get("int8") if precision == "int8" else None
    int8_agreement = {k: int8[k] for k in ("agreement", "n_agreement")} if int8 and "agreement" in int8 else None
    if int8_agreement:
        provenance["int8_agreement"] = int8_agreement
    result = Result(table=cat.to_table([], names), out=None, precision=precision, calibrated=calibration is not None, class_names=names,
                    synthetic_data=bool(ckpt.metrics.get("synthetic_data")), int8_agreement=int8_agreement,
                    features=tuple(features or ()))
    if out is None:
        rows, result.network_seconds, result.seconds = _classify(files, net, calibration, model_path, sha, batch_size, device,
                                                                 precision, pool, dask, use_sunpy, progress, None, early)
        result.table, result.new = cat.to_table(rows, names), len(rows)
        return result

    out = Path(out)
    cat.file_format(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SlicError(f"cannot make the catalogue's folder {out.parent} ({exc.strerror}).") from None
    with cat.Lock(out):
        journal = cat.Journal(out, names, provenance)
        if overwrite:
            journal.remove()
            out.unlink(missing_ok=True)
            cat.sidecar(out).unlink(missing_ok=True)
        existing = cat.to_table([], names)
        if out.exists():
            cat.check_provenance(cat.read_provenance(out), provenance, f"the existing catalogue {out}")
            existing, result.repaired = cat.read_rows(out, names)
        journaled = journal.open()
        existing, journaled = cat.absolute_paths(existing), cat.absolute_paths(journaled)
        done = cat.finished_paths(existing) | cat.finished_paths(journaled)  # error rows are tried again
        todo = [f for f in files if text_path(f) not in done]
        del done, journaled
        for f in set(early) - set(todo):  # decoded early, but already in the catalogue
            early.pop(f).cancel()
        _, result.network_seconds, result.seconds = _classify(todo, net, calibration, model_path, sha, batch_size, device,
                                                              precision, pool, dask, use_sunpy, progress, journal, early)
        result.new = len(todo)
        # rows of earlier runs' other inputs first, as they were; then this run's inputs in order
        everything, result.table = cat.merge([existing, cat.absolute_paths(journal.read())], [text_path(f) for f in files])
        if features:
            import pyarrow as pa
            import pyarrow.compute as pc

            keep = pc.and_(pc.equal(everything["status"], "ok"), pc.is_in(everything["label"], pa.array(list(features))))
            written = everything.filter(pc.fill_null(keep, False))
            cat.write_catalogue(out, written, names, provenance)
            result.written = written.num_rows
            journal.compact(everything)
        else:
            written = everything
            cat.write_catalogue(out, written, names, provenance)
            journal.remove()
        # rows of earlier runs' other inputs that the file holds (a mistyped folder's error row stays until --overwrite)
        ours = set(result.table.column("path").to_pylist())
        others = [s for p, s in zip(written.column("path").to_pylist(), written.column("status").to_pylist()) if p not in ours]
        result.other_rows, result.other_errors = len(others), sum(s != "ok" for s in others)
        result.out = out
    return result


def _classify(files: list[str], net, calibration, model_path: Path, sha: str, batch_size: int, device: str,
              precision: str, pool: tuple[cf.Executor, int] | None, dask, use_sunpy: bool, progress: bool,
              journal: cat.Journal | None, early: dict[str, cf.Future] | None = None) -> tuple[list[dict], float, float]:
    """Classify ``files``, committing each batch to the journal; (rows when there is no journal,
    network s, wall s). ``early``: decodings of some of the files already submitted, by path."""
    from .progress import tqdm

    rows: list[dict] = []
    net_seconds = 0.0
    committed = 0
    t0 = time.perf_counter()
    bar = tqdm(total=len(files), desc="classifying", unit="file", disable=not progress or not files, dynamic_ncols=True)

    def commit(batch_rows: list[dict]) -> None:
        nonlocal committed
        if journal is not None:
            journal.commit(batch_rows)  # the rows live on disk; merged in Arrow at the end
        else:
            rows.extend(batch_rows)
        committed += len(batch_rows)
        bar.update(len(batch_rows))

    try:
        if not files:
            return rows, 0.0, 0.0
        if dask is not None:
            cluster.classify_on(dask, files, model_path, sha, batch_size, device, precision, use_sunpy, commit)
        else:
            from .inference import cpu_threads

            executor, workers = pool
            threads = max(1, (os.cpu_count() or 1) - workers) if workers > 0 else None
            with cpu_threads(threads), readahead.explain_broken_pool():
                decoded = readahead.prefetch(executor, decode, files, readahead.ahead(batch_size, workers), net.preprocessing, use_sunpy, early=early)
                for batch in readahead.batches(files, batch_size, ramp=True):
                    part = [next(decoded) for _ in batch]
                    batch_rows, s = finish(net, [r for r, _ in part], [im for _, im in part], calibration, batch_size,
                                           device, precision)
                    net_seconds += s
                    commit(batch_rows)
    finally:
        bar.close()
    if committed != len(files):  # one row per input is the promise: a shortfall is a bug, never a silent success
        raise SlicError(f"{len(files) - committed} of {len(files)} files got no row (a bug in slic; please report it); the "
                        "rows written are kept: run the same command again to classify the rest.")
    return rows, net_seconds, time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``slic classify``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="*", help="FITS files, folders (searched recursively) and glob patterns (quote them)")
    parser.add_argument("--from-list", metavar="FILE", help="read more paths from FILE, one a line ('-': standard input)")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (slic train / slic paper) or published sol_class_4.pth")
    parser.add_argument("--out", type=Path, default=Path("catalogue.csv"),
                        help="catalogue to write, *.csv or *.parquet (default catalogue.csv)")
    parser.add_argument("--features", help="keep only rows predicted as these classes, comma-separated (e.g. sunspots,flares)")
    parser.add_argument("--batch-size", type=int, default=32, help="files per network batch and per commit (default 32)")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"decoding processes (default {readahead.default_workers()} here: all CPUs but two, none on two CPUs; 0: a reader thread of this process)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="network arithmetic; auto: bfloat16 where the CPU/GPU supports it natively, else float32; "
                             "int8 (CPUs): the convolutions in 8-bit integers with the scales 'slic calibrate' stored, "
                             "about twice as fast as bfloat16 (it reports int8/float32 label agreement)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="spread batches over a Dask cluster: 'local' (a LocalCluster of 2 workers) or a scheduler address tcp://HOST:PORT")
    parser.add_argument("--no-sunpy", action="store_true", help="read headers with astropy only (faster; no sunpy Map)")
    parser.add_argument("--overwrite", action="store_true", help="start the catalogue afresh instead of resuming it")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run ``slic classify``; returns the exit status documented in ``--help``."""
    if not args.paths and not args.from_list:
        raise SlicError("no inputs: give FITS files, folders or patterns, or --from-list FILE.")
    if args.batch_size < 1:
        raise SlicError(f"--batch-size must be at least 1, not {args.batch_size}.")
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    result = classify_files(args.paths, args.model, args.out, from_list=args.from_list, batch_size=args.batch_size,
                            device=args.device, precision=args.precision, workers=args.workers, dask=args.dask,
                            overwrite=args.overwrite, features=features, use_sunpy=not args.no_sunpy,
                            progress=not args.no_progress)
    print(f"wrote {args.out}")
    print(result.summary())
    if result.synthetic_data:
        print("note: this model was trained on simulated images (slic_lib.synthetic); treat its labels of real data with care.")
    return result.exit_code
