"""Absolute project paths, so scripts and notebooks work from any directory.

The repository root is found from this file; ``SLIC_DATA`` and ``SLIC_FIGURES`` override
where generated data and figures go (e.g. on a cluster's scratch disk).
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SLIC_DATA", ROOT / "data")).resolve()
FIGURES = Path(os.environ.get("SLIC_FIGURES", ROOT / "figures")).resolve()
NOTEBOOKS = ROOT / "notebooks"
MODELS = DATA / "models"


def figures_dir(profile: str) -> Path:
    """Folder for one profile's figures and tables (created on demand)."""
    path = FIGURES / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir(profile: str) -> Path:
    """Folder for one profile's checkpoints (created on demand)."""
    path = MODELS / profile
    path.mkdir(parents=True, exist_ok=True)
    return path
