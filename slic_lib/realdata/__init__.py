"""Real solar images that Python packages ship, for realism checks and transfer learning.

``bbso``     BBSO full-disc H-alpha with expert filament outlines (``filament-augmentation-engine``)
``samples``  small real AIA / DKIST test images shipped by sunpy and sunkit-image
"""
