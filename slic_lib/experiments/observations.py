"""The paper's test observations as Maps: simulated, or downloaded with sunpy Fido.

Notebooks 04 and 05 take their AIA (and co-temporal SOT) frames from here; which source
is the run's ``aia_source``. Simulated frames are kept and reused while their settings match.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import sunpy.map

from .. import fido
from ..errors import SlicError
from ..synthetic import generate_sequence
from .run import Run, complete, mark_complete


def observation_files(run: Run, key: str, n_frames: int, size: int | None = None, progress: bool = True) -> list[Path]:
    """Files of one of the paper's observations: simulated, or from Fido's cache (downloading once)."""
    if run.aia_source == "fido":
        files = fido.local_files(key)
        if fido.manual_step(key) is None and not fido.is_complete(key):  # none yet, or an interrupted or partial download
            try:
                files = fido.fetch(key, progress=progress)  # keeps the frames already there, fetches the others
            except SlicError as exc:
                if not files:
                    raise
                warnings.warn(f"{key}: using the {len(files)} frames in {fido.cache_dir(key)}, which a finished download has not "
                              f"confirmed as all of them ({exc})", UserWarning, stacklevel=2)
        return sorted(files)
    out = run.data_dir / "aia" / key
    size = size or run.profile.image_size
    params = {"seed": run.profile.seed, "size": size, "n_frames": n_frames}
    marker = out / ".complete.json"
    if not complete(marker, params):
        if out.exists():
            shutil.rmtree(out)
        generate_sequence(key, out, seed=run.profile.seed, size=size, n_frames=n_frames, progress=progress)
        mark_complete(marker, params)
    return sorted(out.glob("*.fits"))


def observation_maps(run: Run, key: str, n_frames: int, size: int | None = None, progress: bool = True) -> list:
    """Maps of one observation, in time order (Fido frames prepared and cut out around the target)."""
    files = observation_files(run, key, n_frames, size, progress)
    if run.aia_source == "fido":
        return fido.load(key, files=files)
    return [sunpy.map.Map(f) for f in files]
