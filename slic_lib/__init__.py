"""slic_lib: fast solar image classification with deep learning.

A reproduction and extension of Armstrong & Fletcher (2019), Solar Physics 294:80.

Modules, one concept each:

``classes``      the five H-alpha feature classes
``model``        the network (``slic`` and ``vgg13`` variants) and safe checkpoints
``preprocess``   the one preprocessing function for training, evaluation and classification
``dataset``      class folders of FITS files -> one HDF5 dataset file; splits
``train``        training, learning-rate sweeps, resumption, DistributedDataParallel
``metrics``      confusion matrix, precision, recall (scikit-learn), inference timing
``evaluate``     a checkpoint on a dataset file
``classify``     FITS files -> CSV catalogue
``degrade``      PSF convolution and resampling to another instrument's resolution
``plotting``     the paper's figures and tables
``synthetic``    simulator of Hinode/SOT H-alpha and SDO/AIA images, written as FITS
``realdata``     real images that packages ship (BBSO H-alpha filaments, AIA, DKIST)
``realism``      simulator against real images: histograms, power spectra, contrast
``transfer``     fine-tuning to new data and wavelengths (beyond the paper)
``fetch``        the published Slic release, resumable and checksummed
``fido``         the paper's AIA/SOT observations through sunpy Fido
``profiles``     smoke / cpu / paper run profiles
``experiments``  the paper's analysis, one function per notebook
``pipeline``     ``slic paper``: the notebooks through papermill
``summary``      figures/<profile>/summary.json
"""

from .classes import CLASSES, N_CLASSES
from .errors import SlicError

__all__ = ["CLASSES", "N_CLASSES", "SlicError"]
__version__ = "0.1.0"
