"""``slic paper``: execute notebooks 01-05 in order with papermill and regenerate the paper.

Figures, tables and ``summary.json`` land in ``figures/<profile>/``, the executed notebooks in
``figures/<profile>/executed/`` (:func:`slic_lib.paths.executed_dir`), the selected model in
``data/models/<profile>/best.pt``. A failing notebook stops the run with the notebook and cell
named; everything the earlier notebooks produced is kept. A whole re-run simulates again only
what changed (the simulated frames are kept with their settings), but rebuilds the dataset and
so trains afresh: a model is never carried from one whole run to the next. To continue an
interrupted run, ``--only`` the notebooks left (an interrupted training then resumes from its
last epoch). A whole run starts a new ``summary.json`` (:func:`slic_lib.summary.start`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

from . import headline, summary
from .errors import SlicError
from .paths import data_dir, executed_dir, figures_dir, figures_root, notebooks_dir
from .profiles import PROFILES, get_profile
from .progress import ENV as PROGRESS_ENV

KEYWORD_SOURCES = ("simulator", "slic-release")
INTERRUPTED_KEEPS = "the notebooks that finished keep their results (an interrupted notebook's line above names the --only command that continues)"
"""What ``slic paper`` keeps when it is interrupted (:func:`slic_lib.cli.main` says it)."""

PAPER_NOTEBOOKS = (
    "01_data_curation.ipynb",
    "02_training_sweep.ipynb",
    "03_validation_metrics.ipynb",
    "04_resolution_degradation.ipynb",
    "05_adversarial_aia.ipynb",
)
BEYOND_NOTEBOOKS = ("06_transfer_learning.ipynb", "07_hypotheses.ipynb")


def _failure(nb: Path, out: Path, exc: Exception) -> SlicError:
    """One sentence naming the notebook and the cell that failed."""
    cell = "?"
    try:
        executed = json.loads(out.read_text())
        for i, c in enumerate(executed["cells"]):
            if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
                cell = f"{i} (execution count {c.get('execution_count')})"
                break
    except (OSError, ValueError, KeyError):
        pass
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    return SlicError(f"notebook {nb.name} failed in cell {cell}: {ename}: {evalue[-1] if evalue else ''} (executed copy: {out}).")


def absolute_paths(data_source: str | None) -> str | None:
    """Make the user's relative paths absolute before a kernel starts in ``notebooks/``.

    The kernels run in the notebooks' folder, so ``--data-source work/mine`` (or a relative
    ``SLIC_DATA``, ``SLIC_FIGURES`` or ``SLIC_DATA_SOURCE``) meant another place there: data
    and figures written inside the repository, or "unknown data source" after a kernel start.
    The variables are set for the kernels, which inherit this process's environment.
    """
    for variable in ("SLIC_DATA", "SLIC_FIGURES"):
        if os.environ.get(variable):
            os.environ[variable] = str(Path(os.environ[variable]).expanduser().resolve())
    if data_source is None and os.environ.get("SLIC_DATA_SOURCE") not in (None, "", *KEYWORD_SOURCES):
        os.environ["SLIC_DATA_SOURCE"] = str(Path(os.environ["SLIC_DATA_SOURCE"]).expanduser().resolve())
    source = data_source or os.environ.get("SLIC_DATA_SOURCE")
    if source and source not in KEYWORD_SOURCES:
        folder = Path(source).expanduser().resolve()
        if not folder.is_dir():
            raise SlicError(f"the data source {source} is not a folder (looked for {folder}): use simulator, slic-release or a "
                            "folder of class folders of FITS files.")
        return str(folder) if data_source else None
    return data_source


def _check_manual_frames() -> None:
    """Refuse ``--aia-source fido`` before any notebook when a frame no Fido client serves is not in place.

    Notebook 04 needs the co-temporal Hinode/SOT H-alpha frame, which must be put in its folder
    by hand (:func:`slic_lib.fido.manual_step`); the AIA frames Fido downloads in 04 and 05.
    """
    from . import fido, observations

    for key in observations.resolution_pair():
        step = fido.manual_step(key)
        if step is not None and not fido.local_files(key):
            raise SlicError(f"--aia-source fido needs frames no Fido client serves: {step}.")


@contextlib.contextmanager
def one_run_at_a_time(profile: str):
    """Hold an exclusive lock on the profile's data and figures while notebooks run.

    Two runs of one profile side by side overwrite each other's dataset, models and summary:
    in the audit, one trained on the other's data and both failed with the same assertion.
    ``slic paper`` and nbval (``notebooks/conftest.py``) both take it. The locks are released
    by the OS if the process dies.
    """
    from filelock import FileLock, Timeout

    folders = {figures_dir(profile).resolve(), data_dir(profile).resolve()}  # once each: one folder may be both
    with contextlib.ExitStack() as stack:
        for folder in sorted(folders):
            lock = FileLock(str(folder / ".slic-paper.lock"), timeout=0)
            try:
                stack.enter_context(lock)
            except Timeout:
                raise SlicError(f"another run of profile {profile}'s notebooks (slic paper or nbval) holds its folders (lock "
                                f"{lock.lock_file}); wait for it to finish, or set SLIC_DATA and SLIC_FIGURES to other "
                                "folders for a second run.") from None
            except OSError as exc:
                raise SlicError(f"cannot write the lock {lock.lock_file} ({exc.strerror}); set SLIC_DATA and SLIC_FIGURES to "
                                "writable places.") from None
        yield


@contextlib.contextmanager
def _text_progress():
    """``$SLIC_PROGRESS=text`` for the kernels, which inherit it (:mod:`slic_lib.progress`: a saved
    widget bar reads "0%"); the caller's own environment as it was afterwards."""
    before = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = before or "text"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = before


def run_notebooks(
    profile: str | None = None,
    data_source: str | None = None,
    aia_source: str | None = None,
    notebooks: tuple[str, ...] = PAPER_NOTEBOOKS,
    kernel: str | None = None,
    progress: bool = True,
    new_summary: bool = False,
) -> dict:
    """Execute notebooks with papermill; return the profile's summary.

    Parameters are passed as papermill ``-p`` values (``profile``, ``data_source``,
    ``aia_source``); a notebook resolves whatever is left ``None`` (see
    :func:`slic_lib.experiments.start`). ``new_summary`` starts a new ``summary.json`` first
    (:func:`slic_lib.summary.start`; a whole ``slic paper`` run). One run of a profile at a time.
    """
    import papermill as pm  # lazy: papermill and its Jupyter stack are needed only to execute notebooks

    prof = get_profile(profile)
    missing = [name for name in notebooks if not (notebooks_dir() / name).exists()]
    if missing:  # every name checked before any notebook runs
        known = sorted(p.name for p in notebooks_dir().glob("0*.ipynb"))
        raise SlicError(f"notebook {notebooks_dir() / missing[0]} is missing from this checkout (the notebooks: {', '.join(known)}).")
    data_source = absolute_paths(data_source)
    if (aia_source or os.environ.get("SLIC_AIA_SOURCE")) == "fido" and "04_resolution_degradation.ipynb" in notebooks:
        _check_manual_frames()  # before 01-03 run: else a whole run trains for minutes and stops in 04
    with one_run_at_a_time(prof.name), _text_progress():
        if new_summary:
            summary.start(prof.name)
        return _execute(prof, notebooks, data_source, aia_source, kernel, progress, pm)


def _execute(prof, notebooks, data_source, aia_source, kernel, progress, pm) -> dict:
    out_dir = executed_dir(prof.name)
    params = {"profile": prof.name, "data_source": data_source, "aia_source": aia_source}
    result = summary.read(prof.name)
    for name in notebooks:
        nb = notebooks_dir() / name
        out = out_dir / name
        t0 = time.perf_counter()
        print(f"[slic paper] {prof.name}: running {name} ...", flush=True)
        try:
            # the kernel's own log is quiet: a warning about TCP on every notebook, and a traceback from a kernel
            # stopped mid-cell by Ctrl-C; a cell's error is in the executed notebook and named by _failure
            pm.execute_notebook(nb, out, parameters=params, kernel_name=kernel, progress_bar=progress, cwd=str(notebooks_dir()),
                                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        except pm.PapermillExecutionError as exc:
            raise _failure(nb, out, exc) from None
        except KeyboardInterrupt:  # rerunning the same command would start afresh: say how to go on instead
            left = notebooks[notebooks.index(name):]
            source = f" --data-source {shlex.quote(data_source)}" if data_source else ""
            aia = f" --aia-source {aia_source}" if aia_source else ""
            chosen = f" --kernel {shlex.quote(kernel)}" if kernel else ""
            print(f"[slic paper] {name} was interrupted (its executed copy {out} is incomplete); to continue: "
                  f"slic paper --profile {prof.name}{source}{aia}{chosen} --only {' '.join(left)}", file=sys.stderr, flush=True)
            raise
        seconds = round(time.perf_counter() - t0, 1)
        print(f"[slic paper] {name} done in {seconds:.0f} s", flush=True)
        # each as it ends: a run interrupted later keeps the times of the notebooks it finished
        result = summary.update(prof.name, notebook_seconds={**summary.read(prof.name).get("notebook_seconds", {}), name: seconds})
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None, help="run profile (default: $SLIC_PROFILE or cpu)")
    parser.add_argument("--data-source", default=None, help="simulator, slic-release or a folder of class folders of FITS files")
    parser.add_argument("--aia-source", choices=("simulator", "fido"), default=None, help="where the AIA test observations come from")
    parser.add_argument("--with-transfer", action="store_true", help="also run 06_transfer_learning and 07_hypotheses (beyond the paper)")
    parser.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="run only these notebooks (file names), in the given order")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")


def run(args: argparse.Namespace) -> int:
    # "--only 03_validation_metrics" means the notebook as much as its file name does
    only = tuple(n if n.endswith(".ipynb") else f"{n}.ipynb" for n in (Path(n).name for n in args.only or ()))
    notebooks = only or PAPER_NOTEBOOKS + (BEYOND_NOTEBOOKS if args.with_transfer else ())
    t0 = time.perf_counter()
    was_complete = not summary.missing(get_profile(args.profile).name)
    # a whole run's summary and headline hold its own numbers; --only adds to the last run's
    result = run_notebooks(args.profile, args.data_source, args.aia_source, notebooks, args.kernel, new_summary=not args.only)
    prof = get_profile(args.profile)
    lacking = summary.missing(prof.name)
    if lacking and not args.only:
        raise SlicError(f"the notebooks ran but summary.json lacks {', '.join(lacking)}.")
    what = "regenerated the paper" if not args.only else f"ran {len(notebooks)} notebook{'s' if len(notebooks) > 1 else ''}"
    print(f"\n{what} ({prof.name} profile) in {time.perf_counter() - t0:.0f} s -> {figures_root() / prof.name}")
    if not lacking and not (args.only and was_complete):  # a whole run, or --only that finished an interrupted one
        path = headline.write(prof.name)
        print(f"\n{path.read_text()}\n(written to {path})")
    if result.get("synthetic_data"):
        print("note: the H-alpha results come from simulated data (slic_lib.synthetic), not the paper's observations.")
    return 0
