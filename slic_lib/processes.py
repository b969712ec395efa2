"""Worker processes that end with the process that started them.

Every pool of the project uses it: ``slic classify``'s decoding (:mod:`slic_lib.readahead`),
``slic build``'s reading (:mod:`slic_lib.dataset`), ``slic train``'s rates side by side and
their progress Manager (:mod:`slic_lib.sweep`).
"""

from __future__ import annotations

import os
import threading
import time


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
