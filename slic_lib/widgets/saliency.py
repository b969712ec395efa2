"""Where the network looks: Captum's Grad-CAM on the last convolution block, and occlusion.

Both explain one class's logit for one preprocessed image and return a map of the input's
size, so the demos can overlay it on the image:

``"Grad-CAM"``
    :class:`captum.attr.LayerGradCam` on ``layer8``, the network's last convolution block
    (in the ``slic`` variant the block is applied three times; Captum's hook keeps its last
    application, the one the classifier sees, at 1/16 of the input's side), with positive
    evidence only (``relu_attributions=True``), upsampled bilinearly to the input's size by
    :meth:`captum.attr.LayerAttribution.interpolate`. Coarse but cheap: one backward pass.
``"occlusion"``
    :class:`captum.attr.Occlusion`: the drop in the logit when a square patch (a quarter of
    the side, moved by an eighth) is replaced by 0, the mean of a standardised image.
    Finer, and model-agnostic, but it costs one forward pass per patch position (49).
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam, Occlusion
from torch import nn

from ..errors import SlicError
from ..inference import eval_mode

METHODS = ("Grad-CAM", "occlusion")


def last_conv_block(model: nn.Module) -> nn.Module:
    """The network's last convolution block (``layer8`` of the ``slic`` variant, ``layer10`` of ``vgg13``)."""
    return getattr(model, f"layer{len(model.config.channels)}")


def _input(image: np.ndarray) -> torch.Tensor:
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 2:
        raise SlicError(f"saliency needs one preprocessed 2-D image, got shape {arr.shape}.")
    return torch.from_numpy(np.ascontiguousarray(arr))[None, None]


def gradcam(model: nn.Module, image: np.ndarray, target: int) -> np.ndarray:
    """Grad-CAM of class ``target`` for one preprocessed image ``(S, S)``; ``(S, S)`` float array, >= 0."""
    x = _input(image)
    with eval_mode(model):
        attr = LayerGradCam(model, last_conv_block(model)).attribute(x, target=int(target), relu_attributions=True)
    up = LayerAttribution.interpolate(attr, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return up[0, 0].detach().numpy().astype(np.float64)


def gradcam_grid(model: nn.Module) -> int:
    """The side of the grid Grad-CAM resolves: the last convolution block's output for the model's
    input (its last application, as Captum's hook keeps it). 2 for a 32-pixel input: Grad-CAM can
    then only say which quarter of the image the network looks at."""
    side = model.config.input_size
    seen: list[int] = []
    hook = last_conv_block(model).register_forward_hook(lambda module, args, out: seen.append(int(out.shape[-1])))
    try:
        with torch.no_grad(), eval_mode(model):
            model(torch.zeros(1, 1, side, side))
    finally:
        hook.remove()
    return seen[-1]


def occlusion(model: nn.Module, image: np.ndarray, target: int, window: int | None = None, stride: int | None = None) -> np.ndarray:
    """Occlusion sensitivity of class ``target``: ``(S, S)`` array, positive where hiding a patch lowers the logit.

    Parameters
    ----------
    window, stride : int, optional
        Side and step of the square patch in input pixels; default a quarter and an eighth of the side.
    """
    x = _input(image)
    side = x.shape[-1]
    window = window or max(2, side // 4)
    stride = stride or max(1, side // 8)
    with eval_mode(model):
        attr = Occlusion(model).attribute(x, target=int(target), sliding_window_shapes=(1, window, window),
                                          strides=(1, stride, stride), baselines=0.0, perturbations_per_eval=64)
    return attr[0, 0].detach().numpy().astype(np.float64)


def saliency(model: nn.Module, image: np.ndarray, target: int, method: str = "Grad-CAM") -> np.ndarray:
    """The saliency map of ``method`` (one of :data:`METHODS`), scaled to 0..1 (all zero when flat).

    Raises
    ------
    SlicError
        For an unknown method.
    """
    if method not in METHODS:
        raise SlicError(f"unknown saliency method {method!r}; choose one of {', '.join(METHODS)}.")
    sal = gradcam(model, image, target) if method == "Grad-CAM" else occlusion(model, image, target)
    sal = np.clip(sal, 0.0, None)
    top = sal.max()
    return sal / top if top > 0 else sal
