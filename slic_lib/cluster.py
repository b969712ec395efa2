"""``slic classify --dask``: classification spread over the workers of a Dask cluster.

The driver (:func:`slic_lib.classify.classify_files`) lists the files, keeps the catalogue and
commits each batch's rows as they come back (:func:`classify_on`); a worker decodes and
classifies its batches (:func:`classify_batch`) with one model per worker process, loaded once
and shared by its threads. The workers need ``slic_lib`` and the checkpoint's path; the rows
are the same as those of one machine (``tests/test_classify.py``).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from . import readahead
from .errors import SlicError

_MODELS: dict[tuple[str, str], Any] = {}  # (checkpoint sha256, precision) -> (model, calibration)
_MODELS_LOCK = threading.Lock()


def _worker_model(model_path: str, sha: str, precision: str):
    """The model on a Dask worker, loaded once per worker process and shared by its threads.

    It is left in eval mode for good: :func:`slic_lib.inference.eval_mode` restores the mode a
    model had, so with a model in train mode one thread finishing a batch would switch
    BatchNorm and dropout back on under another thread's batch (seen in CI: another label and
    an out-of-distribution score of 2824 instead of 42 for the same file).
    """
    with _MODELS_LOCK:
        if (sha, precision) not in _MODELS:
            from .classify import ready_model  # here, not at the top: slic_lib.classify imports this module
            from .inference import to_channels_last
            from .model import read_checkpoint
            from .ood import from_checkpoint

            ckpt = read_checkpoint(model_path, mmap=True)
            # channels-last now, not by the first batch of each thread
            _MODELS[sha, precision] = (to_channels_last(ready_model(ckpt, precision)), from_checkpoint(ckpt))
        return _MODELS[sha, precision]


def classify_batch(paths: list[str], model_path: str, sha: str, batch_size: int, device: str, precision: str,
                   use_sunpy: bool = True) -> list[dict]:
    """Decode and classify one batch of files (a Dask task); returns its rows."""
    import torch

    from .classify import decode, finish

    torch.set_num_threads(1)
    model, calibration = _worker_model(model_path, sha, precision)
    decoded = [decode(p, model.preprocessing, use_sunpy) for p in paths]
    rows, _ = finish(model, [r for r, _ in decoded], [im for _, im in decoded], calibration, batch_size, device, precision)
    return rows


DASK_WORKER_WAIT = 60.0
"""Seconds ``slic classify --dask ADDRESS`` waits for the scheduler's first worker before it gives up."""


def connect(address: str):
    """A client of the cluster ``--dask`` names, with at least one worker, and the LocalCluster it
    started for ``"local"`` (else None), both for the caller to close; any failure is one sentence."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise SlicError(f"--dask needs dask.distributed ({exc}); install it with pip install 'dask[distributed]'.") from None
    if address == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        return Client(cluster), cluster
    try:
        client = Client(address, timeout="20s")
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError; TypeError for tls:// without a certificate
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SlicError(f"cannot connect to the Dask scheduler at {address} ({reason}).") from None
    try:
        client.wait_for_workers(1, timeout=DASK_WORKER_WAIT)
    except TimeoutError:
        client.close()
        raise SlicError(f"the Dask scheduler at {address} has no worker (waited {DASK_WORKER_WAIT:.0f} s); "
                        f"start one with: dask worker {address}") from None
    return client, None


def classify_on(client, files, model_path, sha, batch_size, device, precision, use_sunpy, commit) -> None:
    """Classify ``files`` in batches on the workers of ``client`` (a ``dask.distributed.Client``), a few batches
    ahead; ``commit`` takes each batch's rows as it comes back, in the order they finish."""
    from concurrent.futures import CancelledError

    from dask.distributed import KilledWorker, as_completed

    batches = readahead.batches(files, batch_size)
    n_ahead = 2 * max(1, len(client.scheduler_info().get("workers", {})) or 1)
    it = iter(batches)
    submit = lambda b: client.submit(classify_batch, b, str(model_path.resolve()), sha, batch_size, device,  # noqa: E731
                                     precision, use_sunpy, pure=False)
    # islice, not zip(it, range(n)): zip draws one batch more from `it` before it sees the range end, and lost it
    futures = as_completed([submit(b) for b in itertools.islice(it, n_ahead)])
    done = 0
    for fut in futures:
        try:
            rows = fut.result()
        except (CancelledError, KilledWorker, OSError) as exc:  # the scheduler or a worker gone (OSError: CommClosedError)
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise SlicError(f"the Dask cluster stopped after {done} of {len(files)} files ({type(exc).__name__}: {reason}); "
                            "the rows written are kept: run the same command again to classify the rest.") from None
        commit(rows)
        done += len(rows)
        nxt = next(it, None)
        if nxt is not None:
            futures.add(submit(nxt))
