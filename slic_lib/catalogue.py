"""The catalogue file of ``slic classify``: columns, provenance, a journal of committed batches, a lock.

Guarantees
----------
* Rows are committed a batch at a time, each batch as one Parquet *part* file in the journal
  folder ``<out>.parts/`` (written to a temporary name, flushed, then renamed: a part is
  whole or absent). The catalogue ``<out>`` is written from the parts at the end, again by
  rename, and the journal removed. A run killed at any moment and started again with the same
  arguments reads the catalogue and the parts, skips the files they hold, and ends with
  exactly one complete row per input. Files whose rows are errors are tried again (a
  download fetched anew, say), and their new rows replace the old.
* Paths are stored absolute and normalised, so a rerun from another folder, or with other
  spellings of the same path, resumes instead of classifying the files twice.
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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import SlicError
from .facts import FACTS

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
        try:  # a folder that cannot be written: say so, not "another run holds the lock"
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644))
        except OSError as exc:
            raise SlicError(f"cannot write the catalogue's lock {self.path} ({exc.strerror}); choose an --out in a folder "
                            "you can write.") from None
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
                            f"{str(expected.get(key))[:16]}); resume with the same --model, choose another --out, or pass --overwrite.")
    # bfloat16 and float32 rows may share a catalogue (resumed on another machine); int8 rows,
    # an approximation of another kind, may not share one with either
    was, now = found.get("precision"), expected.get("precision")
    if (was == "int8") != (now == "int8"):
        raise SlicError(f"{where} was written with --precision {was or 'float32'}; resume with that precision, choose another "
                        "--out, or pass --overwrite.")


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


def to_table(rows: list[dict], class_names: Sequence[str]) -> pa.Table:
    """Row dicts as a table of the catalogue's schema."""
    sch = schema(class_names)
    return pa.Table.from_pylist([{c: r.get(c) for c in sch.names} for r in rows], schema=sch)


def conform(table: pa.Table, class_names: Sequence[str]) -> pa.Table:
    """A table read back from a file, with the catalogue's columns and types and no metadata."""
    sch = schema(class_names)
    missing = [c for c in sch.names if c not in table.column_names]
    if missing:
        raise SlicError(f"a catalogue file lacks the columns {', '.join(missing)}; pass --overwrite or choose another --out.")
    return table.select(sch.names).replace_schema_metadata(None).cast(sch)


def with_provenance(table: pa.Table, provenance: dict) -> pa.Table:
    """The table with its provenance, and the string widths astropy.table reads (else it warns)."""
    meta = {META_KEY: json.dumps(provenance).encode()}
    for name in table.column_names:
        if pa.types.is_string(table.schema.field(name).type):
            width = pc.max(pc.utf8_length(table[name])).as_py() if table.num_rows else None
            meta[f"table::len::{name}".encode()] = str(max(width or 1, 1)).encode()
    return table.replace_schema_metadata(meta)


def merge(tables: list[pa.Table], files: Sequence[str]) -> tuple[pa.Table, pa.Table]:
    """One row per path (the last found), ordered: other paths first as found, then ``files`` in order.

    The last row wins so that a file retried by a rerun (its earlier row an error) gets its
    new row; tables are passed oldest first. Returns the whole catalogue and the rows of
    ``files`` (in the order of ``files``). Done in Arrow, so an archive of millions of rows is
    never held as Python objects.
    """
    table = pa.concat_tables(tables)
    table = table.append_column("__i", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    seen = table.group_by("path", use_threads=False).aggregate([("__i", "min"), ("__i", "max")])
    order = pc.sort_indices(seen["__i_min"])  # each path where it was first found
    last, first = pc.take(seen["__i_max"], order).combine_chunks(), pc.take(seen["__i_min"], order).combine_chunks()
    table = table.take(last)
    pos = pc.fill_null(pc.index_in(table["path"], value_set=pa.array(list(files), pa.string())), -1)
    keyed = pa.table({"pos": pos, "i": first})
    table = table.take(pc.sort_indices(keyed, sort_keys=[("pos", "ascending"), ("i", "ascending")]))
    table = table.drop_columns(["__i"])
    n_other = table.num_rows - pc.sum(pc.greater_equal(pos, 0)).as_py() if table.num_rows else 0
    return table, table.slice(n_other)


def absolute_paths(table: pa.Table) -> pa.Table:
    """The table with its ``path`` column made absolute and normalised (``os.path.abspath``).

    Catalogues store absolute paths, so that a rerun from another folder, or one that names a
    file as ``./x.fits`` or ``a/../x.fits``, finds the row it wrote; rows of catalogues written
    with relative paths (before this) are read relative to the current folder, where they were
    written.
    """
    if not table.num_rows:
        return table
    paths = pa.array([os.path.abspath(p) for p in table.column("path").to_pylist()], pa.string())
    i = table.schema.get_field_index("path")
    return table.set_column(i, table.schema.field(i), paths)


def finished_paths(table: pa.Table) -> set[str]:
    """Paths with an ``ok`` row: a rerun skips these and tries the files that failed again."""
    return set(table.filter(pc.equal(table["status"], "ok")).column("path").to_pylist())


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _atomic_file(path: Path, write, mode: str = "wb") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **({} if "b" in mode else {"newline": ""})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_catalogue(out: Path, table: pa.Table, class_names: Sequence[str], provenance: dict) -> None:
    """Write the whole catalogue atomically (CSV: the provenance sidecar first)."""
    if file_format(out) == "parquet":
        _atomic_file(out, lambda fh: pq.write_table(with_provenance(table, provenance), fh))
        return
    _atomic_bytes(sidecar(out), json.dumps(provenance, indent=2).encode())
    cols = columns(class_names)

    def write(fh) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for batch in table.to_batches(max_chunksize=10_000):
            w.writerows([[_csv_text(r.get(c)) for c in cols] for r in batch.to_pylist()])

    _atomic_file(out, write, "w")


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


def read_rows(out: Path, class_names: Sequence[str]) -> tuple[pa.Table, int]:
    """The valid rows of an existing catalogue and the number of damaged rows dropped."""
    if file_format(out) == "parquet":
        try:
            table = pq.read_table(out)
        except Exception as exc:
            raise SlicError(f"cannot read the existing catalogue {out} ({type(exc).__name__}); pass --overwrite or choose another --out.") from None
        return conform(table, class_names), 0
    cols = columns(class_names)
    text = out.read_text(errors="replace")
    header, _, body = text.partition("\n")
    if header != ",".join(cols):
        raise SlicError(f"{out} has other columns than this model's catalogue; pass --overwrite or choose another --out.")
    # csv parses the whole text, so a quoted path holding a line break stays one row
    records = list(csv.reader(io.StringIO(body, newline="")))
    cut = body != "" and not body.endswith("\n")  # the last row has no newline: cut short
    if cut:
        records.pop()
    rows, bad = [], 0
    for values in records:
        row = _parse_csv_row(values, cols, class_names)
        if row is None:
            bad += 1
        else:
            rows.append(row)
    return to_table(rows, class_names), bad + int(cut)


class Journal:
    """The committed batches of an unfinished run: ``<out>.parts/part-NNNNNNNN.parquet``."""

    def __init__(self, out: Path, class_names: Sequence[str], provenance: dict) -> None:
        self.dir = journal_dir(out)
        self.class_names = tuple(class_names)
        self.provenance = provenance
        self._next = 0

    def parts(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet")) if self.dir.is_dir() else []

    def open(self) -> pa.Table:
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
        parts = self.parts()
        self._next = 1 + max((int(p.stem.split("-")[1]) for p in parts), default=0)
        return self.read()

    def read(self) -> pa.Table:
        """Every committed row, in commit order."""
        tables = [conform(pq.read_table(part), self.class_names) for part in self.parts()]
        return pa.concat_tables(tables) if tables else to_table([], self.class_names)

    def commit(self, rows: list[dict] | pa.Table) -> Path:
        """Write one batch of rows as a part file, atomically."""
        table = rows if isinstance(rows, pa.Table) else to_table(rows, self.class_names)
        path = self.dir / f"part-{self._next:08d}.parquet"
        _atomic_file(path, lambda fh: pq.write_table(table, fh))
        self._next += 1
        return path

    def compact(self, table: pa.Table) -> None:
        """Replace every part by one holding ``table`` (kept when the catalogue is filtered)."""
        old = self.parts()
        self.commit(table)
        for p in old:
            p.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
