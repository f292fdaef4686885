"""Gaussian class-conditionals N(mu_c, sigma^2 I) with known means: population risks and the Bayes rule.

The one dataset whose population is known, so studies can compare a bound with the true risk
(coverage experiments). ``GaussianPopulation`` samples fresh training sets fast (one vectorised
draw), gives the population 0-1 risk of a linear head exactly (two classes, normal CDF) or by
seeded Monte Carlo (any number of classes), the population expectation of any per-sample loss, and
the balanced-error-optimal Bayes rule.

Dataset options: ``classes`` C, ``dim`` d, ``separation`` (distance between any two means when
C <= d: the means are (separation / sqrt 2) times orthonormal directions drawn with ``means_seed``;
for C > d they are random directions of the same norm), ``sigma``, ``pool_per_class`` (fresh
samples per class for the balanced pool, drawn with (means_seed, spec.seed), so different seeds give
independent training sets), ``test_per_class`` (a test set fixed by ``means_seed``).
Features are raw coordinates (no normalisation), so a head (W, b) read from a model applies as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import ndtr

from ltbounds.checks import InputError, check_class_counts

from .raw import RawData, option_float, option_int
from .spec import DatasetSpec, Split

GAUSSIAN_OPTIONS: dict[str, Any] = {
    "classes": 10,
    "dim": 16,
    "separation": 4.0,
    "sigma": 1.0,
    "means_seed": 0,
    "pool_per_class": 500,
    "test_per_class": 1000,
    "n_max": None,
}


@dataclass(frozen=True)
class PopulationRisk:
    """Per-class population 0-1 risk P(argmax_k (W x + b)_k != y | y) and its balanced mean.

    ``method`` is "exact", "numerical" or "monte_carlo". ``standard_error`` is 0 for exact values,
    sqrt(p (1 - p) / n) for Monte Carlo, and the requested absolute error of the integration for
    "numerical" values; ``samples_per_class`` is 0 unless Monte Carlo.
    """

    per_class: np.ndarray
    balanced: float
    standard_error: np.ndarray
    method: str
    samples_per_class: int

    def weighted(self, prior: Any) -> float:
        """sum_y prior_y * risk_y: the risk under another label distribution (e.g. the training prior)."""
        return float(np.dot(_check_prior(prior, self.per_class.size), self.per_class))


@dataclass(frozen=True)
class PopulationExpectation:
    """Per-class Monte-Carlo means E[loss(x, y) | y] with standard errors, and their balanced mean."""

    per_class: np.ndarray
    balanced: float
    standard_error: np.ndarray
    samples_per_class: int

    def weighted(self, prior: Any) -> float:
        return float(np.dot(_check_prior(prior, self.per_class.size), self.per_class))


class GaussianPopulation:
    """x | y ~ N(mu_y, sigma^2 I_d), y in {0..C-1}; ``means`` is (C, d) float64."""

    def __init__(self, means: Any, sigma: float) -> None:
        means = np.asarray(means, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] < 2 or not np.all(np.isfinite(means)):
            raise InputError(f"means must be a finite (classes >= 2, dim) array, got shape {means.shape}")
        if not (np.isfinite(sigma) and sigma > 0):
            raise InputError(f"sigma must be a finite positive number, got {sigma!r}")
        self.means = means
        self.means.setflags(write=False)
        self.sigma = float(sigma)

    @property
    def num_classes(self) -> int:
        return int(self.means.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def __repr__(self) -> str:
        return f"GaussianPopulation(classes={self.num_classes}, dim={self.dim}, sigma={self.sigma:g})"

    # -- sampling ---------------------------------------------------------------------------------
    def sample(
        self,
        class_counts: Any,
        generator: torch.Generator | int | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Split:
        """A fresh training set with ``class_counts[c]`` samples of class c, in one vectorised draw.

        ``generator``: a torch.Generator (its device is used for the draw) or an int seed. Sorted by class.
        """
        counts = check_class_counts(class_counts, minimum=0)
        if counts.size != self.num_classes:
            raise InputError(f"class_counts has {counts.size} entries but the population has {self.num_classes}")
        if not isinstance(generator, torch.Generator):
            generator = torch.Generator().manual_seed(0 if generator is None else int(generator))
        draw_device = generator.device
        labels = torch.repeat_interleave(
            torch.arange(self.num_classes, device=draw_device), torch.as_tensor(counts, device=draw_device)
        )
        noise = torch.randn(int(counts.sum()), self.dim, generator=generator, dtype=dtype, device=draw_device)
        means = torch.tensor(self.means, dtype=dtype, device=draw_device)
        x = means[labels] + self.sigma * noise
        return Split(x.to(device), labels.to(device))

    def sample_numpy(self, class_id: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` samples of one class from a numpy generator (a per-class stream: prefix-consistent)."""
        return self.means[class_id] + self.sigma * rng.standard_normal((count, self.dim))

    # -- the Bayes rule -------------------------------------------------------------------------
    def bayes_head(self, prior: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The linear head (W, b) of the Bayes rule argmax_y prior_y p(x | y).

        With equal isotropic covariances log prior_y + log p(x | y) = mu_y.x / sigma^2 - |mu_y|^2 / (2 sigma^2)
        + log prior_y + const, so W = M / sigma^2, b = -|mu_y|^2 / (2 sigma^2) + log prior_y. With the
        default uniform prior this minimises the balanced error (1/C) sum_y P(h(x) != y | y) (the
        balanced-error Bayes rule, e.g. Menon et al. 2021, the basis of logit adjustment in tutorial).
        """
        prior_values = (
            np.full(self.num_classes, 1.0 / self.num_classes)
            if prior is None
            else _check_prior(prior, self.num_classes)
        )
        weight = self.means / self.sigma**2
        with np.errstate(divide="ignore"):
            bias = -0.5 * np.sum(self.means**2, axis=1) / self.sigma**2 + np.log(prior_values)
        return weight, bias

    def bayes_risk(self, prior: Any = None, **risk_options: Any) -> PopulationRisk:
        """Population risk of ``bayes_head(prior)`` (the minimal balanced error for prior=None)."""
        weight, bias = self.bayes_head(prior)
        return self.risk(weight, bias, **risk_options)

    # -- population risks -----------------------------------------------------------------------
    def risk(
        self,
        weight: Any,
        bias: Any = None,
        method: str = "auto",
        samples_per_class: int = 200_000,
        seed: int = 0,
        batch_size: int = 65_536,
        tolerance: float = 1e-5,
    ) -> PopulationRisk:
        """P(argmax_k (W x + b)_k != y | y) per class; ties go to the lowest class index (torch.argmax).

        method "exact" (two classes only): with a = w_1 - w_0, c = b_1 - b_0, a.x + c | y ~
        N(a.mu_y + c, sigma^2 |a|^2) and class 1 is predicted iff a.x + c > 0, so
        risk_0 = Phi((a.mu_0 + c) / (sigma |a|)) and risk_1 = Phi(-(a.mu_1 + c) / (sigma |a|)).
        method "monte_carlo": ``samples_per_class`` fresh draws per class from a stream seeded by
        (seed, class), in batches; the same seed gives the same draws for every head (common random numbers).
        Draws and scores are float32 (cheaper than float64; a float32 near-tie is decided differently from
        float64 with negligible probability); the error counts are exact integers.
        method "numerical" (any C, needs C - 1 <= d): 1 - risk_y = P(D_y x + e_y > 0) with rows
        D_y = w_y - w_k, e_y = b_y - b_k (k != y), a (C-1)-variate normal orthant probability
        Phi_S(D_y mu_y + e_y), S = sigma^2 D_y D_y^T, integrated by Genz's algorithm (scipy) to absolute
        error ``tolerance`` (slow for many classes: tens of seconds at C = 10 and 1e-6); heads with singular S
        (dependent weight differences) are refused: use Monte Carlo for them.
        "auto" is exact for two classes, Monte Carlo otherwise.
        """
        weight, bias = self._check_head(weight, bias)
        if method not in ("auto", "exact", "numerical", "monte_carlo"):
            raise InputError(f"method must be 'auto', 'exact', 'numerical' or 'monte_carlo', got {method!r}")
        if method == "numerical":
            if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
                raise InputError(f"tolerance must be a number in (0, 1), got {tolerance!r}")
            per_class = self._numerical_risk(weight, bias, seed, float(tolerance))
            return PopulationRisk(
                per_class, float(per_class.mean()), np.full(self.num_classes, float(tolerance)), "numerical", 0
            )
        if method == "exact" or (method == "auto" and self.num_classes == 2):
            if self.num_classes != 2:
                raise InputError(
                    f"the exact population risk is implemented for two classes; this population has "
                    f"{self.num_classes}: use method='monte_carlo'"
                )
            per_class = self._exact_binary_risk(weight, bias)
            return PopulationRisk(per_class, float(per_class.mean()), np.zeros(2), "exact", 0)
        samples_per_class = _check_count(samples_per_class, "samples_per_class")
        weight_t = torch.as_tensor(weight, dtype=torch.float32)
        bias_t = torch.as_tensor(bias, dtype=torch.float32)
        errors = np.zeros(self.num_classes)
        for class_id, x in self._monte_carlo_batches(samples_per_class, seed, batch_size, torch.float32, "cpu"):
            predictions = torch.argmax(x @ weight_t.T + bias_t, dim=1)
            errors[class_id] += float((predictions != class_id).sum())
        per_class = errors / samples_per_class
        standard_error = np.sqrt(per_class * (1.0 - per_class) / samples_per_class)
        return PopulationRisk(per_class, float(per_class.mean()), standard_error, "monte_carlo", samples_per_class)

    def expected_loss(
        self,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        samples_per_class: int = 100_000,
        seed: int = 0,
        batch_size: int = 65_536,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> PopulationExpectation:
        """Monte-Carlo E[loss(x, y) | y] per class for a per-sample ``loss(x (n, d), y (n,)) -> (n,)``.

        E.g. ``lambda x, y: cross_entropy(model(x), y, reduction="none")``. Draws as in ``risk``; the
        mean is accumulated in float64 and the standard error is the sample std / sqrt(n).
        """
        samples_per_class = _check_count(samples_per_class, "samples_per_class")
        totals = np.zeros(self.num_classes)
        squares = np.zeros(self.num_classes)
        with torch.no_grad():
            for class_id, x in self._monte_carlo_batches(samples_per_class, seed, batch_size, dtype, device):
                labels = torch.full((x.shape[0],), class_id, dtype=torch.int64, device=x.device)
                values = loss(x, labels)
                if not isinstance(values, torch.Tensor) or values.shape != (x.shape[0],):
                    raise InputError(
                        "loss must return one value per sample (a tensor of shape (n,)): use reduction='none'"
                    )
                values = values.detach().to(torch.float64)
                if not torch.all(torch.isfinite(values)):
                    raise InputError(f"loss returned non-finite values for class {class_id}")
                totals[class_id] += float(values.sum())
                squares[class_id] += float((values * values).sum())
        means = totals / samples_per_class
        variance = (
            np.maximum(squares / samples_per_class - means**2, 0.0) * samples_per_class / max(samples_per_class - 1, 1)
        )
        standard_error = np.sqrt(variance / samples_per_class)
        return PopulationExpectation(means, float(means.mean()), standard_error, samples_per_class)

    # -- internals --------------------------------------------------------------------------------
    def _monte_carlo_batches(self, samples_per_class: int, seed: int, batch_size: int, dtype, device):
        batch_size = _check_count(batch_size, "batch_size")
        for class_id in range(self.num_classes):
            state = np.random.SeedSequence([int(seed), class_id]).generate_state(2, dtype=np.uint32)
            generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
            mean = torch.tensor(self.means[class_id], dtype=dtype)
            for start in range(0, samples_per_class, batch_size):
                count = min(batch_size, samples_per_class - start)
                x = mean + self.sigma * torch.randn(count, self.dim, generator=generator, dtype=dtype)
                yield class_id, x.to(device)

    def _numerical_risk(self, weight: np.ndarray, bias: np.ndarray, seed: int, tolerance: float) -> np.ndarray:
        from scipy.stats import multivariate_normal

        risks = np.empty(self.num_classes)
        for class_id in range(self.num_classes):
            others = np.arange(self.num_classes) != class_id
            differences = weight[class_id] - weight[others]
            covariance = self.sigma**2 * differences @ differences.T
            eigenvalues = np.linalg.eigvalsh(covariance)
            if eigenvalues.min() <= 1e-10 * max(eigenvalues.max(), 1e-300):
                raise InputError(
                    f"method='numerical' needs linearly independent weight differences w_y - w_k (here for class "
                    f"{class_id}; always so when C - 1 > dim): use method='monte_carlo'"
                )
            centre = differences @ self.means[class_id] + bias[class_id] - bias[others]
            correct = multivariate_normal.cdf(
                centre,
                mean=np.zeros(centre.size),
                cov=covariance,
                abseps=tolerance,
                releps=0.0,
                maxpts=1_000_000 * centre.size,
                rng=np.random.default_rng([int(seed), class_id]),
            )
            risks[class_id] = min(max(1.0 - float(correct), 0.0), 1.0)
        return risks

    def _exact_binary_risk(self, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        direction = weight[1] - weight[0]
        offset = bias[1] - bias[0]
        centres = self.means @ direction + offset
        spread = self.sigma * np.linalg.norm(direction)
        if spread == 0.0:
            # Constant scores: class 1 wins iff offset > 0 (ties go to class 0, as torch.argmax does).
            return np.array([float(offset > 0), float(offset <= 0)])
        return np.array([ndtr(centres[0] / spread), ndtr(-centres[1] / spread)])

    def _check_head(self, weight: Any, bias: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(weight, torch.Tensor):
            weight = weight.detach().cpu().numpy()
        weight = np.asarray(weight, dtype=np.float64)
        if weight.shape != (self.num_classes, self.dim) or not np.all(np.isfinite(weight)):
            raise InputError(
                f"weight must be a finite ({self.num_classes}, {self.dim}) array (one row per class), "
                f"got shape {weight.shape}"
            )
        if bias is None:
            bias = np.zeros(self.num_classes)
        if isinstance(bias, torch.Tensor):
            bias = bias.detach().cpu().numpy()
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (self.num_classes,) or not np.all(np.isfinite(bias)):
            raise InputError(f"bias must be a finite ({self.num_classes},) array, got shape {bias.shape}")
        return weight, bias


def gaussian_means(classes: int, dim: int, separation: float, seed: int) -> np.ndarray:
    """(C, d) means: (separation / sqrt 2) x orthonormal directions (pairwise distance = separation) when
    C <= d, else random unit directions of the same norm; drawn from ``np.random.default_rng([seed, 0])``."""
    rng = np.random.default_rng([int(seed), 0])
    radius = separation / np.sqrt(2.0)
    if classes <= dim:
        q, r = np.linalg.qr(rng.standard_normal((dim, classes)))
        q = q * np.sign(np.diag(r))  # a unique orthonormal frame for this draw
        return radius * q.T
    directions = rng.standard_normal((classes, dim))
    return radius * directions / np.linalg.norm(directions, axis=1, keepdims=True)


def load_gaussian(spec: DatasetSpec, data_root: str | None, options: Mapping[str, Any]) -> RawData:
    classes = option_int(options, "classes", minimum=2)
    dim = option_int(options, "dim")
    separation = option_float(options, "separation", 0.0, strict=False)
    sigma = option_float(options, "sigma")
    means_seed = option_int(options, "means_seed", minimum=0)
    pool_per_class = option_int(options, "pool_per_class")
    test_per_class = option_int(options, "test_per_class")
    population = GaussianPopulation(gaussian_means(classes, dim, separation, means_seed), sigma)
    pool = [
        population.sample_numpy(c, pool_per_class, np.random.default_rng([means_seed, spec.seed, 1, c]))
        for c in range(classes)
    ]
    test = [
        population.sample_numpy(c, test_per_class, np.random.default_rng([means_seed, 2, c])) for c in range(classes)
    ]
    labels_pool = np.repeat(np.arange(classes), pool_per_class)
    labels_test = np.repeat(np.arange(classes), test_per_class)
    return RawData(
        np.concatenate(pool).astype(np.float32),
        labels_pool,
        np.concatenate(test).astype(np.float32),
        labels_test,
        classes,
        tuple(f"class {c}" for c in range(classes)),
        population=population,
    )


def _check_prior(prior: Any, num_classes: int) -> np.ndarray:
    values = np.asarray(prior, dtype=np.float64)
    if values.shape != (num_classes,) or np.any(values < 0) or not np.isclose(values.sum(), 1.0):
        raise InputError(f"prior must be {num_classes} non-negative numbers summing to 1, got {values.tolist()}")
    return values


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
