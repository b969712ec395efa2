"""Reading FITS files ahead of the network: a reader thread or worker processes, and the batches they feed.

``slic classify`` decodes files (read, check, resample: :func:`slic_lib.classify.decode`) in a
pool started before the model is loaded, keeps a bounded number of them decoded ahead of the
network (:func:`prefetch`), and hands the network batches that start small (:func:`batches`)
so that it starts after four files rather than a whole batch. On two CPUs the pool is one
thread, which leaves both cores to the network's torch threads; on more, processes.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
from typing import Any, Iterator, Sequence

from .errors import SlicError
from .processes import worker_started


def ahead(batch_size: int, workers: int) -> int:
    """How many files are decoded ahead of the network."""
    return max(2 * batch_size, 4 * max(workers, 1))


def prefetch(pool: cf.Executor, fn, items: Sequence, depth: int, *args, early: dict | None = None) -> Iterator[Any]:
    """Results of ``fn(item, *args)`` in order, with at most ``depth`` submitted ahead (:func:`ahead`); ``early``
    holds futures of items submitted before (by item), which are used instead of submitting again."""
    early = {} if early is None else early
    pending: collections.deque = collections.deque()
    submit = lambda item: early.pop(item, None) or pool.submit(fn, item, *args)  # noqa: E731
    it = iter(items)
    for item in it:
        pending.append(submit(item))
        if len(pending) >= depth:
            break
    while pending:
        yield pending.popleft().result()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(submit(nxt))


def default_workers() -> int:
    """Decoding processes: all CPUs but two, at most 8; on two CPUs none (a reader thread).

    On 2 cores a decoding process takes one of the network's two torch threads' cores: over 96
    full-size files with the published layout in bfloat16, the network ran at 5.3 files/s beside
    one decoding process and 8.9 files/s beside a reader thread, and the whole run took 27.4 s
    against 18.6 s (`benchmarks/bench_classify.py`'s files, a quiet machine).
    """
    return max(0, min(8, (os.cpu_count() or 2) - 2))


def warm(use_sunpy: bool = True) -> int:
    """A worker that runs this has imported what decoding needs (astropy, and sunpy's Map,
    which :mod:`slic_lib.reader` imports on the first file with a WCS: 2-3 s here; not with
    ``--no-sunpy``, where it was 3 s of import for nothing)."""
    import astropy.io.fits  # noqa: F401

    if use_sunpy:
        import sunpy.map  # noqa: F401
    return os.getpid()


def decode_pool(workers: int | None, use_sunpy: bool = True) -> tuple[cf.Executor, int]:
    """The decoding pool (processes, or one thread for ``workers=0``), started at once so that
    the workers' start-up overlaps loading the model; also the number of processes."""
    workers = default_workers() if workers is None else workers
    if workers < 0:
        raise SlicError(f"--workers must be 0 or more, not {workers}.")
    if workers == 0:
        pool = cf.ThreadPoolExecutor(1)
        pool.submit(warm, use_sunpy)
        return pool, 0
    pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=worker_started,
                                  initargs=(os.getpid(),))
    for _ in range(workers):
        pool.submit(warm, use_sunpy)
    return pool, workers


@contextlib.contextmanager
def explain_broken_pool() -> Iterator[None]:
    """A decoding process that died becomes one sentence that says what to do (the rows already committed stay)."""
    try:
        yield
    except cf.process.BrokenProcessPool:
        raise SlicError("a decoding worker process died (out of memory, or a script that calls classify_files "
                        "without `if __name__ == '__main__':`); committed rows are kept: fix that or pass "
                        "--workers 0 / workers=0, and run again to resume.") from None


def batches(items: list, n: int, ramp: bool = False) -> list[list]:
    """``items`` in batches of ``n``; with ``ramp``, the first ones of 4, 8, 16, ... up to ``n``.

    The ramp starts the network after 4 files are decoded rather than ``n``, and each batch
    leaves the reader time to decode the next, larger one (it decodes about three files while the
    network classifies one): 0.5 s of a 96-file run at ``n = 32`` in int8.
    """
    out, i, size = [], 0, min(4, n) if ramp else n
    while i < len(items):
        out.append(items[i : i + size])
        i, size = i + size, min(2 * size, n)
    return out
