"""slic_lib: fast solar image classification with deep learning.

A reproduction and extension of Armstrong & Fletcher (2019), Solar Physics 294:80.

Modules, one concept each:

``classes``     the five H-alpha feature classes
``model``       the network (``slic`` and ``vgg13`` variants) and checkpoints
``preprocess``  the one preprocessing function for training, evaluation and classification
``dataset``     class folders of FITS files -> one HDF5 dataset file; splits
``train``       training, learning-rate sweeps, resumption, DistributedDataParallel
``metrics``     confusion matrix, precision, recall, timing (scikit-learn)
``evaluate``    a checkpoint on a dataset file
``classify``    FITS files -> CSV catalogue
``synthetic``   simulator of Hinode/SOT H-alpha and SDO/AIA images, written as FITS
``profiles``    smoke / cpu / paper run profiles
"""

from .classes import CLASSES, N_CLASSES
from .errors import SlicError

__all__ = ["CLASSES", "N_CLASSES", "SlicError"]
__version__ = "0.1.0"
