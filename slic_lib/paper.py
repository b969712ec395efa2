"""The published facts of Armstrong & Fletcher (2019), Solar Physics 294:80, written once.

Every comparison with the paper (tables, figures, benchmarks, tests, the README's headline
table) reads its numbers from here; section numbers refer to the paper.
"""

from __future__ import annotations

import numpy as np

from .classes import CLASSES

CITATION = "Armstrong & Fletcher (2019), Solar Physics 294:80"

#: Section 3.1: the dataset, 13,175 Hinode/SOT H-alpha images split 90 % / 10 %.
N_IMAGES = 13175
N_TRAIN = 11857
N_VALIDATION = 1318

#: Section 3.1: constant learning rates tried, 100 epochs each, batch 32, Nesterov momentum 0.9.
LEARNING_RATES = (1e-3, 5e-4, 1e-4)
EPOCHS = 100
BATCH_SIZE = 32
MOMENTUM = 0.9

#: Section 4.1: the selected learning rate and number of epochs.
SELECTED_LEARNING_RATE = 5e-4
SELECTED_EPOCH = 5

#: Table 1: the confusion matrix on the 1318 validation images (rows: true class, in
#: :data:`slic_lib.classes.CLASSES` order; columns: the network's classification).
TABLE_1 = np.array(
    [
        [175, 1, 0, 0, 0],
        [0, 270, 0, 0, 0],
        [0, 0, 304, 0, 0],
        [0, 0, 0, 242, 0],
        [0, 0, 0, 0, 326],
    ]
)
TABLE_1.setflags(write=False)
TABLE_1_CLASSES = CLASSES

#: Section 4.1: validation accuracy, 1 of 1318 images misclassified.
VALIDATION_ACCURACY = 0.9992
N_MISCLASSIFIED = 1

#: Section 4.1: seconds to classify the 1318 validation images.
GPU_SECONDS = 4.66
GPU_NAME = "NVIDIA Titan Xp"
CPU_SECONDS = 895.0
CPU_NAME = "Intel Core i7-8700"

#: Section 3.1: hours of training per learning rate on the GPU.
HOURS_PER_LEARNING_RATE = 3.0

TIMINGS = (
    {"device": f"{GPU_NAME} (paper)", "seconds": GPU_SECONDS, "n_images": N_VALIDATION},
    {"device": f"{CPU_NAME} (paper)", "seconds": CPU_SECONDS, "n_images": N_VALIDATION},
)
"""The paper's two inference timings, as rows a timing table or figure adds once."""
