"""``slic paper``: execute notebooks 01-05 in order with papermill and regenerate the paper.

The executed notebooks are kept in ``notebooks/executed/<profile>/``; figures, tables and
``summary.json`` land in ``figures/<profile>/``, the selected model in
``data/models/<profile>/best.pt``. A failing notebook stops the run with the notebook and cell
named; everything the earlier notebooks produced is kept. A whole re-run simulates again only
what changed (the simulated frames are kept with their settings), but rebuilds the dataset and
so trains afresh: a model is never carried from one whole run to the next. To continue an
interrupted run, ``--only`` the notebooks left (an interrupted training then resumes from its
last epoch). A whole run starts a new ``summary.json`` (:func:`slic_lib.summary.start`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from . import headline, summary
from .errors import SlicError
from .paths import figures_root, notebooks_dir
from .profiles import PROFILES, get_profile

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


def run_notebooks(
    profile: str | None = None,
    data_source: str | None = None,
    aia_source: str | None = None,
    notebooks: tuple[str, ...] = PAPER_NOTEBOOKS,
    kernel: str | None = None,
    progress: bool = True,
) -> dict:
    """Execute notebooks with papermill; return the profile's summary.

    Parameters are passed as papermill ``-p`` values (``profile``, ``data_source``,
    ``aia_source``); a notebook resolves whatever is left ``None`` (see
    :func:`slic_lib.experiments.start`).
    """
    import papermill as pm  # lazy: papermill and its Jupyter stack are needed only to execute notebooks

    prof = get_profile(profile)
    missing = [name for name in notebooks if not (notebooks_dir() / name).exists()]
    if missing:  # every name checked before any notebook runs
        raise SlicError(f"notebook {notebooks_dir() / missing[0]} is missing from this checkout.")
    out_dir = notebooks_dir() / "executed" / prof.name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SlicError(f"cannot make {out_dir}, where the executed notebooks go ({exc.strerror}).") from None
    params = {"profile": prof.name, "data_source": data_source, "aia_source": aia_source}
    timings = {}
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
        timings[name] = round(time.perf_counter() - t0, 1)
        print(f"[slic paper] {name} done in {timings[name]:.0f} s", flush=True)
    return summary.update(prof.name, notebook_seconds={**summary.read(prof.name).get("notebook_seconds", {}), **timings})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None, help="run profile (default: $SLIC_PROFILE or cpu)")
    parser.add_argument("--data-source", default=None, help="simulator, slic-release or a folder of class folders of FITS files")
    parser.add_argument("--aia-source", choices=("simulator", "fido"), default=None, help="where the AIA test observations come from")
    parser.add_argument("--with-transfer", action="store_true", help="also run 06_transfer_learning and 07_hypotheses (beyond the paper)")
    parser.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="run only these notebooks (file names), in the given order")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")


def run(args: argparse.Namespace) -> int:
    notebooks = tuple(args.only) if args.only else PAPER_NOTEBOOKS + (BEYOND_NOTEBOOKS if args.with_transfer else ())
    t0 = time.perf_counter()
    if not args.only:  # a whole run's summary and headline hold its own numbers; --only adds to the last run's
        summary.start(get_profile(args.profile).name)
    result = run_notebooks(args.profile, args.data_source, args.aia_source, notebooks, args.kernel)
    prof = get_profile(args.profile)
    lacking = summary.missing(prof.name) if not args.only else []
    if lacking:
        raise SlicError(f"the notebooks ran but summary.json lacks {', '.join(lacking)}.")
    print(f"\nregenerated the paper ({prof.name} profile) in {time.perf_counter() - t0:.0f} s -> {figures_root() / prof.name}")
    if not args.only:
        path = headline.write(prof.name)
        print(f"\n{path.read_text()}\n(written to {path})")
    if result.get("synthetic_data"):
        print("note: the H-alpha results come from simulated data (slic_lib.synthetic), not the paper's observations.")
    return 0
