"""The catalogue file of ``slic classify``: columns, provenance, a journal of committed batches, a lock.

Guarantees
----------
* Rows are committed a batch at a time, each batch as one Parquet *part* file in the journal
  folder ``<out>.parts/`` (written to a temporary name, flushed, then renamed: a part is
  whole or absent). The catalogue ``<out>`` is written from the parts at the end, again by
  rename, and the journal removed. A run killed at any moment and started again with the same
  arguments reads the catalogue and the parts, skips the files they hold, and ends with
  exactly one complete row per input.
* A CSV catalogue found on resume is checked row by row (the right number of fields, a
  known status, probabilities that parse and sum to one, a line that ends) and rows that fail
  are classified again, so a file cut mid-row by a kill or a full disk is repaired, not trusted.
* Every catalogue records its provenance (model SHA-256, package version, preprocessing,
  calibration): in the Parquet schema metadata under ``b"slic"``, and for CSV in the sidecar
  ``<out>.provenance.json``. Resuming with another model is refused.
* One run at a time per catalogue: a lock ``.<out name>.lock`` beside it (``filelock``), so
  a second run on the same ``--out`` stops with one sentence.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import SlicError
from .reader import FACTS

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
STATUSES = ("ok", "error")
META_KEY = b"slic"


def columns(class_names: Sequence[str]) -> list[str]:
    """The catalogue's columns, in order."""
    return ["path", "status", "error", "error_kind", "hdu", "hdu_name", "reader", "label",
            *[f"p_{c}" for c in class_names], "confidence", "ood_score", "ood_flag", *FACTS]


def schema(class_names: Sequence[str]) -> pa.Schema:
    """The Arrow schema of the catalogue (every column but ``path`` and ``status`` may be null)."""
    types = {"hdu": pa.int32(), "ood_flag": pa.bool_(), "confidence": pa.float64(), "ood_score": pa.float64(),
             **{f"p_{c}": pa.float64() for c in class_names},
             **{k: pa.float64() for k in ("wavelength", "xcen", "ycen", "cdelt1", "cdelt2", "exptime")}}
    return pa.schema([pa.field(c, types.get(c, pa.string()), nullable=c not in ("path", "status"))
                      for c in columns(class_names)])


def file_format(out: str | os.PathLike) -> str:
    """``"csv"`` or ``"parquet"`` from the catalogue's suffix."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise SlicError(f"cannot tell the catalogue format from {Path(out).name!r}; name it *.csv or *.parquet.")
    return FORMATS[suffix]


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def journal_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def sidecar(out: Path) -> Path:
    return out.with_name(out.name + ".provenance.json")


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


def _fsync_replace(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Lock
# --------------------------------------------------------------------------------------------


class Lock:
    """An exclusive lock on one catalogue, released by the OS if the process dies."""

    def __init__(self, out: Path) -> None:
        from filelock import FileLock, Timeout

        self.path = lock_path(out)
        self._lock = FileLock(str(self.path), timeout=0)
        self._timeout = Timeout

    def __enter__(self) -> "Lock":
        try:
            self._lock.acquire()
        except self._timeout:
            raise SlicError(f"another slic classify is writing {self.path.name[1:-5]} now (lock {self.path}); "
                            "wait for it to finish or choose another --out.") from None
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


# --------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------


def check_provenance(found: dict | None, expected: dict, where: str) -> None:
    """Refuse to add rows to a catalogue another model (or other preprocessing) wrote."""
    if found is None:
        raise SlicError(f"{where} has no provenance record (written by an older slic classify, or not by it), so its rows "
                        "cannot be traced to a model; pass --overwrite or choose another --out.")
    for key, what in (("model_sha256", "model"), ("class_names", "classes"), ("preprocessing", "preprocessing"),
                      ("calibration_sha256", "calibration")):
        if found.get(key) != expected.get(key):
            raise SlicError(f"{where} was written with another {what} ({key} {str(found.get(key))[:16]} differs from "
                            f"{str(expected.get(key))[:16]}); resume with the same --model or choose another --out.")


def read_provenance(out: Path) -> dict | None:
    if file_format(out) == "parquet":
        try:
            meta = pq.read_schema(out).metadata or {}
        except Exception as exc:
            raise SlicError(f"cannot read the existing catalogue {out} ({type(exc).__name__}); pass --overwrite or choose another --out.") from None
        return json.loads(meta[META_KEY]) if META_KEY in meta else None
    side = sidecar(out)
    return json.loads(side.read_text()) if side.exists() else None


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def to_table(rows: list[dict], class_names: Sequence[str], provenance: dict | None = None) -> pa.Table:
    sch = schema(class_names)
    table = pa.Table.from_pylist([{c: r.get(c) for c in sch.names} for r in rows], schema=sch)
    if provenance is None:
        return table
    meta = {META_KEY: json.dumps(provenance).encode()}
    for name in sch.names:  # astropy.table reads string widths from these keys (else it warns)
        if pa.types.is_string(sch.field(name).type):
            width = max((len(v) for v in table.column(name).to_pylist() if v is not None), default=1)
            meta[f"table::len::{name}".encode()] = str(max(width, 1)).encode()
    return table.replace_schema_metadata(meta)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_catalogue(out: Path, rows: list[dict], class_names: Sequence[str], provenance: dict) -> None:
    """Write the whole catalogue atomically (CSV: the provenance sidecar first)."""
    if file_format(out) == "parquet":
        buf = io.BytesIO()
        pq.write_table(to_table(rows, class_names, provenance), buf)
        _atomic_bytes(out, buf.getvalue())
        return
    _atomic_bytes(sidecar(out), json.dumps(provenance, indent=2).encode())
    cols = columns(class_names)
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(cols)
    w.writerows([[_csv_text(r.get(c)) for c in cols] for r in rows])
    _atomic_bytes(out, text.getvalue().encode())


def _parse_csv_row(values: list[str], cols: list[str], class_names: Sequence[str]) -> dict | None:
    """A row dict with typed values, or None when the row is damaged."""
    if len(values) != len(cols):
        return None
    raw = dict(zip(cols, values))
    if raw["status"] not in STATUSES or not raw["path"]:
        return None
    row: dict[str, Any] = {}
    floats = {f"p_{c}" for c in class_names} | {"confidence", "ood_score", "wavelength", "xcen", "ycen", "cdelt1", "cdelt2", "exptime"}
    try:
        for c in cols:
            v = raw[c]
            if v == "":
                row[c] = None
            elif c in floats:
                row[c] = float(v)
            elif c == "hdu":
                row[c] = int(v)
            elif c == "ood_flag":
                if v not in ("True", "False"):
                    return None
                row[c] = v == "True"
            else:
                row[c] = v
    except ValueError:
        return None
    if row["status"] == "ok":
        probs = [row.get(f"p_{c}") for c in class_names]
        if None in probs or abs(sum(probs) - 1) > 1e-3 or row["label"] not in class_names or row["confidence"] is None:
            return None
    return row


def read_rows(out: Path, class_names: Sequence[str]) -> tuple[list[dict], int]:
    """The valid rows of an existing catalogue and the number of damaged rows dropped."""
    if file_format(out) == "parquet":
        try:
            table = pq.read_table(out)
        except Exception as exc:
            raise SlicError(f"cannot read the existing catalogue {out} ({type(exc).__name__}); pass --overwrite or choose another --out.") from None
        return table.to_pylist(), 0
    cols = columns(class_names)
    text = out.read_text(errors="replace")
    lines = text.split("\n")
    if not lines or lines[0] != ",".join(cols):
        raise SlicError(f"{out} has other columns than this model's catalogue; pass --overwrite or choose another --out.")
    body = lines[1:]
    cut = body[-1] != ""  # the last line has no newline: cut short
    rows, bad = [], 0
    for values in csv.reader(body[:-1]):  # the last item is "" after a final newline, else a cut line
        row = _parse_csv_row(values, cols, class_names)
        if row is None:
            bad += 1
        else:
            rows.append(row)
    return rows, bad + int(cut)


class Journal:
    """The committed batches of an unfinished run: ``<out>.parts/part-NNNNNNNN.parquet``."""

    def __init__(self, out: Path, class_names: Sequence[str], provenance: dict) -> None:
        self.dir = journal_dir(out)
        self.class_names = tuple(class_names)
        self.provenance = provenance
        self._next = 0

    def parts(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet")) if self.dir.is_dir() else []

    def open(self) -> list[dict]:
        """Check the journal's provenance and return the rows it holds (leftover temporaries removed)."""
        if not self.dir.is_dir():
            self.dir.mkdir(parents=True)
        for tmp in self.dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        prov = self.dir / "provenance.json"
        if prov.exists():
            check_provenance(json.loads(prov.read_text()), self.provenance, f"the unfinished run in {self.dir}")
        else:
            _atomic_bytes(prov, json.dumps(self.provenance, indent=2).encode())
        rows: list[dict] = []
        parts = self.parts()
        for part in parts:
            rows += pq.read_table(part).to_pylist()
        self._next = 1 + max((int(p.stem.split("-")[1]) for p in parts), default=0)
        return rows

    def commit(self, rows: list[dict]) -> Path:
        """Write one batch of rows as a part file, atomically."""
        buf = io.BytesIO()
        pq.write_table(to_table(rows, self.class_names), buf)
        path = self.dir / f"part-{self._next:08d}.parquet"
        _atomic_bytes(path, buf.getvalue())
        self._next += 1
        return path

    def compact(self, rows: list[dict]) -> None:
        """Replace every part by one holding ``rows`` (kept when the catalogue is filtered)."""
        old = self.parts()
        self.commit(rows)
        for p in old:
            p.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
