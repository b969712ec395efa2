"""Simulated Hinode/SOT H-alpha and SDO/AIA images, written as real-looking FITS files.

The paper's data (its hand-labelled Hinode/SOT H-alpha images, :data:`slic_lib.paper.N_IMAGES`,
and the SDO/AIA observations of :mod:`slic_lib.observations`) is not downloadable here, so this
sub-package makes labelled stand-ins that follow the same path as a user's own data: FITS files
with real instrument headers that ``sunpy.map.Map`` reads as an ``SOTMap`` or ``AIAMap``. Every
file is marked ``SYNTHET = T``; every figure made from them must say "simulated".

Main entry points: :func:`render_sot`, :func:`render_aia`, :func:`write_fits`, :func:`to_map`,
:func:`generate` (a class-folder dataset), :func:`generate_sequence` (one of the paper's AIA/SOT
time series, with the settings :data:`slic_lib.observations.OBSERVATIONS` gives it),
:func:`plot_gallery`.
"""

from .aia import AIA_KINDS, render_aia
from .core import SimImage
from .gallery import plot_gallery
from .headers import to_map, write_fits
from .sequences import frame_times, generate, generate_sequence
from .sot import render_sot

__all__ = [
    "render_sot",
    "render_aia",
    "AIA_KINDS",
    "SimImage",
    "to_map",
    "write_fits",
    "generate",
    "generate_sequence",
    "frame_times",
    "plot_gallery",
]
