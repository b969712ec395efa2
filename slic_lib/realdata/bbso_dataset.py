"""Real BBSO crops (:mod:`slic_lib.realdata.bbso`) as a dataset for a given model.

The crops are preprocessed exactly as the model's training images were (its
:class:`~slic_lib.preprocess.PreprocessConfig`), labelled with two of the five classes
("filaments" and "quiet"), and grouped by observing day, so that train and test sets never
share a day (:meth:`CropSet.split`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..classes import CLASSES
from ..dataset import SolarData
from ..errors import SlicError
from ..model import SlicNet
from ..preprocess import BadFrameError, PreprocessConfig, preprocess_array
from . import bbso

BBSO_SOURCE = "BBSO full-disc H-alpha, 1-9 August 2015 (filament-augmentation-engine)"
"""The ``source`` of every BBSO dataset."""

DEV_DAYS: tuple[str, ...] = ("2015-08-01", "2015-08-05")
"""Development days of the real BBSO crops: look at them as much as you like (choose
thresholds, tune the domain randomisation, draw fine-tuning sets from them)."""

TEST_DAYS: tuple[str, ...] = ("2015-08-07", "2015-08-09")
"""Held-out test days: only ever reported, never used to choose anything.

The protocol, fixed once (issue 12): of the four annotated days, the last two are held out,
so that development looks only at earlier observations (as a catalogue built today is used
on tomorrow's images) and the test set is about half of the crops (48 filaments and 48
quiet-Sun crops at the default crop settings), large enough that one crop is about 1 % of
its accuracy. The default model never trains on real images; fine-tuning (notebook 06 (b))
draws its real training crops from :data:`DEV_DAYS` only.
"""


@dataclass
class CropSet:
    """BBSO crops and the same crops preprocessed as a :class:`~slic_lib.dataset.SolarData`.

    ``data`` row ``i`` is ``crops[i]``; ``data.groups`` is the observing day (its ordinal), so
    a grouped split never puts one day on both sides.
    """

    crops: list[bbso.Crop]
    data: SolarData

    @property
    def days(self) -> list[str]:
        """Observing days present, ``YYYY-MM-DD``, in order."""
        return sorted({c.day for c in self.crops})

    def split(self, test_days: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Development and test indices with no day on both sides (default: the protocol's :data:`TEST_DAYS`).

        Uses :func:`slic_lib.realdata.bbso.split_by_day`; test days absent from the crops are ignored.
        """
        if test_days is None:
            test_days = [d for d in TEST_DAYS if d in self.days]
        _, test = bbso.split_by_day(self.crops, test_days)
        in_test = {id(c) for c in test}
        mask = np.array([id(c) in in_test for c in self.crops], dtype=bool)
        return np.flatnonzero(~mask), np.flatnonzero(mask)

    def counts(self, idx: Sequence[int] | np.ndarray | None = None) -> dict[str, int]:
        """Crops per class (of the indexed crops, default all)."""
        labels = self.data.labels if idx is None else self.data.labels[np.asarray(idx, dtype=np.int64)]
        return {self.data.class_names[k]: int(v) for k, v in sorted(Counter(labels.tolist()).items())}


def crop_set(
    crops: Sequence[bbso.Crop], preprocessing: SlicNet | PreprocessConfig, class_names: Sequence[str] = CLASSES
) -> CropSet:
    """Preprocess BBSO crops with a model's preprocessing (:func:`~slic_lib.preprocess.preprocess_array`).

    Parameters
    ----------
    crops : sequence of :class:`slic_lib.realdata.bbso.Crop`
        The labelled crops.
    preprocessing : SlicNet or PreprocessConfig
        The base model (or its preprocessing): the crops become exactly what it was trained on.
    class_names : sequence of str
        Classes of the dataset (the model's five by default; the crops use two of them).

    Returns
    -------
    CropSet
        Crops that cannot be preprocessed (constant or empty) are left out and listed in
        ``data.skipped``.
    """
    config = preprocessing.preprocessing if isinstance(preprocessing, SlicNet) else preprocessing
    kept, images, skipped = [], [], []
    for crop in crops:
        name = f"{crop.source.name}#{crop.annotation_id if crop.annotation_id is not None else f'x{crop.origin[0]}y{crop.origin[1]}'}"
        try:
            images.append(preprocess_array(np.asarray(crop.data, dtype=np.float64), config))
        except BadFrameError as exc:
            skipped.append({"path": name, "reason": str(exc)})
            continue
        kept.append((crop, name))
    if not kept:
        raise SlicError("none of the BBSO crops could be preprocessed.")
    names = list(class_names)
    unknown = sorted({c.label for c, _ in kept} - set(names))
    if unknown:
        raise SlicError(f"crop label(s) {', '.join(unknown)} are not among the classes {', '.join(names)}.")
    data = SolarData.from_arrays(
        np.stack(images), [names.index(c.label) for c, _ in kept], names, config,
        paths=[n for _, n in kept], times=[c.time.isoformat() for c, _ in kept], groups=[c.time.date().toordinal() for c, _ in kept],
        synthetic=False, source=BBSO_SOURCE, skipped=skipped,
    )
    return CropSet([c for c, _ in kept], data)


def load_bbso(
    preprocessing: SlicNet | PreprocessConfig,
    crop_size: int = 128,
    quiet_per_image: int = 24,
    seed: int = 0,
    progress: bool = False,
) -> CropSet:
    """Cut the real BBSO filament and quiet-Sun crops and preprocess them for a model.

    Parameters
    ----------
    preprocessing : SlicNet or PreprocessConfig
        The base model (or its preprocessing).
    crop_size : int
        Crop side in BBSO pixels (about 1 arcsec each): 128 is near the middle of the
        50-200 arcsec field of view of the (simulated) SOT training images.
    quiet_per_image : int
        Quiet-Sun crops wanted per annotated observation.
    seed : int
        Seed of the quiet-Sun crop positions.
    progress : bool
        Show progress bars.

    Raises
    ------
    SlicError
        When the BBSO data package is not installed (with the command that installs it).
    """
    crops = bbso.crops(size=crop_size, quiet_per_image=quiet_per_image, rng=seed, progress=progress)
    return crop_set(crops, preprocessing)
