"""Interactive student demos (ipywidgets, served by Voilà): the logic, testable without a browser.

``notebooks/demo_*.ipynb`` only lay these out::

    from slic_lib.widgets import ClassifyDemo, model_with_progress
    demo = ClassifyDemo(model_with_progress())
    demo.widget

:mod:`.models` picks the network (or trains a small one), :mod:`.images` the images,
:mod:`.saliency` the Captum maps, :mod:`.render` the drawing, :mod:`.demos` the widgets.
"""

from .demos import ClassifyDemo, FoolDemo, KnobDemo, ResolutionDemo, SaliencyDemo, model_with_progress
from .models import DemoModel, find_model, load_demo_model, train_demo_model

__all__ = ["ClassifyDemo", "ResolutionDemo", "FoolDemo", "KnobDemo", "SaliencyDemo", "model_with_progress",
           "DemoModel", "find_model", "load_demo_model", "train_demo_model"]
