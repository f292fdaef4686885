"""``nn.Module`` wrappers with parameters derived from ``class_counts``, and the registry.

``REGISTRY[name](class_counts, **hparams)`` -> module; ``module(logits, labels)`` (or ``module(logits,
labels, embeddings)`` when ``module.needs_embeddings``) is the mean loss; ``module.set_epoch(epoch)``
applies the DRW / ADRW / TLA / DRO-LT schedules (a no-op for modules without one).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbounds.checks import InputError, check_positive
from ltbounds.losses import embedding as E
from ltbounds.losses import logit as L
from ltbounds.losses import weights as W
from ltbounds.losses.inputs import as_counts, check_choice, check_embeddings, check_label_tensor, check_logits


class LossModule(nn.Module):
    """Base: holds ``class_counts`` and the current ``epoch``; ``set_epoch`` re-derives scheduled parameters."""

    needs_embeddings = False

    def __init__(self, class_counts: Any) -> None:
        super().__init__()
        self.class_counts = as_counts(class_counts)
        self.num_classes = int(self.class_counts.shape[0])
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the current epoch (0-based, as the training loop counts) and apply schedules."""
        if int(epoch) < 0:
            raise InputError(f"epoch must be >= 0, got {epoch!r}")
        self.epoch = int(epoch)
        self._apply_schedule()

    def _apply_schedule(self) -> None:
        pass

    def _vector(self, values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(values, dtype=like.dtype, device=like.device)

    def _check_logits(self, logits: Any) -> torch.Tensor:
        logits = check_logits(logits)
        if logits.shape[1] != self.num_classes:
            raise InputError(
                f"logits have {logits.shape[1]} columns but this loss was built for {self.num_classes} classes"
            )
        return logits


class ReweightedModule(LossModule):
    """Adds the re-weighting schedule: ``reweighting`` in none | inverse | cb | drw | adrw,
    ``reweight_epoch`` (T0: DRW/ADRW weights switch on at this epoch, 1 before), ``cb_beta``, ``nu``."""

    def __init__(
        self,
        class_counts: Any,
        reweighting: str = "none",
        reweight_epoch: int = 160,
        cb_beta: float = 0.9999,
        nu: float = 0.5,
    ) -> None:
        super().__init__(class_counts)
        check_choice(reweighting, W.REWEIGHTING, "reweighting")
        if int(reweight_epoch) < 0:
            raise InputError(f"reweight_epoch must be >= 0, got {reweight_epoch!r}")
        self.reweighting = reweighting
        self.reweight_epoch = int(reweight_epoch)
        self.cb_beta = float(cb_beta)
        self.nu = float(nu)
        self.class_weights = self._weights_at(0)
        self._apply_schedule()

    def _weights_at(self, epoch: int) -> np.ndarray:
        return W.reweighting_weights(
            self.class_counts, self.reweighting, epoch, self.reweight_epoch, self.cb_beta, self.nu
        )

    def _apply_schedule(self) -> None:
        self.class_weights = self._weights_at(self.epoch)

    def _weights(self, like: torch.Tensor) -> torch.Tensor | None:
        if np.all(self.class_weights == 1.0):
            return None
        return self._vector(self.class_weights, like)


class CrossEntropyLoss(ReweightedModule):
    """Cross-entropy with an optional re-weighting schedule (``reweighting`` default none)."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.cross_entropy(logits, labels, weights=self._weights(logits))


class InverseFrequencyLoss(CrossEntropyLoss):
    """Cross-entropy re-weighted by 1/pi_y (normalised to sum to C) from the first epoch."""

    def __init__(self, class_counts: Any, reweighting: str = "inverse", **schedule: Any) -> None:
        super().__init__(class_counts, reweighting=reweighting, **schedule)


class FocalLoss(ReweightedModule):
    """Focal loss with ``gamma`` (2.0, Lin et al.) and an optional re-weighting schedule."""

    def __init__(self, class_counts: Any, gamma: float = 2.0, **schedule: Any) -> None:
        super().__init__(class_counts, **schedule)
        self.gamma = check_positive(gamma, "gamma", allow_zero=True)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.focal_loss(logits, labels, self.gamma, weights=self._weights(logits))


class ClassBalancedLoss(LossModule):
    """CB loss: ``beta`` (0.9999), ``base`` softmax | sigmoid | focal, ``gamma`` for the focal base."""

    def __init__(self, class_counts: Any, beta: float = 0.9999, base: str = "softmax", gamma: float = 2.0) -> None:
        super().__init__(class_counts)
        W.effective_number(self.class_counts, beta)  # validates beta
        self.beta = float(beta)
        self.base = check_choice(base, L.CB_BASES, "base")
        self.gamma = check_positive(gamma, "gamma", allow_zero=True)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.class_balanced_loss(logits, labels, self.class_counts, self.beta, self.base, self.gamma)


class LDAMLoss(ReweightedModule):
    """LDAM on cosine logits: ``max_margin`` (0.5), ``scale`` (30), usually with reweighting="drw"."""

    def __init__(self, class_counts: Any, max_margin: float = 0.5, scale: float = 30.0, **schedule: Any) -> None:
        super().__init__(class_counts, **schedule)
        self.margins = W.ldam_margins(self.class_counts, max_margin)
        self.scale = check_positive(scale, "scale")

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.ldam_loss(logits, labels, self._vector(self.margins, logits), self.scale, self._weights(logits))


class LogitAdjustedLoss(ReweightedModule):
    """Logit-adjusted CE with temperature ``tau`` (1.0) and an optional re-weighting schedule."""

    def __init__(self, class_counts: Any, tau: float = 1.0, **schedule: Any) -> None:
        super().__init__(class_counts, **schedule)
        self.tau = check_positive(tau, "tau", allow_zero=True)

    @property
    def logit_shift(self) -> np.ndarray:
        """Delta_y = tau log pi_y: this loss is the VS loss with alpha = beta = 1 and this shift (wang23, eq. 3)."""
        counts = np.asarray(self.class_counts, dtype=np.float64)
        return float(self.tau) * np.log(counts / counts.sum())

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.logit_adjusted_loss(logits, labels, self.class_counts, self.tau, self._weights(logits))


class BalancedSoftmaxLoss(LossModule):
    """Balanced softmax (no hyper-parameters)."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.balanced_softmax_loss(logits, labels, self.class_counts)


class VSLoss(ReweightedModule):
    """VS loss of Kini et al.: beta_y = (n_y/n_max)^gamma, Delta_y = tau log pi_y (defaults 0.3 / 1.0, the
    defaults of Kini et al.'s code), alpha from the re-weighting schedule; from ``tla_epoch`` on, beta = 1
    (TLA, wang23 Algorithm 1 line 7: VS becomes LA). ``tla_epoch`` None: never."""

    def __init__(
        self, class_counts: Any, gamma: float = 0.3, tau: float = 1.0, tla_epoch: int | None = None, **schedule: Any
    ) -> None:
        self.tla_epoch = None if tla_epoch is None else int(tla_epoch)
        super().__init__(class_counts, **schedule)
        self.gamma = check_positive(gamma, "gamma", allow_zero=True)
        self.tau = check_positive(tau, "tau", allow_zero=True)
        self.base_scales, self.offsets = W.vs_scales_and_offsets(self.class_counts, self.gamma, self.tau)
        self._apply_schedule()

    def _apply_schedule(self) -> None:
        super()._apply_schedule()
        base = getattr(self, "base_scales", None)
        if base is None:
            return
        truncated = self.tla_epoch is not None and self.epoch >= self.tla_epoch
        self.scales = np.ones_like(base) if truncated else base

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.vector_scaling_loss(
            logits,
            labels,
            alpha=self._weights(logits),
            beta=self._vector(self.scales, logits),
            delta=self._vector(self.offsets, logits),
        )


class CDTLoss(VSLoss):
    """CDT: VS with tau = 0 (beta_y = (n_y/n_max)^gamma, gamma 0.3), same schedules as VS."""

    def __init__(self, class_counts: Any, gamma: float = 0.3, tla_epoch: int | None = None, **schedule: Any) -> None:
        super().__init__(class_counts, gamma=gamma, tau=0.0, tla_epoch=tla_epoch, **schedule)


class FisherLoss(LossModule):
    """Fisher-consistent family with ``delta`` (C,) or delta = pi^``delta_power`` (1.0: LA)."""

    def __init__(self, class_counts: Any, delta: Any = None, delta_power: float = 1.0) -> None:
        super().__init__(class_counts)
        W.fisher_parameters(self.class_counts, delta, delta_power)  # validates
        self.delta = None if delta is None else np.asarray(delta, dtype=np.float64)
        self.delta_power = float(delta_power)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.fisher_loss(logits, labels, self.class_counts, self.delta, self.delta_power)


class MarginLoss(LossModule):
    """General l_mar with a given (C, C) ``margins`` matrix (elm eq. 3)."""

    def __init__(self, class_counts: Any, margins: Any = None) -> None:
        super().__init__(class_counts)
        if margins is None:
            raise InputError("the 'margin' loss needs margins=<(C, C) matrix Delta_yy'>")
        matrix = np.asarray(margins, dtype=np.float64)
        if matrix.shape != (self.num_classes, self.num_classes) or not np.all(np.isfinite(matrix)):
            raise InputError(f"margins must be a finite ({self.num_classes}, {self.num_classes}) matrix")
        self.margins = matrix

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return L.margin_loss(logits, labels, self._vector(self.margins, logits))


class EqualizationLoss(MarginLoss):
    """l_mar with Delta_{yy'} = P(y') (elm eq. 3, after Tan et al. 2020)."""

    def __init__(self, class_counts: Any) -> None:
        super().__init__(class_counts, margins=W.equalization_margins(class_counts))


class ELMLoss(LossModule):
    """ELM objective l_mar + lambda_pull * Omega_pull [elm eq. 4]: ``lambda_pull`` (0.01), pull margins
    alpha_y = ``alpha_scale`` * b_y^``alpha_exponent`` with b = n_y (``alpha_base`` "count") or P(y)
    ("prior"); defaults give alpha_y = n_y (elm App. A.2's all-round choice); logit margins
    tau log(P(y')/P(y)) with ``tau`` (1.0); ``hard`` uses Omega~_pull; ``chunk_size`` bounds memory."""

    needs_embeddings = True

    def __init__(
        self,
        class_counts: Any,
        lambda_pull: float = 0.01,
        alpha_exponent: float = 1.0,
        alpha_scale: float = 1.0,
        alpha_base: str = "count",
        tau: float = 1.0,
        hard: bool = False,
        chunk_size: int = E.DEFAULT_CHUNK,
    ) -> None:
        super().__init__(class_counts)
        self.lambda_pull = check_positive(lambda_pull, "lambda_pull", allow_zero=True)
        self.alpha = W.elm_alpha(self.class_counts, alpha_exponent, alpha_scale, alpha_base)
        self.tau = check_positive(tau, "tau", allow_zero=True)
        self.hard = bool(hard)
        self.chunk_size = int(chunk_size)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        return E.elm_loss(
            logits,
            labels,
            embeddings,
            self.class_counts,
            self.lambda_pull,
            self._vector(self.alpha, embeddings),
            self.tau,
            self.hard,
            self.chunk_size,
        )


class DROLTLoss(LossModule):
    """DRO-LT joint loss lambda_ce * CE + (1 - lambda_ce) * L_Robust [drolt eq. (19)], L_Robust = eq. (18).

    Hyper-parameters: ``epsilon`` (1.0; drolt tunes it in {1, 2, 5, 10, 30, 70}), ``radius`` shared |
    inv_sqrt_n | learned (learned radii are ``nn.Parameter``s of this module, initialised to epsilon,
    unconstrained like drolt's code: add ``module.parameters()`` to the optimiser), ``distance`` euclidean |
    squared_euclidean, ``lambda_ce`` (0.5, drolt Sec. 7.4), ``temperature`` (1.0 as printed), ``class_weight``
    balanced | none, ``dro_start_epoch`` (before it the loss is CE alone: drolt's first stage, lambda = 1).

    Centroids: call ``update_centroids(embeddings, labels)`` once per epoch with the whole training set's
    embeddings (drolt Sec. 6). Until it has been called (or for a class it never saw), the loss FALLS BACK
    to the batch centroids of that class (detached), which drolt warns are poor for tail classes.
    """

    needs_embeddings = True

    def __init__(
        self,
        class_counts: Any,
        epsilon: float = 1.0,
        radius: str = "learned",
        distance: str = "euclidean",
        lambda_ce: float = 0.5,
        temperature: float = 1.0,
        class_weight: str = "balanced",
        dro_start_epoch: int = 0,
    ) -> None:
        super().__init__(class_counts)
        self.radius = check_choice(radius, W.RADIUS_MODES, "radius")
        self.distance = check_choice(distance, E.DISTANCES, "distance")
        self.class_weight = check_choice(class_weight, ("balanced", "none"), "class_weight")
        lambda_ce = float(lambda_ce)
        if not 0.0 <= lambda_ce <= 1.0:
            raise InputError(f"lambda_ce must lie in [0, 1], got {lambda_ce!r}")
        self.lambda_ce = lambda_ce
        self.temperature = check_positive(temperature, "temperature")
        self.dro_start_epoch = int(dro_start_epoch)
        radii = torch.as_tensor(W.dro_lt_radii(self.class_counts, epsilon, radius), dtype=torch.get_default_dtype())
        if radius == "learned":
            self.radii = nn.Parameter(radii)
        else:
            self.register_buffer("radii", radii, persistent=False)
        self.register_buffer("centroids", torch.zeros(self.num_classes, 0))
        self.register_buffer("has_centroid", torch.zeros(self.num_classes, dtype=torch.bool))

    @torch.no_grad()
    def update_centroids(self, embeddings: torch.Tensor, labels: torch.Tensor) -> None:
        """Recompute the class centroids from (typically all) training embeddings; classes absent from
        ``labels`` keep their previous centroid."""
        embeddings = check_embeddings(embeddings)
        means, counts = E.class_centroids(embeddings.detach(), labels, self.num_classes)
        if self.centroids.shape != means.shape:
            self.centroids = torch.zeros_like(means)
        seen = counts > 0
        self.centroids = torch.where(seen[:, None], means.to(self.centroids), self.centroids)
        self.has_centroid = self.has_centroid | seen.to(self.has_centroid.device)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The centroid buffer is sized lazily (embedding dimension unknown at construction).
        key = prefix + "centroids"
        if key in state_dict and state_dict[key].shape != self.centroids.shape:
            self.centroids = torch.zeros_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def current_centroids(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Stored centroids, with batch centroids (detached) for classes that have none stored."""
        batch_means, batch_counts = E.class_centroids(embeddings.detach(), labels, self.num_classes)
        if self.centroids.shape == batch_means.shape:
            stored = self.centroids.to(batch_means)
            use_stored = self.has_centroid.to(batch_means.device)[:, None]
            return torch.where(use_stored, stored, batch_means)
        return batch_means

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        labels = check_label_tensor(labels, self.num_classes, logits.shape[0])
        embeddings = check_embeddings(embeddings, rows=logits.shape[0])
        ce = L.cross_entropy(logits, labels)
        if self.epoch < self.dro_start_epoch or self.lambda_ce == 1.0:
            return ce
        robust = E.dro_lt_loss(
            embeddings,
            labels,
            self.current_centroids(embeddings, labels),
            self.radii.to(embeddings.dtype),
            self.distance,
            self.class_weight,
            self.temperature,
        )
        return self.lambda_ce * ce + (1.0 - self.lambda_ce) * robust


class CenterLoss(LossModule):
    """CE + ``lambda_center`` * center loss (0.01, our default; Wen et al. tune it). ``centers`` "batch"
    (class means of the batch) or "learned" (an ``nn.Parameter`` (C, ``embedding_dim``), initialised 0)."""

    needs_embeddings = True

    def __init__(
        self, class_counts: Any, lambda_center: float = 0.01, centers: str = "batch", embedding_dim: int | None = None
    ) -> None:
        super().__init__(class_counts)
        self.lambda_center = check_positive(lambda_center, "lambda_center", allow_zero=True)
        self.centers_mode = check_choice(centers, ("batch", "learned"), "centers")
        self.centers = None
        if centers == "learned":
            if embedding_dim is None or int(embedding_dim) < 1:
                raise InputError("centers='learned' needs embedding_dim=<the embedding dimension>")
            self.centers = nn.Parameter(torch.zeros(self.num_classes, int(embedding_dim)))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self._check_logits(logits)
        labels = check_label_tensor(labels, self.num_classes, logits.shape[0])
        embeddings = check_embeddings(embeddings, rows=logits.shape[0])
        if self.centers is None:
            centers, _ = E.class_centroids(embeddings, labels, self.num_classes)
        else:
            centers = self.centers.to(embeddings.dtype)
        return L.cross_entropy(logits, labels) + self.lambda_center * E.center_loss(embeddings, labels, centers)


REGISTRY: dict[str, type[LossModule]] = {
    "ce": CrossEntropyLoss,
    "reweight": InverseFrequencyLoss,
    "focal": FocalLoss,
    "cb": ClassBalancedLoss,
    "ldam": LDAMLoss,
    "la": LogitAdjustedLoss,
    "balanced_softmax": BalancedSoftmaxLoss,
    "cdt": CDTLoss,
    "vs": VSLoss,
    "fisher": FisherLoss,
    "equalization": EqualizationLoss,
    "margin": MarginLoss,
    "elm": ELMLoss,
    "dro_lt": DROLTLoss,
    "center": CenterLoss,
}


def build_registered_loss(name: str, class_counts: Any, **hparams: Any) -> LossModule:
    """``REGISTRY[name](class_counts, **hparams)`` with an ``InputError`` (not a ``KeyError``/``TypeError``)
    naming the valid choices when ``name`` or a hyper-parameter is unknown."""
    if name not in REGISTRY:
        raise InputError(f"unknown loss {name!r}; choose one of {sorted(REGISTRY)}")
    cls = REGISTRY[name]
    accepted: set[str] = set()
    for klass in cls.__mro__:
        if klass is LossModule or not issubclass(klass, LossModule):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        accepted |= {p for p, v in parameters.items() if v.kind is v.KEYWORD_ONLY or v.kind is v.POSITIONAL_OR_KEYWORD}
    accepted -= {"self", "class_counts"}
    unknown = sorted(set(hparams) - accepted)
    if unknown:
        raise InputError(f"loss {name!r} has no hyper-parameter(s) {unknown}; valid: {sorted(accepted)}")
    return cls(class_counts, **hparams)
