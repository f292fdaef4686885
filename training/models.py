"""The networks: CIFAR ResNet-32, ResNet-50, an MLP and a small CNN, built from a plain spec dict.

Every model has ``embed(x) -> (N, d)`` (the penultimate features), ``head`` (an ``nn.Linear``, or
a ``NormedLinear`` cosine head with ``weight`` (C, d) and ``scale``) and ``forward(x) =
head(embed(x))``, so the bounds can read the embedding and the linear head (W, b).

``build_model(spec)`` with ``spec = {"name": ..., "num_classes": ..., ...}`` is what a checkpoint
stores; ``MODELS`` is the registry name -> constructor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ltbounds.checks import InputError


class NormedLinear(nn.Module):
    """Cosine head of LDAM (Cao et al. 2019): logits_j = scale * <z/|z|, w_j/|w_j|>.

    ``weight`` has shape (C, d) like ``nn.Linear`` so W reads the same for both heads; there is
    no bias. ``scale`` is a fixed float buffer-free attribute (1 by default: LDAM's loss applies
    its own scale s).
    """

    def __init__(self, in_features: int, out_features: int, scale: float = 1.0) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        # As Cao et al.'s code: U(-1, 1), then every class vector rescaled to unit norm. The scale matters:
        # the gradient of a normalised weight shrinks as 1 / |w|, so a longer init learns far slower.
        with torch.no_grad():
            self.weight.uniform_(-1.0, 1.0)
            self.weight.div_(torch.linalg.vector_norm(self.weight, dim=1, keepdim=True))
        self.bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale}"


def _make_head(in_features: int, num_classes: int, head: str, scale: float) -> nn.Module:
    if head == "linear":
        return nn.Linear(in_features, num_classes)
    if head == "normed":
        return NormedLinear(in_features, num_classes, scale)
    raise InputError(f"head must be 'linear' or 'normed', got {head!r}")


class _Classifier(nn.Module):
    """Common ``forward = head(embed(x))``."""

    head: nn.Module

    def embed(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def _residual_stages(block: Any, width: int, blocks_per_stage: Sequence[int]) -> tuple[nn.Sequential, int]:
    """The stages of a ResNet (He et al. 2016): stage i holds ``blocks_per_stage[i]`` blocks of ``width * 2**i``
    planes, and the first block of every stage after the first has stride 2 (halving the resolution). ``block``
    is ``_BasicBlock`` or ``_Bottleneck`` (``block(in_planes, planes, stride)``, output ``planes * block.expansion``
    channels). Returns the blocks in order, as one ``nn.Sequential``, and the channels of the last one."""
    blocks = []
    in_planes = width
    for index, count in enumerate(blocks_per_stage):
        planes = width * 2**index
        for position in range(count):
            blocks.append(block(in_planes, planes, 2 if index > 0 and position == 0 else 1))
            in_planes = planes * block.expansion
    return nn.Sequential(*blocks), in_planes


# --- CIFAR ResNet-32 (He et al. 2016, option-A shortcuts as in Cao et al.'s code) ---------------


class _ShortcutA(nn.Module):
    """Parameter-free shortcut: subsample by 2 and zero-pad the new channels."""

    def __init__(self, extra_channels: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.extra_channels // 2
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, self.extra_channels - pad))


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = _ShortcutA(planes - in_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(_Classifier):
    """ResNet-(6n+2) for 32x32 inputs; n = 5 gives ResNet-32 (0.46M parameters, 64-d embedding)."""

    def __init__(
        self,
        num_classes: int,
        blocks_per_stage: int = 5,
        in_channels: int = 3,
        width: int = 16,
        head: str = "linear",
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layers, self.embedding_dim = _residual_stages(_BasicBlock, width, (blocks_per_stage,) * 3)
        self.head = _make_head(self.embedding_dim, num_classes, head, scale)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
        if isinstance(self.head, nn.Linear):
            nn.init.kaiming_normal_(self.head.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        return F.adaptive_avg_pool2d(out, 1).flatten(1)


# --- ResNet-50 (bottleneck, ImageNet stem) for image folders -----------------------------------


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        # Zero-init of the last BN in each block (Goyal et al. 2017): each block starts as identity.
        nn.init.zeros_(self.bn3.weight)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class ResNet50(_Classifier):
    """ResNet-50 (He et al. 2016) with a 2048-d embedding; ``width`` scales every stage."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        width: int = 64,
        layers: Sequence[int] = (3, 4, 6, 3),
        head: str = "linear",
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        self.layers, self.embedding_dim = _residual_stages(_Bottleneck, width, layers)
        self.head = _make_head(self.embedding_dim, num_classes, head, scale)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1)


# --- small models for the embedded data ---------------------------------------------------------


class MLP(_Classifier):
    """Fully connected ReLU network on flattened inputs; the last hidden layer is the embedding.

    ``batch_norm`` (default on) puts BatchNorm before each ReLU, like ResNet's features; LDAM's
    cosine head with scale 30 underfits the tail without it (MNIST-5k, rho = 100: 53 % vs 80 %).
    """

    def __init__(
        self,
        num_classes: int,
        input_dim: int,
        hidden: Sequence[int] = (256, 128),
        head: str = "linear",
        scale: float = 1.0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = int(input_dim)
        for size in hidden:
            layers.append(nn.Linear(width, int(size)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(size)))
            layers.append(nn.ReLU())
            width = int(size)
        self.body = nn.Sequential(*layers)
        self.embedding_dim = width
        self.head = _make_head(width, num_classes, head, scale)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SmallCNN(_Classifier):
    """Two conv-BN-ReLU-pool stages and a fully connected embedding layer (MNIST-sized images)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64),
        embedding_dim: int = 128,
        head: str = "linear",
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = int(in_channels)
        for size in channels:
            layers += [
                nn.Conv2d(width, int(size), 3, padding=1, bias=False),
                nn.BatchNorm2d(int(size)),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            width = int(size)
        # Global pooling to a fixed 2x2 grid makes the CNN input-size agnostic (8x8 digits, 28x28 MNIST).
        # BN before the last ReLU, as in ResNet's features: without it the cosine head of LDAM (scale 30)
        # kills ReLU units early and the embedding underfits the tail (measured on MNIST-5k, rho = 100).
        layers += [
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * width, int(embedding_dim), bias=False),
            nn.BatchNorm1d(int(embedding_dim)),
            nn.ReLU(),
        ]
        self.body = nn.Sequential(*layers)
        self.embedding_dim = int(embedding_dim)
        self.head = _make_head(int(embedding_dim), num_classes, head, scale)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _resnet32(num_classes: int, input_shape: Sequence[int] = (3, 32, 32), **options: Any) -> nn.Module:
    return CifarResNet(num_classes, blocks_per_stage=5, in_channels=int(input_shape[0]), **options)


def _resnet50(num_classes: int, input_shape: Sequence[int] = (3, 224, 224), **options: Any) -> nn.Module:
    return ResNet50(num_classes, in_channels=int(input_shape[0]), **options)


def _mlp(num_classes: int, input_shape: Sequence[int] = (2,), **options: Any) -> nn.Module:
    return MLP(num_classes, input_dim=math.prod(int(s) for s in input_shape), **options)


def _cnn(num_classes: int, input_shape: Sequence[int] = (1, 28, 28), **options: Any) -> nn.Module:
    if len(input_shape) != 3:
        raise InputError(f"model 'cnn' needs image inputs (channels, height, width), got input_shape {input_shape}")
    return SmallCNN(num_classes, in_channels=int(input_shape[0]), **options)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet32": _resnet32,
    "resnet50": _resnet50,
    "mlp": _mlp,
    "cnn": _cnn,
}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Build a model from its spec ``{"name", "num_classes", "input_shape"?, "head"?, ...}``.

    Unknown names list the valid ones; unknown options name the offending key.
    """
    if not isinstance(spec, dict) or "name" not in spec or "num_classes" not in spec:
        raise InputError(f"model spec must be a dict with 'name' and 'num_classes', got {spec!r}")
    options = dict(spec)
    name = options.pop("name")
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}")
    num_classes = int(options.pop("num_classes"))
    if num_classes < 2:
        raise InputError(f"num_classes must be >= 2, got {num_classes}")
    if "input_shape" in options:
        options["input_shape"] = tuple(int(s) for s in options["input_shape"])
    try:
        return MODELS[name](num_classes, **options)
    except TypeError as error:
        raise InputError(f"model {name!r} does not accept these options {sorted(options)}: {error}") from error


def default_model_name(dataset_name: str, input_shape: Sequence[int]) -> str:
    """The model a dataset trains with by default: ResNet-32 for CIFAR, ResNet-50 for image folders,
    a small CNN for other images, an MLP for vectors."""
    if dataset_name in ("cifar10", "cifar100"):
        return "resnet32"
    if dataset_name == "imagefolder":
        return "resnet50"
    return "cnn" if len(input_shape) == 3 else "mlp"
