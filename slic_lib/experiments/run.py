"""A run: one profile on one data source, and where its files go.

::

    data/<profile>/             simulated FITS (sim/, aia/), dataset.h5
    data/<profile>/results/     what each notebook computed (JSON, CSV, npz): figures read these
    data/models/<profile>/      sweep/lr_<rate>/{last,best}.pt and best.pt, the selected model
    figures/<profile>/          PNG + PDF figures, CSV + Markdown tables, summary.json
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import results as result_files
from .. import summary, synthetic, tables
from ..errors import SlicError
from ..paths import data_root, figures_dir, models_dir, results_dir
from ..plots.style import save_figure
from ..profiles import Profile, get_profile

DATA_SOURCES = ("simulator", "slic-release")
AIA_SOURCES = ("simulator", "fido")


@dataclass
class Run:
    """One profile on one data source, and where its files go."""

    profile: Profile
    data_source: str
    aia_source: str = "simulator"  # where the AIA (and co-temporal SOT) test observations come from

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def synthetic(self) -> bool:
        """True when the H-alpha data come from the simulator: results must say so."""
        return self.data_source == "simulator"

    @property
    def synthetic_aia(self) -> bool:
        """True when the AIA test observations come from the simulator."""
        return self.aia_source != "fido"

    @property
    def data_dir(self) -> Path:
        return data_root() / self.name

    @property
    def dataset_path(self) -> Path:
        return self.data_dir / "dataset.h5"

    @property
    def models(self) -> Path:
        return models_dir(self.name)

    @property
    def best_model(self) -> Path:
        return self.models / "best.pt"

    @property
    def figures(self) -> Path:
        return figures_dir(self.name)

    @property
    def results(self) -> Path:
        return results_dir(self.name)

    @property
    def label(self) -> str:
        return "simulated data" if self.synthetic else f"data: {self.data_source}"

    def save(self, fig, name: str) -> list[Path]:
        """Save a figure as PNG and PDF in the run's figure folder."""
        return save_figure(fig, self.figures / name)

    def table(self, frame, name: str, caption: str = "") -> Path:
        """Write a table as CSV and Markdown, its caption naming the data source and profile."""
        return tables.write(frame, self.figures / name, f"{caption} ({self.label}, profile {self.name})".strip())

    def newer_than_dataset(self, path: Path) -> bool:
        """True when ``path`` was written after the dataset file: a training it holds may resume.

        Notebook 01 rebuilds the dataset file, so a checkpoint from before it was trained on
        other (perhaps older simulated) data and must not be resumed.
        """
        return path.exists() and path.stat().st_mtime > self.dataset_path.stat().st_mtime

    def discard(self, results: tuple[str, ...] = (), figures: tuple[str, ...] = (), summary_keys: tuple[str, ...] = ()) -> None:
        """Delete what an earlier run left of a step that does not apply to this one: its result
        files, its figures and tables (PNG, PDF, CSV, Markdown) and its ``summary.json`` keys, which
        would otherwise be drawn and reported again under this run's label."""
        result_files.remove(self.name, *results)
        for name in figures:
            for suffix in (".png", ".pdf", ".csv", ".md"):
                (self.figures / f"{name}{suffix}").unlink(missing_ok=True)
        summary.drop(self.name, *summary_keys)

    def require_dataset(self) -> Path:
        """The dataset file, checked to be built from this run's data source (else one sentence).

        Notebooks 02-06 label every result with the run's data source; a dataset that notebook
        01 built from another source (an ``--only`` run that forgot ``--data-source``) would put
        simulated results under a folder's name, or the other way round. Notebook 01 writes the
        run's data source as the dataset's ``source`` (a dataset of an older version, whose
        source names the release's npz file, counts as ``slic-release``).
        """
        if not self.dataset_path.is_file():
            raise SlicError(f"{self.dataset_path} does not exist; run notebook 01 with profile {self.name!r} first.")
        import h5py

        with h5py.File(self.dataset_path, "r") as h5:
            built_from = str(h5.attrs.get("source", "")) or None
        if built_from is not None and built_from.endswith(".npz"):
            built_from = "slic-release"
        if built_from is not None and built_from != self.data_source:
            raise SlicError(f"{self.dataset_path} was built from {built_from}, but this run's data source is {self.data_source}: "
                            f"run notebook 01 with data source {self.data_source} first, or run this one with {built_from}.")
        return self.dataset_path

    def require_model(self) -> Path:
        """The selected model, or a clear error naming the notebooks that make it.

        Where the dataset file is there, it is checked first (:meth:`require_dataset`): the
        model was trained on it, and its results are labelled with this run's data source.
        """
        if self.dataset_path.is_file():
            self.require_dataset()
        if not self.best_model.exists():
            raise SlicError(f"{self.best_model} does not exist; run notebooks 01 and 02 with profile {self.name!r} first.")
        return self.best_model


def start(profile: str | None = None, data_source: str | None = None, aia_source: str | None = None) -> Run:
    """Resolve a notebook's parameters into a :class:`Run` (and create its folders).

    Parameters
    ----------
    profile
        Papermill's ``-p profile``, else ``$SLIC_PROFILE``, else ``cpu``.
    data_source
        H-alpha training data: ``simulator``, ``slic-release`` or a folder of class folders of
        FITS files; else ``$SLIC_DATA_SOURCE``, else the profile's default.
    aia_source
        The AIA test observations of notebooks 04-05: ``simulator`` (default) or ``fido``.
    """
    prof = get_profile(profile)
    source = data_source or os.environ.get("SLIC_DATA_SOURCE") or prof.data_source
    if source not in DATA_SOURCES:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise SlicError(f"unknown data source {source!r} (no such folder"
                            f"{'' if folder.is_absolute() else ' under ' + os.getcwd()}): use simulator, slic-release or a folder of "
                            "class folders of FITS files.")
        source = str(folder.resolve())  # one name for one folder, whichever way it was written
    aia = aia_source or os.environ.get("SLIC_AIA_SOURCE") or "simulator"
    if aia not in AIA_SOURCES:
        raise SlicError(f"unknown AIA source {aia!r}: use simulator or fido.")
    run = Run(prof, source, aia)
    run.figures, run.results  # create the folders
    return run


def simulator_fingerprint() -> str:
    """A hash of the simulator's source, so simulated files made by older code are made again."""
    digest = hashlib.sha256()
    for path in sorted(Path(synthetic.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def complete(marker: Path, params: dict) -> bool:
    """True when ``marker`` records that a step finished with exactly these parameters.

    Every marker also records :func:`simulator_fingerprint`: after a change of the simulator,
    kept simulated files no longer count as complete.
    """
    return marker.exists() and json.loads(marker.read_text()) == {**params, "simulator": simulator_fingerprint()}


def mark_complete(marker: Path, params: dict) -> None:
    """Record that a step finished with these parameters (see :func:`complete`)."""
    marker.write_text(json.dumps({**params, "simulator": simulator_fingerprint()}))
