"""``Outputs``: the model-agnostic input of every bound.

One ``Outputs`` holds one split of one model: logits, penultimate embeddings, labels, the linear
head (W, b) and the *training* class counts (the one source of truth for imbalance, also on the
test split). Arrays are float64 NumPy (bounds compute in float64).

Logits are ``embeddings @ head_weight.T + head_bias`` for a plain linear head; for a cosine
(normalised) head, ``head_kind == "cosine"`` and ``head_scale`` is the logit scale s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ltbounds.checks import InputError, check_class_counts, check_labels, check_matrix


@dataclass(frozen=True, eq=False)
class Outputs:
    """One split of one model's outputs, validated on construction."""

    logits: np.ndarray  # (n, C) float64
    embeddings: np.ndarray  # (n, d) float64, the penultimate layer
    labels: np.ndarray  # (n,) int64 in [0, C)
    head_weight: np.ndarray  # (C, d) float64
    head_bias: np.ndarray  # (C,) float64 (zeros when the head has none)
    class_counts: np.ndarray  # (C,) int64: training-set counts, index = class id
    split: str = "train"  # "train" | "val" | "test" | any user name
    name: str = "model"  # checkpoint or model name, used as the row key in reports
    method: str = "unknown"  # training method name, when known
    head_kind: str = "linear"  # "linear" | "cosine"
    head_scale: float = 1.0  # logit scale s of a cosine head
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = check_class_counts(self.class_counts, "class_counts")
        num_classes = counts.shape[0]
        logits = check_matrix(self.logits, "logits", columns=num_classes)
        n = logits.shape[0]
        embeddings = check_matrix(self.embeddings, "embeddings", rows=n)
        labels = check_labels(self.labels, num_classes, "labels", length=n)
        weight = check_matrix(self.head_weight, "head_weight", rows=num_classes, columns=embeddings.shape[1])
        bias = np.asarray(self.head_bias, dtype=np.float64).reshape(-1)
        if bias.shape != (num_classes,) or not np.all(np.isfinite(bias)):
            raise InputError(f"head_bias must be a finite vector of length {num_classes}, got shape {bias.shape}")
        if self.head_kind not in ("linear", "cosine"):
            raise InputError(f"head_kind must be 'linear' or 'cosine', got {self.head_kind!r}")
        for attribute, value in (
            ("class_counts", counts),
            ("logits", logits),
            ("embeddings", embeddings),
            ("labels", labels),
            ("head_weight", weight),
            ("head_bias", bias),
        ):
            object.__setattr__(self, attribute, value)

    @property
    def num_classes(self) -> int:
        return int(self.class_counts.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def priors(self) -> np.ndarray:
        """Training class priors pi_y = n_y / N."""
        return self.class_counts / self.class_counts.sum()
