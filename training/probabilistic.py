"""Probabilistic networks: diagonal-Gaussian weights over a BatchNorm-free copy of an MLP or small CNN.

A PAC-Bayes posterior Q (and prior P) is a diagonal Gaussian over the parameters of a *plain* network:
every BatchNorm of ``training.models`` (MLP, SmallCNN) is folded, in eval mode, into the linear or
convolutional layer before it (W' = W diag(gamma / sqrt(var + eps)), b' = (b - mean) gamma / sqrt(var + eps)
+ beta). Why: BatchNorm's running statistics are computed from the training data, so keeping them as
fixed buffers would make the hypothesis class depend on S; folded, every number of the predictor is a
parameter of the Gaussian, and the prior at the initialisation (running mean 0, var 1) is data-free.

Sampling (why it is exact and cheap): a forward pass draws an *independent network for every input*.
- Linear layers use the local reparametrisation (Kingma, Salimans & Welling 2015): under a diagonal
  Gaussian W, the pre-activation W x + b of one input is exactly N(M x + m_b, S^2 x^2 + s_b^2), so one
  mean and one variance product give a fresh draw of the layer per input.
- Convolutions share weights across positions, so there the per-input weights are drawn explicitly
  and applied as one grouped convolution (groups = inputs): batched weights, no Python loop.
- The cosine (LDAM) head draws its (C, d) weights per input.
So the logits of input i are distributed exactly as h(x_i) with h ~ Q, independent over i and over
repeated passes: an MC estimate of R^_S(Q) from m passes averages n m independent [0, 1] terms.

Pure torch (the caller's device and dtype); no ltbounds.evaluation/statements/studies import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ltbounds.checks import InputError

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Op:
    """One step of a plain network: ``kind`` in linear | conv | normed | relu | flatten | maxpool | avgpool."""

    kind: str
    weight: str = ""  # parameter names (linear, conv, normed)
    bias: str = ""
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class PlainNetwork:
    """A BatchNorm-free network: its steps and the parameters' shapes (the parameters live in dicts)."""

    ops: tuple[Op, ...]
    shapes: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.shapes)

    def num_parameters(self) -> int:
        return sum(math.prod(shape) for _, shape in self.shapes)


def _bn_scale_shift(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm in eval mode as x -> scale x + shift."""
    var = bn.running_var.detach().double()
    mean = bn.running_mean.detach().double()
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(var)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    return scale, beta - mean * scale


def fold_model(model: nn.Module) -> tuple[PlainNetwork, Params]:
    """The plain network of an MLP or SmallCNN (``body`` + ``head``) and its folded float64 parameters.

    The plain network computes exactly the model's eval-mode logits (up to float rounding; tested).
    ResNets (residual branches) are refused with an InputError.
    """
    body = getattr(model, "body", None)
    head = getattr(model, "head", None)
    if not isinstance(body, nn.Sequential) or head is None:
        raise InputError(
            f"certificates support the 'mlp' and 'cnn' models (a plain body + head); got {type(model).__name__}"
        )
    ops: list[Op] = []
    params: Params = {}
    last: int | None = None  # index in ops of the layer a BatchNorm folds into

    def add(kind: str, weight: torch.Tensor, bias: torch.Tensor | None, **options: Any) -> None:
        nonlocal last
        index = sum(op.kind in ("linear", "conv", "normed") for op in ops)
        w_name, b_name = f"w{index}", f"b{index}"
        params[w_name] = weight.detach().double().clone()
        out = weight.shape[0]
        params[b_name] = bias.detach().double().clone() if bias is not None else torch.zeros(out, dtype=torch.float64)
        ops.append(Op(kind, w_name, b_name if kind != "normed" else "", tuple(sorted(options.items()))))
        if kind == "normed":
            del params[b_name]
        last = len(ops) - 1

    for module in list(body) + [head]:
        if isinstance(module, nn.Flatten):
            ops.append(Op("flatten"))
        elif isinstance(module, nn.Linear):
            add("linear", module.weight, module.bias)
        elif isinstance(module, nn.Conv2d):
            if module.groups != 1 or module.dilation != (1, 1):
                raise InputError("certificates support plain convolutions only (groups = 1, dilation = 1)")
            add("conv", module.weight, module.bias, stride=tuple(module.stride), padding=tuple(module.padding))
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if last is None or last != len(ops) - 1 or ops[last].kind not in ("linear", "conv"):
                raise InputError("a BatchNorm must follow a linear or convolutional layer to be folded")
            scale, shift = _bn_scale_shift(module)
            op = ops[last]
            shape = (-1,) + (1,) * (params[op.weight].dim() - 1)
            params[op.weight] = params[op.weight] * scale.reshape(shape)
            params[op.bias] = params[op.bias] * scale + shift
        elif isinstance(module, nn.ReLU):
            ops.append(Op("relu"))
        elif isinstance(module, nn.MaxPool2d):
            ops.append(
                Op(
                    "maxpool",
                    options=(
                        ("ceil_mode", bool(module.ceil_mode)),
                        ("kernel", module.kernel_size),
                        ("stride", module.stride),
                    ),
                )
            )
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            ops.append(Op("avgpool", options=(("size", module.output_size),)))
        elif type(module).__name__ == "NormedLinear":
            add("normed", module.weight, None, scale=float(module.scale))
        else:
            raise InputError(f"certificates cannot fold layer {type(module).__name__} of {type(model).__name__}")
    network = PlainNetwork(tuple(ops), tuple((name, tuple(params[name].shape)) for name in params))
    return network, params


def unfold_into(model: nn.Module, network: PlainNetwork, params: Mapping[str, torch.Tensor]) -> nn.Module:
    """Write plain parameters back into a model of the same spec, with every BatchNorm made the identity
    (mean 0, var 1, gamma sqrt(1 + eps)) and the folded bias carried by the BatchNorm's beta when the layer
    has none: the model then computes the plain network (its ``state_dict`` goes into a checkpoint)."""
    layers = [m for m in list(model.body) + [model.head]]
    weighted = iter(op for op in network.ops if op.kind in ("linear", "conv", "normed"))
    with torch.no_grad():
        current = None
        for module in layers:
            if isinstance(module, (nn.Linear, nn.Conv2d)) or type(module).__name__ == "NormedLinear":
                current = next(weighted)
                module.weight.copy_(params[current.weight].to(module.weight.dtype))
                if getattr(module, "bias", None) is not None:
                    module.bias.copy_(params[current.bias].to(module.bias.dtype))
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
                module.weight.fill_(math.sqrt(1.0 + module.eps))
                bias = params[current.bias].to(module.bias.dtype)
                layer = layers[layers.index(module) - 1]
                module.bias.copy_(bias if getattr(layer, "bias", None) is None else torch.zeros_like(bias))
    return model


def forward(
    network: PlainNetwork,
    mean: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    std: Mapping[str, torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
    start: int = 0,
    stop: int | None = None,
) -> torch.Tensor:
    """Logits (n, C): the deterministic network at ``mean`` (``std`` None), or one independent draw of
    h ~ N(mean, diag std^2) per input (module docstring). ``generator`` makes the noise reproducible.
    ``start``/``stop`` run only ``network.ops[start:stop]`` (``x`` is then that step's input)."""

    def noise(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)

    h = x.to(next(iter(mean.values())).dtype)
    n = h.shape[0]
    for op in network.ops[start:stop]:
        if op.kind == "flatten":
            h = h.flatten(1)
        elif op.kind == "relu":
            h = F.relu(h)
        elif op.kind == "maxpool":
            h = F.max_pool2d(h, op.option("kernel"), op.option("stride"), ceil_mode=op.option("ceil_mode"))
        elif op.kind == "avgpool":
            h = F.adaptive_avg_pool2d(h, op.option("size"))
        elif op.kind == "linear":
            w, b = mean[op.weight], mean[op.bias]
            out = F.linear(h, w, b)
            if std is not None and op.weight in std:
                variance = F.linear(h * h, std[op.weight] ** 2, std[op.bias] ** 2)
                out = out + torch.sqrt(variance.clamp_min(1e-30)) * noise(tuple(out.shape), out)
            h = out
        elif op.kind == "conv":
            w, b = mean[op.weight], mean[op.bias]
            stride, padding = op.option("stride"), op.option("padding")
            if std is None or op.weight not in std:
                h = F.conv2d(h, w, b, stride, padding)
            else:
                weights = w + std[op.weight] * noise((n, *w.shape), w)  # (n, out, in, k, k): one per input
                biases = b + std[op.bias] * noise((n, *b.shape), b)
                grouped = F.conv2d(
                    h.reshape(1, -1, *h.shape[2:]),
                    weights.reshape(-1, *w.shape[1:]),
                    biases.reshape(-1),
                    stride,
                    padding,
                    groups=n,
                )
                h = grouped.reshape(n, w.shape[0], *grouped.shape[2:])
        elif op.kind == "normed":
            w = mean[op.weight]
            z = F.normalize(h, dim=1)
            if std is None or op.weight not in std:
                h = op.option("scale") * z @ F.normalize(w, dim=1).T
            else:
                weights = F.normalize(w + std[op.weight] * noise((n, *w.shape), w), dim=2)
                h = op.option("scale") * torch.einsum("nd,ncd->nc", z, weights)
        else:  # pragma: no cover - fold_model only makes the kinds above
            raise InputError(f"unknown plain-network step {op.kind!r}")
    return h


def kl_gaussians(
    mean_q: Mapping[str, torch.Tensor],
    std_q: Mapping[str, torch.Tensor],
    mean_p: Mapping[str, torch.Tensor],
    sigma_p: float,
) -> torch.Tensor:
    """KL(N(mean_q, diag std_q^2) || N(mean_p, sigma_p^2 I)) in nats, differentiable (torch twin of
    ``ltbounds.bounds.pacbayes.kl_diag_gaussian``, which the tests compare it with)."""
    total = torch.zeros((), dtype=next(iter(mean_q.values())).dtype, device=next(iter(mean_q.values())).device)
    for name, mq in mean_q.items():
        ratio2 = (std_q[name] / sigma_p) ** 2
        total = total + 0.5 * torch.sum(ratio2 - 1.0 - torch.log(ratio2) + ((mq - mean_p[name]) / sigma_p) ** 2)
    return total


def bounded_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, p_min: float = 1e-4) -> torch.Tensor:
    """Per-sample -ln(max(p_y, p_min)) / ln(1/p_min), in [0, 1]: the bounded surrogate of the 0-1 loss
    (Perez-Ortiz et al. 2021, Sec. 5: PBB's p_min = 1e-5). A training objective only: the certificates
    are computed on the 0-1 error itself."""
    if not 0.0 < p_min < 1.0:
        raise InputError(f"p_min must be in (0, 1), got {p_min}")
    log_p = torch.log_softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1)
    return -log_p.clamp_min(math.log(p_min)) / math.log(1.0 / p_min)


class GaussianPosterior(nn.Module):
    """Trainable diagonal Gaussian over a plain network: means ``mu_*`` and std = softplus(``rho_*``)."""

    def __init__(
        self, network: PlainNetwork, mean: Mapping[str, torch.Tensor], sigma_init: float, fixed: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        if not sigma_init > 0:
            raise InputError(f"sigma must be > 0, got {sigma_init}")
        self.network = network
        rho = math.log(math.expm1(sigma_init))  # softplus^{-1}
        # ``fixed`` parameters are point masses at their mean, in the prior as well (so they add 0 to the KL
        # only when the prior's value is the same: checked by the certificate). Why: a CNN's convolutions,
        # trained on S_prior, kept as they are, let the rest use the exact and cheap local reparametrisation.
        self.fixed = tuple(fixed)
        self.mu = nn.ParameterDict({k: nn.Parameter(v.clone(), requires_grad=k not in fixed) for k, v in mean.items()})
        self.rho = nn.ParameterDict(
            {k: nn.Parameter(torch.full_like(v, rho)) for k, v in mean.items() if k not in fixed}
        )

    def std(self) -> Params:
        return {k: F.softplus(v) for k, v in self.rho.items()}

    def means(self) -> Params:
        return dict(self.mu.items())

    def stochastic_means(self) -> Params:
        return {k: v for k, v in self.mu.items() if k in self.rho}

    def deterministic_steps(self) -> int:
        """How many first steps of the network have no stochastic parameter (their output is computed once)."""
        for index, op in enumerate(self.network.ops):
            if op.weight and op.weight in self.rho:
                return index
        return len(self.network.ops)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of the deterministic first steps (the input of ``sample_logits(..., start=...)``)."""
        return forward(self.network, self.means(), x, stop=self.deterministic_steps())

    def sample_logits(self, x: torch.Tensor, generator: torch.Generator | None = None, start: int = 0) -> torch.Tensor:
        return forward(self.network, self.means(), x, self.std(), generator, start=start)

    def mean_logits(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.network, self.means(), x)
