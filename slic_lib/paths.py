"""Absolute project paths, read at call time, so scripts and notebooks work from any directory.

The repository root is found from this file; ``SLIC_DATA`` and ``SLIC_FIGURES`` override
where generated data and figures go (e.g. on a cluster's scratch disk). They are read every
time a function here is called, never at import, so a test or a notebook can point them
elsewhere with ``monkeypatch.setenv`` and no module has to be reloaded.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository (or installed package's parent) folder."""


def data_root() -> Path:
    """Where generated and downloaded data go: ``$SLIC_DATA``, else ``<repo>/data``."""
    return Path(os.environ.get("SLIC_DATA") or ROOT / "data").expanduser().resolve()  # '~/scratch' quoted: not ./~/scratch


def figures_root() -> Path:
    """Where figures and tables go: ``$SLIC_FIGURES``, else ``<repo>/figures``."""
    return Path(os.environ.get("SLIC_FIGURES") or ROOT / "figures").expanduser().resolve()


def notebooks_dir() -> Path:
    """The numbered notebooks."""
    return ROOT / "notebooks"


def figures_dir(profile: str) -> Path:
    """Folder for one profile's figures and tables (created on demand)."""
    return _made(figures_root() / profile, "SLIC_FIGURES")


def executed_dir(profile: str) -> Path:
    """Folder for the notebooks ``slic paper`` executed for one profile: beside the figures they
    drew, so that a run under another ``SLIC_FIGURES`` keeps its own (created on demand)."""
    return _made(figures_dir(profile) / "executed", "SLIC_FIGURES")


def models_dir(profile: str) -> Path:
    """Folder for one profile's checkpoints (created on demand)."""
    return _made(data_root() / "models" / profile, "SLIC_DATA")


def data_dir(profile: str) -> Path:
    """Folder for one profile's generated data (created on demand)."""
    return _made(data_root() / profile, "SLIC_DATA")


def results_dir(profile: str) -> Path:
    """Folder for one profile's result files, which figures are drawn from (created on demand)."""
    return _made(data_root() / profile / "results", "SLIC_DATA")


def _made(path: Path, variable: str) -> Path:
    """``path``, made if needed; a place that cannot be made is one sentence naming the variable that moves it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from .errors import SlicError

        raise SlicError(f"cannot make the folder {path} ({exc.strerror}); set {variable} to a writable place.") from None
    return path


def make_folder(path: str | os.PathLike, option: str, holds: str) -> Path:
    """The folder a user named with ``option``, made if needed; a file there, or a folder that
    cannot be made, is one sentence (:class:`~slic_lib.errors.SlicError`) before any work."""
    from .errors import SlicError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SlicError(f"{option} {path} is a file; name a folder for {holds}.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SlicError(f"cannot make the folder {path} ({exc.strerror}).") from None
    if not os.access(path, os.W_OK | os.X_OK):  # an existing read-only folder failed only at the first write, after the work
        raise SlicError(f"cannot write in the folder {path} (permission denied or a read-only file system).")
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w", durable: bool = False) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    A run killed mid-write leaves the previous file whole. The file gets the permissions any
    new file gets here (``0666`` less the umask), not the ``0600`` of :func:`tempfile.mkstemp`,
    which hid results and models from the rest of a shared group. ``durable`` flushes the data
    to the disk before the rename (checkpoints).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def text_path(path: str | os.PathLike) -> str:
    """A path as text for a catalogue or dataset file, which hold UTF-8: a file name's bytes that
    are not UTF-8 (Python keeps them as surrogates, PEP 383) as backslash escapes (``caf\\xe9.fits``).

    Arrow, CSV, Parquet and HDF5 refuse the surrogates, so one file named in Latin-1 stopped
    ``slic classify`` and ``slic build`` on a whole archive; the file itself is read by its real name.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
