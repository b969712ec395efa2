"""Absolute project paths, read at call time, so scripts and notebooks work from any directory.

The repository root is found from this file; ``SLIC_DATA`` and ``SLIC_FIGURES`` override
where generated data and figures go (e.g. on a cluster's scratch disk). They are read every
time a function here is called, never at import, so a test or a notebook can point them
elsewhere with ``monkeypatch.setenv`` and no module has to be reloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository (or installed package's parent) folder."""


def data_root() -> Path:
    """Where generated and downloaded data go: ``$SLIC_DATA``, else ``<repo>/data``."""
    return Path(os.environ.get("SLIC_DATA") or ROOT / "data").resolve()


def figures_root() -> Path:
    """Where figures and tables go: ``$SLIC_FIGURES``, else ``<repo>/figures``."""
    return Path(os.environ.get("SLIC_FIGURES") or ROOT / "figures").resolve()


def notebooks_dir() -> Path:
    """The numbered notebooks."""
    return ROOT / "notebooks"


def figures_dir(profile: str) -> Path:
    """Folder for one profile's figures and tables (created on demand)."""
    path = figures_root() / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir(profile: str) -> Path:
    """Folder for one profile's checkpoints (created on demand)."""
    path = data_root() / "models" / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir(profile: str) -> Path:
    """Folder for one profile's result files, which figures are drawn from (created on demand)."""
    path = data_root() / profile / "results"
    path.mkdir(parents=True, exist_ok=True)
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
    return path
