"""slic_lib: fast solar image classification with deep learning.

A reproduction and extension of Armstrong & Fletcher (2019), Solar Physics 294:80.

Modules, one concept each:

``classes``       the five H-alpha feature classes
``paper``         the paper's published facts (Table 1, 99.92 %, 4.66 s, 895 s, ...), written once
``observations``  the paper's test observations (AIA, SOT), read by Fido and the simulator
``model``         the network (``slic`` and ``vgg13`` variants) and safe checkpoints
``preprocess``    the one preprocessing function for training, evaluation and classification
``dataset``       class folders of FITS files -> one HDF5 dataset file; ``SolarData``
``splits``        train/validation splits (grouped, the Slic release code's every-10th, the release's fixed one)
``inference``     THE batched prediction loop, devices, threads and timing
``train``         the one training engine (``fit``), resumable, DDP
``sweep``         learning-rate sweeps and the selection rule; ``slic train``
``finetune``      Zoobot-style fine-tuning to new data and wavelengths (beyond the paper)
``metrics``       confusion matrix, precision, recall (scikit-learn)
``evaluate``      a checkpoint on a dataset file
``classify``      FITS files -> CSV catalogue
``degrade``       PSF convolution and resampling to another instrument's resolution
``plots``         the paper's figures, one module per topic, drawn from stored results
``tables``        CSV and Markdown tables
``results``       result files under data/<profile>/results/ that figures are drawn from
``synthetic``     simulator of Hinode/SOT H-alpha and SDO/AIA images, written as FITS
``realdata``      real images that packages ship (BBSO H-alpha filaments, AIA, DKIST)
``realism``       simulator against real images: histograms, power spectra, contrast
``fetch``         the published Slic release, resumable and checksummed
``fido``          the paper's AIA/SOT observations through sunpy Fido
``profiles``      smoke / cpu / paper run profiles
``experiments``   the paper's analysis, one module per notebook
``pipeline``      ``slic paper``: the notebooks through papermill
``summary``       figures/<profile>/summary.json; ``headline``: its table beside the paper's
``paths``         project folders, read from the environment at call time
"""

from .classes import CLASSES, N_CLASSES
from .errors import SlicError

__all__ = ["CLASSES", "N_CLASSES", "SlicError"]
__version__ = "0.1.0"
