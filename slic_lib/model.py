"""The network of Armstrong & Fletcher (2019) and its checkpoints.

Two variants share one configuration dataclass:

``slic``
    Exactly the topology of the published checkpoint ``sol_class_4.pth`` (release 1.1.1):
    blocks ``layer1`` .. ``layer8``, each ``Sequential(Conv2d, BatchNorm2d, ReLU)``, with 2x2
    max-pooling after layers 2, 4, 6 and 8; the last block ``layer8`` is then applied twice
    more with the same weights and followed by a fifth pool. The classifier's Linear layers sit
    at indices 0, 3 and 6, so the published state_dict loads with ``strict=True``.
``vgg13``
    The paper's text: ten distinct convolution layers (64,64 | 128,128 | 256,256 | 512,512 |
    512,512) and the same classifier -- VGG-13 for one input channel.

Both take square single-channel images whose side is a multiple of 32 and a channel-width
multiplier, so a small model trains in minutes on a CPU; the classifier's input size follows.

Checkpoints are plain dictionaries of tensors and built-in types, read with
``torch.load(weights_only=True)`` so that loading never runs code hidden in a pickle.
"""

from __future__ import annotations

import math
import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .classes import CLASSES
from .errors import SlicError
from .paths import atomic_write
from .preprocess import PreprocessConfig

CHECKPOINT_FORMAT = "slic_lib.checkpoint"
CHECKPOINT_VERSION = 1

#: Feature-map counts of the published network, before the width multiplier.
SLIC_CHANNELS = (64, 64, 128, 128, 256, 256, 512, 512)
VGG13_CHANNELS = (64, 64, 128, 128, 256, 256, 512, 512, 512, 512)
ARCHITECTURES = ("slic", "vgg13")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network.

    Parameters
    ----------
    arch : {"slic", "vgg13"}
        Network variant (see module docstring).
    input_size : int
        Side of the square input image in pixels; a multiple of 32 (five 2x2 pools).
    width : float
        Multiplier on every convolution's feature-map count (1.0 is the paper's network).
    hidden : int
        Units of the two hidden fully-connected layers (the paper: 4096).
    n_classes : int
        Number of output classes.
    in_channels : int
        Image channels (1 for a single-wavelength image).
    dropout : float
        Dropout probability in the classifier (the paper: 0.5).
    """

    arch: str = "slic"
    input_size: int = 256
    width: float = 1.0
    hidden: int = 4096
    n_classes: int = len(CLASSES)
    in_channels: int = 1
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}; expected one of {ARCHITECTURES}")
        if self.input_size < 32 or self.input_size % 32:
            raise SlicError(f"the input size must be a positive multiple of 32 (five 2x2 pools), got {self.input_size}.")
        if not (0 < self.width < math.inf) or self.hidden < 1 or self.n_classes < 2:
            raise SlicError(f"width must be > 0, hidden >= 1 and classes >= 2, got {self.width}, {self.hidden} and {self.n_classes}.")

    @property
    def channels(self) -> tuple[int, ...]:
        base = SLIC_CHANNELS if self.arch == "slic" else VGG13_CHANNELS
        return tuple(max(1, round(c * self.width)) for c in base)

    @property
    def feature_size(self) -> int:
        """Flattened size of the last pooled feature maps, the classifier's input."""
        return self.channels[-1] * (self.input_size // 32) ** 2


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SlicNet(nn.Module):
    """VGG-like solar image classifier (see the module docstring for the two variants).

    ``forward`` returns logits of shape ``(batch, n_classes)``; apply ``softmax`` for the
    probabilities the paper plots. ``class_names`` and ``preprocessing`` travel with a loaded
    model so that classification uses the preprocessing the model was trained with.
    """

    def __init__(self, config: ModelConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = config if config is not None else ModelConfig(**kwargs)
        self.class_names: tuple[str, ...] = CLASSES[: self.config.n_classes] if self.config.n_classes <= len(CLASSES) else tuple(
            f"class_{i}" for i in range(self.config.n_classes)
        )
        self.preprocessing = PreprocessConfig(size=self.config.input_size)
        cfg = self.config
        chans = (cfg.in_channels, *cfg.channels)
        for i in range(len(cfg.channels)):
            setattr(self, f"layer{i + 1}", _block(chans[i], chans[i + 1]))
        self.max_pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.classifier = nn.Sequential(
            nn.Linear(cfg.feature_size, cfg.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.n_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """He (Kaiming normal) initialisation, as section 3 of the paper says.

        Skipped for a network built on the ``meta`` device (its weights are loaded next, see
        :func:`model_from_checkpoint`): a first ``normal_`` on a meta tensor costs a second.
        """
        if any(p.is_meta for p in self.parameters()):
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def stages(self) -> list[tuple[str, nn.Module]]:
        """The feature extractor in order of application, as ``(name, module)`` pairs.

        The ``slic`` variant lists ``layer8`` three times, as the published network applies it.
        Used by ``forward`` and by the architecture figure, so the figure is drawn from the
        model object itself.
        """
        n = len(self.config.channels)
        order: list[str] = []
        for i in range(1, n + 1):
            order.append(f"layer{i}")
            if i % 2 == 0:
                order.append("max_pool")
        if self.config.arch == "slic":
            order += ["layer8", "layer8", "max_pool"]
        return [(name, getattr(self, name)) for name in order]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature maps after the last pool, shape ``(batch, C, input/32, input/32)``."""
        for _, module in self.stages():
            x = module(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def build_model(config: ModelConfig | None = None, **kwargs: Any) -> SlicNet:
    """Build a freshly initialised network from a config or keyword arguments."""
    return SlicNet(config, **kwargs)


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """The project's checkpoint: everything to rebuild, use and resume a model.

    Stored on disk as a plain dict of tensors and built-in types (see :func:`save_checkpoint`).
    """

    state_dict: dict[str, torch.Tensor]
    model_config: ModelConfig
    preprocessing: PreprocessConfig
    class_names: tuple[str, ...] = CLASSES
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0
    optimizer: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None
    published: bool = False
    training_state: dict[str, torch.Tensor] | None = None
    """The weights training continues from when ``state_dict`` holds their running average
    (:class:`slic_lib.train.TrainConfig`'s ``ema``); None when they are the same."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "state_dict": self.state_dict,
            "model_config": asdict(self.model_config),
            "preprocessing": asdict(self.preprocessing),
            "class_names": list(self.class_names),
            "train_config": self.train_config,
            "metrics": self.metrics,
            "epoch": self.epoch,
            "optimizer": self.optimizer,
            "rng": self.rng,
            "training_state": self.training_state,
        }


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    """Write a checkpoint atomically and durably (:func:`slic_lib.paths.atomic_write`).

    A crash mid-write leaves the previous file at ``path`` intact.
    """
    return atomic_write(path, lambda fh: torch.save(checkpoint.to_dict(), fh), mode="wb", durable=True)


def _is_published_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and "layer1.0.weight" in obj and "classifier.6.weight" in obj and "format" not in obj


def _config_from_state_dict(state: dict[str, torch.Tensor]) -> ModelConfig:
    """Infer the architecture of a bare state_dict (the published layout or our own)."""
    n_layers = sum(1 for k in state if k.endswith(".0.weight") and k.startswith("layer"))
    arch = "vgg13" if n_layers == 10 else "slic"
    first = state["layer1.0.weight"]
    width = first.shape[0] / 64
    hidden, feature_size = state["classifier.0.weight"].shape
    last_channels = state[f"layer{n_layers}.0.weight"].shape[0]
    side = round((feature_size / last_channels) ** 0.5) * 32
    return ModelConfig(
        arch=arch,
        input_size=side,
        width=width,
        hidden=hidden,
        n_classes=state["classifier.6.weight"].shape[0],
        in_channels=first.shape[1],
    )


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu", mmap: bool = False) -> Checkpoint:
    """Read a checkpoint file without building the model.

    Accepts the project's checkpoints and bare state_dicts in the published Slic layout
    (``sol_class_4.pth``), which get the released data's preprocessing (``mode="slic-npz"``).
    With ``mmap=True`` the tensors are mapped from the file rather than read (``torch.load(mmap=
    True)``; files in the legacy format are read): pages are read as they are used. For a model
    that is only applied, with :func:`model_from_checkpoint` ``(copy=False)``: the published
    network's 540 MB are then neither read up front nor copied (0.7 s of every ``slic classify``).

    Raises
    ------
    SlicError
        If the file is missing, is not a checkpoint, or carries a pickle payload (arbitrary
        objects are never unpickled: ``torch.load(weights_only=True)``).
    """
    path = Path(path)
    if path.is_dir():
        hint = f" (did you mean {path / 'best.pt'}?)" if (path / "best.pt").is_file() else ""
        raise SlicError(f"checkpoint {path} is a folder, not a checkpoint file{hint}.")
    if not path.is_file():
        raise SlicError(f"checkpoint {path} does not exist; 'make paper' (slic paper) makes data/models/<profile>/best.pt, "
                        "'slic train' trains one, and 'slic fetch slic-release' fetches the published sol_class_4.pth.")
    try:
        try:
            obj = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
        except RuntimeError as exc:  # mmap needs the zip format; the legacy one is read instead
            if not mmap or "mmap" not in str(exc):
                raise
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():  # garbage rather than a refused Python object
            raise SlicError(f"cannot read checkpoint {path}: it is not a PyTorch checkpoint or is damaged.") from exc
        raise SlicError(
            f"refusing to load {path}: it holds pickled Python objects other than weights, "
            "which could run arbitrary code (only plain state_dicts and slic_lib checkpoints are loaded)."
        ) from exc
    except Exception as exc:  # truncated, not a torch file, ...
        raise SlicError(f"cannot read checkpoint {path}: it is not a PyTorch checkpoint or is damaged ({type(exc).__name__}).") from exc

    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        if obj.get("version", 0) > CHECKPOINT_VERSION:
            raise SlicError(f"checkpoint {path} was written by a newer slic_lib (format version {obj['version']}); upgrade slic_lib.")
        try:
            model_config, preprocessing = ModelConfig(**obj["model_config"]), PreprocessConfig(**obj["preprocessing"])
        except (TypeError, KeyError, ValueError) as exc:  # fields of another version, or a damaged dict
            raise SlicError(f"checkpoint {path} holds settings this slic_lib cannot read ({exc}).") from exc
        return Checkpoint(
            state_dict=obj["state_dict"],
            model_config=model_config,
            preprocessing=preprocessing,
            class_names=tuple(obj["class_names"]),
            train_config=obj.get("train_config") or {},
            metrics=obj.get("metrics") or {},
            epoch=int(obj.get("epoch", 0)),
            optimizer=obj.get("optimizer"),
            rng=obj.get("rng"),
            training_state=obj.get("training_state"),
        )
    if _is_published_state_dict(obj):
        config = _config_from_state_dict(obj)
        return Checkpoint(
            state_dict=obj,
            model_config=config,
            preprocessing=PreprocessConfig(size=config.input_size, mode="slic-npz"),
            published=True,
        )
    raise SlicError(f"{path} is a PyTorch file but neither a slic_lib checkpoint nor a Slic state_dict.")


def model_from_checkpoint(checkpoint: Checkpoint, copy: bool = True) -> SlicNet:
    """Build the network of a checkpoint and load its weights strictly (eval mode).

    The network is built on the ``meta`` device, so no weights are initialised only to be
    overwritten (that cost 1.3 s of every ``slic classify`` of the published network, of 16 s
    for 96 files). With ``copy=True`` the model owns its tensors (copies, on the device of the
    checkpoint's), as after a plain ``load_state_dict``; with ``copy=False`` it uses the
    checkpoint's own tensors (``load_state_dict(assign=True)``): for a model that is only
    applied, not trained, as ``slic classify`` does.
    """
    first = next((t for t in checkpoint.state_dict.values() if isinstance(t, torch.Tensor)), None)
    with torch.device("meta"):
        model = SlicNet(checkpoint.model_config)
    if copy:
        model.to_empty(device=first.device if first is not None else "cpu")
    try:
        model.load_state_dict(checkpoint.state_dict, strict=True, assign=not copy)
    except RuntimeError as exc:
        raise SlicError(f"the checkpoint's weights do not fit its declared architecture ({str(exc).splitlines()[0]}).") from exc
    model.class_names = tuple(checkpoint.class_names)
    model.preprocessing = checkpoint.preprocessing
    return model.eval()


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> SlicNet:
    """Return a ready model (eval mode) from a checkpoint file.

    Parameters
    ----------
    path
        A ``slic_lib`` checkpoint (``slic train``) or a bare state_dict in the published Slic
        layout (e.g. ``sol_class_4.pth`` from ``slic fetch slic-release``).
    map_location
        Device to load the tensors to.

    Examples
    --------
    >>> model = load_checkpoint("data/models/cpu/best.pt")  # doctest: +SKIP
    >>> model.class_names  # doctest: +SKIP
    ('filaments', 'flares', 'prominences', 'quiet', 'sunspots')
    """
    return model_from_checkpoint(read_checkpoint(path, map_location))
