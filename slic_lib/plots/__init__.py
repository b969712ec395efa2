"""The paper's figures, one module per topic; each function draws from stored results only.

Every ``plot_*`` function takes plain data that a result file holds (numpy arrays, pandas
DataFrames, dicts of numbers and strings; never a model or a dataset), returns a
:class:`matplotlib.figure.Figure` made with ``matplotlib.pyplot`` (so notebooks show it
inline; close it with ``plt.close(fig)`` in loops) and takes ``synthetic``: when true the
suptitle ends in "(simulated data)", as every figure made from the simulator must say. The
backend is the caller's choice. :func:`save_figure` writes PNG (150 dpi) and PDF; tables
are written by :mod:`slic_lib.tables`.

==========================  =================================================================
Paper                       Function
==========================  =================================================================
Figures 1 and 2             :func:`architecture.plot_architecture` (from
                            :func:`architecture.architecture_table`)
Section 4.1 (sweep)         :func:`training.plot_lr_sweep`
Table 1                     :func:`validation.plot_confusion`
Figure 3                    :func:`validation.plot_examples`
Figure 7 (Appendix A)       :func:`validation.plot_misclassified` (:func:`validation.plot_closest_calls` when none is)
Section 4.1 (timing)        :func:`validation.plot_inference_times`
Figure 5                    :func:`resolution.plot_resolution_triplet`
Resolution study (beyond)   :func:`resolution.plot_degradation_curve`
Figures 4, 6, 8 and 9       :func:`adversarial.plot_sequence`
Simulator realism (beyond)  :func:`realism.plot_side_by_side` (from
                            :func:`slic_lib.realism.figure_panels`)
Transfer learning (beyond)  :mod:`slic_lib.plots.transfer`
==========================  =================================================================

Every function is also importable from :mod:`slic_lib.plots` itself.
"""

from .adversarial import plot_sequence
from .architecture import architecture_table, plot_architecture
from .realism import plot_side_by_side
from .resolution import plot_degradation_curve, plot_resolution_triplet
from .style import SIMULATED, save_figure
from .training import plot_lr_sweep
from .validation import plot_closest_calls, plot_confusion, plot_examples, plot_inference_times, plot_misclassified, timing_rows

__all__ = [
    "SIMULATED",
    "architecture_table",
    "plot_architecture",
    "plot_confusion",
    "plot_degradation_curve",
    "plot_closest_calls",
    "plot_examples",
    "plot_inference_times",
    "plot_lr_sweep",
    "plot_misclassified",
    "plot_resolution_triplet",
    "plot_sequence",
    "plot_side_by_side",
    "save_figure",
    "timing_rows",
]
