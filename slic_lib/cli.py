"""The ``slic`` command line.

Each subcommand lives in the module that does the work; that module provides
``add_arguments(parser)`` and ``run(args) -> int``. Only the chosen subcommand's module is
imported, so ``slic --help`` is instant and a broken optional dependency of one command
never breaks the others.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from typing import Iterator
from importlib.metadata import PackageNotFoundError, version

from .errors import SlicError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("slic_lib.synthetic.cli", "simulate labelled Hinode/SOT H-alpha and SDO/AIA FITS files"),
    "build": ("slic_lib.dataset", "build a dataset file from class folders of FITS files"),
    "train": ("slic_lib.sweep", "train the network (one learning rate or a sweep)"),
    "evaluate": ("slic_lib.evaluate", "confusion matrix, precision, recall and timing on a dataset"),
    "classify": ("slic_lib.classify", "catalogue FITS files (CSV or Parquet): labels, confidence, OOD flag, header facts"),
    "calibrate": ("slic_lib.ood", "calibrate a checkpoint's confidence and OOD threshold on its validation split"),
    "paper": ("slic_lib.pipeline", "run the numbered notebooks with papermill (01-05: the paper; 06-07 with --with-transfer) and regenerate every figure and table"),
    "fetch": ("slic_lib.fetch", "download the published Slic release (weights and data)"),
    "fido": ("slic_lib.fido", "search and download the paper's AIA/SOT observations with sunpy Fido"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slic",
        description="Fast solar image classification with deep learning "
        "(Armstrong & Fletcher 2019, reproduced and extended).",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)
    return parser


def _version() -> str:
    try:
        return f"slic {version('slic_lib')}"
    except PackageNotFoundError:  # running from a source tree
        return "slic (source tree)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``slic`` console script (``argv`` None: the process's own arguments)."""
    rc = _main(sys.argv[1:] if argv is None else list(argv))
    if argv is None and threading.current_thread() is threading.main_thread():
        _finished(rc)
    return rc


def _finished(rc: int) -> None:
    """From here on, SIGTERM ends the process with the command's own exit status.

    The work is done and written, but the interpreter's shutdown (worker processes and threads
    joined, libraries unloaded) takes a second or two, in which a batch system's SIGTERM turned a
    finished run into "terminated" (143) under the default handler (found by an audit).
    """
    def handler(signum, frame):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(rc)

    signal.signal(signal.SIGTERM, handler)


def _main(argv: list[str]) -> int:
    top = _top_parser()
    if not argv or argv[0] not in COMMANDS:
        top.parse_args(argv or ["--help"])  # prints help / usage error and exits
        return 2
    name = argv[0]
    module_name, help_ = COMMANDS[name]
    parser = argparse.ArgumentParser(prog=f"slic {name}", description=help_)
    module = None
    try:
        with _terminate_as_interrupt():  # from the start: importing torch alone takes seconds
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:  # an optional dependency of this one command is missing
                print(f"slic {name}: error: cannot import {module_name} ({exc}).", file=sys.stderr)
                return 1
            module.add_arguments(parser)
            args = parser.parse_args(argv[1:])
            return int(module.run(args) or 0)
    except SlicError as exc:
        print(f"slic {name}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        how, code = ("terminated", 128 + signal.SIGTERM) if isinstance(exc, Terminated) else ("interrupted", 130)
        kept = getattr(module, "INTERRUPTED_KEEPS", "finished work (checkpoints, catalogue rows) is kept")
        print(f"slic {name}: {how}; {kept}.", file=sys.stderr)
        return code
    except BrokenPipeError:  # `slic classify ... | head`: the reader left; what was written to disk is complete
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's recipe: no second error at exit
        return 1


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch system's time limit), taken the way Ctrl-C is: the work in hand
    stops where it is, what is finished stays, and worker pools are shut down."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main thread
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
