"""The paper's analysis as library code: one module per notebook, so notebooks stay thin.

=========================  ==========================================  ====================
Notebook                   Module                                      Paper
=========================  ==========================================  ====================
01_data_curation           :mod:`~slic_lib.experiments.curation`       section 3.1
02_training_sweep          :mod:`~slic_lib.experiments.training`       section 4.1, Figs 1-2
03_validation_metrics      :mod:`~slic_lib.experiments.validation`     Table 1, Figs 3, 7
04_resolution_degradation  :mod:`~slic_lib.experiments.resolution`     section 4.2.1, Fig 5
05_adversarial_aia         :mod:`~slic_lib.experiments.adversarial`    Figs 4, 6, 8, 9
06_transfer_learning       :mod:`~slic_lib.experiments.transfer`       section 5
                           (its simulated-AIA fine-tuning:
                           :mod:`~slic_lib.experiments.aia_transfer`)
07_hypotheses              :mod:`~slic_lib.experiments.hypotheses`     section 4.2's explanations
=========================  ==========================================  ====================

Each module's compute functions write their numbers (and the few images a figure shows) to
result files under ``data/<profile>/results/`` (:mod:`slic_lib.results`) and merge the
headline numbers into ``summary.json``; its ``figures(run)`` draws every figure and table of
the notebook from those files alone, so a figure can be redrawn without recomputing.
A :class:`Run` (:func:`start`) ties a profile and data source to folders; every step skips
work whose output is already complete, and every result records whether it came from
simulated data.
"""

from . import adversarial, aia_transfer, curation, hypotheses, resolution, training, transfer, validation
from .run import Run, start

__all__ = ["Run", "start", "curation", "training", "validation", "resolution", "adversarial", "transfer", "aia_transfer", "hypotheses"]
