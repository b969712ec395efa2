"""Former home of the figures, kept only until its last importer (notebook 06) is switched.

Figures live in :mod:`slic_lib.plots` (one module per paper topic) and tables in
:mod:`slic_lib.tables`; this module re-exports the names whose behaviour did not change and
will be deleted. Do not add anything here.
"""

from .plots import (
    plot_confusion,
    plot_degradation_curve,
    plot_examples,
    plot_misclassified,
    plot_resolution_triplet,
    plot_sequence,
    save_figure,
)

__all__ = [
    "plot_confusion",
    "plot_degradation_curve",
    "plot_examples",
    "plot_misclassified",
    "plot_resolution_triplet",
    "plot_sequence",
    "save_figure",
]
