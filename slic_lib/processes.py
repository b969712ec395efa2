"""Worker processes that end with the process that started them.

The project's pools start their workers with :func:`worker_started` (:func:`worker_pool`
makes such a pool): ``slic classify``'s decoding (:mod:`slic_lib.readahead`), ``slic build``'s
reading (:mod:`slic_lib.dataset`), ``slic synth``'s observing runs
(:mod:`slic_lib.synthetic.sequences`), notebook 06's fine-tuning fits (:mod:`slic_lib.finetune`)
and ``slic train``'s rates side by side (:mod:`slic_lib.sweep`), whose progress Manager ends
with its parent too; ranks under ``torchrun`` end with their launcher (:mod:`slic_lib.train`).
Notebook 04's degradations (:mod:`slic_lib.degrade`) are tasks of a fraction of a second
without bars, which joblib's workers finish and then leave when idle.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor


def end_with_parent(parent: int, every: float = 0.5) -> None:
    """In a worker process: exit as soon as process ``parent`` is gone.

    A pool's workers outlive a parent that is killed (``kill``, ``kill -9``, an out-of-memory
    kill), holding a few hundred MB each and the parent's output pipes, on which a wrapper that
    reads them then waits forever. Ctrl-C reaches the whole process group and is not the case.
    A daemon thread watches the parent id (the worker is re-parented when its parent dies), on
    every platform, where Linux's ``PR_SET_PDEATHSIG`` would cover one.
    """
    global _WATCHED
    if _WATCHED == parent:  # a reused worker (joblib's loky keeps them): one watcher is enough
        return
    _WATCHED = parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


_WATCHED: int | None = None


def worker_started(parent: int) -> None:
    """A pool's initializer (or first call in a worker): :func:`end_with_parent`, and a thread lock for tqdm.

    tqdm makes a multiprocessing lock the first time a bar is made, even a disabled one; in a
    worker that is not forked (joblib's loky, ``spawn``) it is a named semaphore, registered with
    Python's resource tracker. A worker stopped with its parent (Ctrl-C, ``kill``) leaves it, and
    the tracker warns at exit of "leaked semaphore objects". A worker's bars are its own.
    """
    from tqdm import tqdm

    end_with_parent(parent)
    tqdm.set_lock(threading.RLock())


@contextlib.contextmanager
def worker_pool(workers: int, **kwargs) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers end with this process, and which stops when the block fails.

    Leaving a plain executor's ``with`` block waits for every task submitted, so a ``kill``
    (SIGTERM, which :mod:`slic_lib.cli` raises as an interrupt) of ``slic synth`` or ``slic
    build`` went on until the last frame was written or read. Here an exception leaving the
    block (Ctrl-C, SIGTERM, an error) cancels the tasks not yet started and waits only for those
    running. ``kwargs`` go to the executor (``mp_context``, ...).
    """
    pool = ProcessPoolExecutor(workers, initializer=worker_started, initargs=(os.getpid(),), **kwargs)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
