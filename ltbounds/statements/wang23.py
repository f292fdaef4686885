"""Declarations of the statements of wang23 (Wang et al., NeurIPS 2023; docs/papers.md), in errata order.

Each statement is declared once, with its errata verdict, next to the evaluator that adapts a checkpoint's
``Outputs`` to the maths of ``ltbounds.bounds.wang23`` (the bounds) and ``ltbounds.bounds.vs_family`` (the
VS loss and Lemma 4). A printed statement and its correction share one evaluator through
``functools.partial(rows, corrected=...)``.

Certified evaluation: hypothesis class = linear heads (W, b) of Frobenius radius r on the frozen
penultimate embeddings (bias as a constant-1 feature; cosine heads: unit-norm features, radius s sqrt(C));
the loss is the VS loss truncated at M, min(L_VS, M) (bounded, as the Rademacher bound needs), M from the
logit bound U = r max_i ||[x_i, 1]|| (``vs_loss_bound``). r and M are chosen from fixed finite grids
(smallest grid value >= the model's norm / M(U)) and delta is split uniformly over the grid (a union bound:
the certified bound holds simultaneously for every grid point, so a data-dependent choice is allowed).
Prop. 3's certified form additionally stratifies the logit box (b, a) over a fixed grid and bounds the risk
of the box-clipped truncated VS loss. ``measured`` is the balanced (class-averaged) risk of the same loss on
``splits.measurement_split()``. What is shared by the evaluators of one checkpoint is computed once per
``EvaluationSplits`` (``splits.computed``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ltbounds.bounds.result import Assumption, BoundResult, Form
from ltbounds.bounds.vs_family import (
    VS_FAMILY_MEMBERS,
    LocalLipschitz,
    Reading,
    beta_tilde,
    beta_tilde_discordant_pairs,
    beta_tilde_order_identity_gap,
    fisher_family_mismatch,
    fisher_loss,
    in3_monotonicity_violations,
    log_softmax,
    vs_family_parameters,
    vs_lipschitz_constants,
    vs_loss,
    vs_loss_and_gradient_norm,
    vs_loss_bound,
    vs_parameters,
)
from ltbounds.bounds.wang23 import (
    MAX_ENUMERATED_SIGNS,
    contracted_complexities,
    contraction_bound,
    contraction_lemma_sides,
    data_dependent_contraction,
    imbalance_factor_excess,
    lemma2_bound,
    prop2_complexity_terms,
    prop2_corrected,
    union_bound,
    vs_contraction_bound,
)
from ltbounds.checks import InputError, check_delta
from ltbounds.per_class import class_means
from ltbounds.statements.declaration import Declarations
from ltbounds.statements.rows import (
    balanced,
    forms_and_deltas,
    identity_row,
    per_class_rows,
    relative_gaps,
    row_factory,
    violations_row,
)
from ltbounds.statements.statistics import class_margins as class_margins_chunked
from ltbounds.statements.statistics import (
    embedding_squared_norms,
    head_pass,
    logit_extremes,
    per_sample,
    symbolic_rows,
)

if TYPE_CHECKING:
    from ltbounds.outputs import Outputs
    from ltbounds.statements.context import EvaluationSplits

__all__ = ["DECLARED", "THEOREM1", "vs_local_lipschitz_of", "vs_parameters_of"]

DECLARED = Declarations("wang23")

SQRT2 = math.sqrt(2.0)

# ---------------------------------------------------------------------------------------------
# grids fixed before seeing any data (the certified forms split delta over them)

RADIUS_GRID = 2.0 ** (np.arange(-40, 81) / 2.0)  # Frobenius radius of [W, b]: 121 values, 1e-6 .. 1.1e12
LOSS_CAP_GRID = 2.0 ** (np.arange(-20, 61) / 2.0)  # truncation level M: 81 values
BOX_GRID = np.concatenate(
    [[-np.inf], -(2.0 ** (np.arange(40, -21, -1) / 2.0)), [0.0], 2.0 ** (np.arange(-20, 41) / 2.0), [np.inf]]
)


def _grid_up(grid: np.ndarray, value: float) -> float:
    """Smallest grid value >= value (the last one if none is)."""
    index = int(np.searchsorted(grid, value, side="left"))
    return float(grid[min(index, grid.size - 1)])


def _grid_down(grid: np.ndarray, value: float) -> float:
    index = int(np.searchsorted(grid, value, side="right")) - 1
    return float(grid[max(index, 0)])


# ---------------------------------------------------------------------------------------------
# Outputs -> the maths


def vs_parameters_of(outputs: Outputs, alpha=None, beta=None, logit_shift=None) -> tuple[np.ndarray, ...]:
    """(alpha, beta, Delta) of the VS loss a checkpoint was trained with (``outputs.loss_parameters``), each
    overridable; CE (1, 1, 0) where none was recorded. Raises ``InputError`` when the checkpoint's loss
    parameters could not be read and none are passed (never assume CE)."""
    recorded = outputs.loss_parameters
    if recorded is not None:
        missing = recorded.unknown_reason
        if missing and alpha is None and beta is None and logit_shift is None:
            # the checkpoint's loss could not be read (training.checkpoint_outputs): never assume CE
            raise InputError(
                f"the training loss's VS parameters are unknown: {missing}; pass alpha, beta and logit_shift"
            )
        alpha = recorded.alpha if alpha is None else alpha
        beta = recorded.beta if beta is None else beta
        logit_shift = recorded.logit_shift if logit_shift is None else logit_shift
    return vs_parameters(outputs.num_classes, alpha, beta, logit_shift)


def vs_local_lipschitz_of(
    outputs: Outputs,
    reading: Reading = "corrected",
    alpha=None,
    beta=None,
    logit_shift=None,
    splits: EvaluationSplits | None = None,
) -> LocalLipschitz:
    """wang23, Lemma 4 (eq. 15) on a checkpoint's split: ``vs_local_lipschitz`` of its logits with the VS
    parameters of its training loss (``vs_parameters_of``, each overridable). B_y and A_y come from the
    chunked statistics of ``splits`` (None: computed afresh), never a copy of the whole logits. With
    ``splits`` and the checkpoint's own parameters, computed once per (split, reading) in the evaluation
    context (Lemma 3, Prop. 2, Lemma 4 and the per-class table ask for the same constants)."""
    if splits is not None and alpha is None and beta is None and logit_shift is None:
        return splits.computed(
            ("wang23.local_lipschitz", outputs.split, reading), lambda: _local_lipschitz(outputs, reading, splits)
        )
    return _local_lipschitz(outputs, reading, splits, alpha, beta, logit_shift)


def _local_lipschitz(
    outputs: Outputs, reading: Reading, splits: EvaluationSplits | None, alpha=None, beta=None, logit_shift=None
) -> LocalLipschitz:
    alpha, beta, logit_shift = vs_parameters_of(outputs, alpha, beta, logit_shift)
    lower, upper = _checked_extremes(outputs, splits)
    return LocalLipschitz(
        mu=vs_lipschitz_constants(lower, upper, alpha, beta, logit_shift, reading),
        lower=lower,
        upper=upper,
        beta_tilde=beta_tilde(vs_parameters(outputs.num_classes, alpha, beta, logit_shift)[1]),
        reading=reading,
    )


def _checked_extremes(outputs: Outputs, splits: EvaluationSplits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``checked_logit_extremes`` (every class present, C >= 2) from the chunked per-sample target and
    largest other logits (``statements.statistics.logit_extremes``): the same minima and maxima."""
    from ltbounds.statements.context import EvaluationSplits

    c = outputs.num_classes
    counts = np.bincount(outputs.labels, minlength=c)
    if np.any(counts < 1):
        missing = np.flatnonzero(counts < 1).tolist()[:10]
        raise InputError(f"labels must contain every class (B_y needs S_y non-empty); missing class(es) {missing}")
    if c < 2:
        raise InputError("logits need at least 2 classes")
    return logit_extremes(EvaluationSplits(train=outputs) if splits is None else splits, outputs)


def _feature_norms_squared(splits: EvaluationSplits, outputs: Outputs) -> np.ndarray:
    """||x_i||^2 of the features the head acts on (``_head_features``: the constant-1 column; unit rows for a
    cosine head), chunked."""

    if outputs.head_kind == "linear":  # ||(e, 1)||^2 = ||e||^2 + 1, from the split's one pass over the norms
        return embedding_squared_norms(splits, outputs) + 1.0

    def squared(e: np.ndarray, _y: np.ndarray) -> np.ndarray:
        features = _head_features(outputs, e)
        return np.einsum("ij,ij->i", features, features)

    return per_sample(splits, outputs, "wang23.feature_norms_squared", squared, source="embeddings")


def _head_features(outputs: Outputs, embeddings: np.ndarray) -> np.ndarray:
    """The features the head acts on, for some rows of ``outputs``' embeddings: unit rows for a cosine head,
    else the embeddings with a constant-1 column for the bias."""
    if outputs.head_kind == "cosine":
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        return embeddings / np.maximum(norms, 1e-300)
    return np.hstack([embeddings, np.ones((embeddings.shape[0], 1))])


def _head_radius(outputs: Outputs) -> float:
    """The head's Frobenius radius on those features: ||[W, b]||_F, or s sqrt(C) for a cosine head."""
    if outputs.head_kind == "cosine":
        return float(outputs.head_scale * math.sqrt(outputs.num_classes))
    return float(np.linalg.norm(np.hstack([outputs.head_weight, outputs.head_bias[:, None]])))


def _shared_head_radius(splits: EvaluationSplits, outputs: Outputs) -> float:
    """``_head_radius``, once per head in the evaluation context: the splits of one checkpoint share its head
    arrays' memory, and the linear head's norm needs a (C, d + 1) concatenation (133 MB at iNaturalist size).
    Keyed by where the arrays' data lie (address, shape, strides, dtype; ``Outputs`` may hold its own view of
    one buffer); the cached value holds the arrays, so that memory cannot be reused while it is cached."""

    def memory(array: np.ndarray) -> tuple:
        return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)

    weight, bias = outputs.head_weight, outputs.head_bias
    key = ("wang23.head_radius", outputs.head_kind, outputs.head_scale, memory(weight), memory(bias))
    _, _, radius = splits.computed(key, lambda: (weight, bias, _head_radius(outputs)))
    return radius


def _head_reproduces_logits(outputs: Outputs, splits: EvaluationSplits | None = None) -> bool:
    """np.allclose(head(E), logits, rtol=1e-4, atol=1e-4 max(1, max |logits|)), from the split's one pass over
    the head's logits (``statistics.head_pass``, shared with evaluate's head check)."""
    from ltbounds.statements.context import EvaluationSplits

    splits = EvaluationSplits(train=outputs) if splits is None else splits
    return head_pass(splits, outputs).agreement.reproduces


def _clip_box(logits: np.ndarray, labels: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Clamp target logits to >= lower and the others to <= upper (the projection onto Prop. 3's box)."""
    clipped = np.minimum(logits, upper)
    rows = np.arange(labels.size)
    clipped[rows, labels] = np.maximum(logits[rows, labels], lower)
    return clipped


@dataclass(frozen=True)
class _Setup:
    """Everything the certified evaluators share for one model on one split."""

    counts_train: np.ndarray  # per-class samples in the split (N_y of the bound)
    feature_norms_squared: np.ndarray  # (n,) ||x_i||^2 of the features the head acts on (``_head``)
    radius: float  # grid radius r_j >= ||[W, b]||_F
    loss_cap: float  # grid M_k >= the VS loss bound at the logit bound U (so >= every training loss)
    logit_bound: float  # U = r max_i ||[x_i, 1]|| over the split
    alpha: np.ndarray
    beta: np.ndarray
    shift: np.ndarray
    global_mu: np.ndarray  # alpha_y beta~_y: Lipschitz constant for every f
    per_class_vector_complexity: np.ndarray  # R^vec_{S_y}(F_r), closed form
    full_vector_complexity: float
    train_losses: np.ndarray  # truncated VS loss per sample of the split
    assumptions: tuple[Assumption, ...]


def _setup(splits: EvaluationSplits, role: str = "train") -> _Setup:
    """The shared setup on ``splits.train`` (role "train") or ``splits.heldout`` ("heldout"), computed once
    per ``EvaluationSplits``."""
    outputs = splits.train if role == "train" else splits.heldout
    return splits.computed(("wang23.setup", role), lambda: _compute_setup(outputs, splits, role == "train"))


def _vs_losses_and_gradient_norms(splits: EvaluationSplits, outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """Per sample of ``outputs``, the VS loss and its gradient norm with the checkpoint's parameters, from one
    chunked pass over the logits (``vs_loss_and_gradient_norm``: the training losses of the setup and Lemma 4's
    measured gradient norms share one softmax per chunk)."""
    alpha, beta, shift = vs_parameters_of(outputs)
    return per_sample(
        splits,
        outputs,
        "wang23.vs_loss_and_gradient_norm",
        lambda f, y: vs_loss_and_gradient_norm(f, y, alpha, beta, shift),
    )


def _vs_losses(
    splits: EvaluationSplits,
    outputs: Outputs,
    alpha: np.ndarray,
    beta: np.ndarray,
    shift: np.ndarray,
    box: tuple[float, float] | None = None,
) -> np.ndarray:
    """Per sample of ``outputs``, the VS loss with these parameters (of the logits clipped to ``box``, if
    given), one chunked pass cached per (split, box, parameters): the held-out setup's losses and the
    unclipped measured risks' losses are one pass when the held-out and measurement splits are one and the
    two parameter sets are equal (both are the checkpoint's). The parameters enter the cache key as a
    128-bit BLAKE2 digest of their float64 bytes (a short key, also the progress bar's label)."""
    digest = hashlib.blake2b(digest_size=16)
    for values in (alpha, beta, shift):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    parameters = digest.hexdigest()
    if box is None:
        return per_sample(
            splits, outputs, ("wang23.vs_loss", box, parameters), lambda f, y: vs_loss(f, y, alpha, beta, shift)
        )
    # A row inside the box is its own projection onto it (min(f, a) = f, max(f_y, b) = f_y), so its clipped loss
    # is its unclipped loss bit for bit (vs_loss treats each row on its own): recompute only the rows that
    # leave the box (few on a test split, since the box covers every training logit).
    unclipped = _vs_losses(splits, outputs, alpha, beta, shift)

    def outside_rows(f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether the row leaves the box, its clipped loss there and 0 elsewhere)."""
        rows = np.arange(y.size)
        above = f > box[1]
        above[rows, y] = False
        outside = above.any(axis=1) | (f[rows, y] < box[0])
        losses = np.zeros(y.size)
        if outside.any():
            losses[outside] = vs_loss(_clip_box(f[outside], y[outside], *box), y[outside], alpha, beta, shift)
        return outside, losses

    outside, clipped = per_sample(splits, outputs, ("wang23.vs_loss", box, parameters), outside_rows)
    return np.where(outside, clipped, unclipped)


def _compute_setup(train: Outputs, splits: EvaluationSplits | None = None, with_gradients: bool = False) -> _Setup:
    """``with_gradients``: take the losses from the pass that also computes the gradient norms (Lemma 4 asks
    for them on the training split), else compute the losses alone."""
    from ltbounds.statements.context import EvaluationSplits

    splits = EvaluationSplits(train=train) if splits is None else splits
    c = train.num_classes
    counts = np.bincount(train.labels, minlength=c)
    if np.any(counts < 1):
        missing = np.flatnonzero(counts < 1).tolist()[:10]
        raise InputError(f"the training split must contain every class (per-class bounds); missing {missing}")
    alpha, beta, shift = vs_parameters_of(train)
    norm = _shared_head_radius(splits, train)
    radius = _grid_up(RADIUS_GRID, norm)
    if with_gradients:
        losses = _vs_losses_and_gradient_norms(splits, train)[0]
    else:
        losses = _vs_losses(splits, train, alpha, beta, shift)
    squared_norms = _feature_norms_squared(splits, train)  # ||[x_i, 1]||^2, chunked (no (n, d + 1) copy)
    # |f(x)_k| <= ||[w_k, b_k]|| ||[x, 1]|| <= r max_i ||[x_i, 1]||: the logit bound U on the training points
    logit_bound = radius * float(np.sqrt(np.max(squared_norms)))
    worst = float(vs_loss_bound(logit_bound, alpha, beta, shift).max())
    loss_cap = _grid_up(LOSS_CAP_GRID, max(worst, float(losses.max())))
    # closed form per class, (r / N_y) sqrt(C sum_{i in S_y} ||x_i||^2), from one pass over the features
    squared = np.bincount(train.labels, weights=squared_norms, minlength=c)
    per_class = radius * np.sqrt(c * squared) / counts
    # linear_complexity_closed_form's (r/n) sqrt(C sum_i ||x_i||^2) from the per-sample squared norms
    full = float(radius * math.sqrt(c * float(np.sum(squared_norms))) / train.num_samples)
    # Read from the provenance the code that made the features recorded (Provenance
    # .features_independent_of_train; the coverage study sets it for its raw Gaussian inputs). Absent, the
    # features are a trained backbone's (this toolkit trains end to end), which fails the assumption.
    independent = train.provenance.features_independent_of_train
    assumptions = (
        Assumption(
            "frozen_features",
            "the certified forms bound a linear head fitted on fixed features that do not depend on the training "
            "sample (e.g. cRT on a backbone trained on other data, or raw inputs): the uniform bound is over heads "
            "only. A network trained end to end (backbone fitted on this sample) fails this and nothing is "
            "certified for it; the provenance flag features_independent_of_train records how the features were made",
            independent,
        ),
        Assumption(
            "linear_head",
            "the logits are the (linear or cosine) head applied to the embeddings",
            _head_reproduces_logits(train, splits),
        ),
        Assumption("radius_in_grid", "the head's norm is inside the radius grid", bool(norm <= RADIUS_GRID[-1])),
        # The sampling model (samples of class y iid from D_y given the labels) is the premise of every
        # probability-(1 - delta) statement, as for elm/concentration, not a property of these inputs: it is
        # stated in docs/certified_constants.md, not reported here as a checked assumption (nothing checks it).
    )
    return _Setup(
        counts_train=counts,
        feature_norms_squared=squared_norms,
        radius=radius,
        loss_cap=loss_cap,
        logit_bound=logit_bound,
        alpha=alpha,
        beta=beta,
        shift=shift,
        global_mu=alpha * beta_tilde(beta),
        per_class_vector_complexity=per_class,
        full_vector_complexity=full,
        train_losses=np.minimum(losses, loss_cap),
        assumptions=assumptions,
    )


def _measured_class_risks(
    splits: EvaluationSplits, setup: _Setup, box: tuple[float, float] | None = None
) -> np.ndarray:
    """Per-class risk of the truncated (and, with ``box``, box-clipped) VS loss on the measurement split."""
    test = splits.measurement_split()
    c = setup.counts_train.size
    if test is None:
        return np.full(c, np.nan)

    losses = np.minimum(_vs_losses(splits, test, setup.alpha, setup.beta, setup.shift, box), setup.loss_cap)
    return class_means(losses, test.labels, c)


def _train_class_risks(splits: EvaluationSplits, setup: _Setup) -> np.ndarray:
    return class_means(setup.train_losses, splits.train.labels, setup.counts_train.size)


def _class_risks(splits: EvaluationSplits) -> tuple[_Setup, np.ndarray, np.ndarray]:
    """The training setup, per-class training risks and per-class measured risks (truncated VS loss)."""
    setup = _setup(splits)
    return setup, _train_class_risks(splits, setup), _measured_class_risks(splits, setup)


def _grid_forms(delta: float) -> tuple[tuple[Form, float], ...]:
    """(form, delta used): the certified form pays for the radius and loss-cap grids ``_setup`` chose from."""
    return forms_and_deltas(delta, RADIUS_GRID.size, LOSS_CAP_GRID.size)


def _balanced_row(
    statement: str, form: Form, bound, delta_used: float, setup: _Setup, measured: np.ndarray, note: str, **extra
) -> BoundResult:
    """The class-balanced row of a training-split bound on the VS loss truncated at M (trivial at M): the
    bound's value and terms, M, ``extra`` terms and the delta used; measured = balanced measured risk."""
    return BoundResult(
        statement=statement,
        form=form,
        value=bound.value,
        measured=balanced(measured),
        trivial=setup.loss_cap,
        terms={**bound.terms, "loss_cap_M": setup.loss_cap, **extra, "delta_used": delta_used},
        assumptions=setup.assumptions,
        split="train",
        note=note,
    )


def _fixed_model_assumption(certifies: bool) -> Assumption:
    return Assumption("fixed_model", "mu_y computed on a split the model never trained on", certifies)


# ---------------------------------------------------------------------------------------------
# the declarations, in the order of the errata


@DECLARED.statement(
    id="wang23.prop1",
    source="003, Proposition 1 (eq. 7), Section 2.2",
    kind="bound",
    summary="union bound over class-wise Rademacher bounds (certified: a linear head on sample-independent features)",
    printed=(
        "For L in [0, M], w.p. >= 1 - delta, for all g in G: R_bal^L(f) <~ (1/C) sum_y (R^_y^L(f) + "
        "C^_{S_y}(G) + 3M sqrt(log(2C/delta) / (2 N_y)))."
    ),
    verdict="holds",
    explanation=(
        "Conditionally on the labels, S_y is an iid sample of size N_y from D_y. The Rademacher bound "
        "(Mohri et al. Thm 3.3) at level delta/C on each class and a union bound over the C classes give the "
        "printed form with the complexity multiplied by 2 (the '<~' hides exactly this factor; the 3M and "
        "log(2C/delta) constants are exact). The certified form (coefficient 2) is implemented; a simulation "
        "on Gaussian class-conditionals with a learned linear head checks its coverage."
    ),
)
def evaluate_prop1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    setup, risks, measured = _class_risks(splits)
    results = []
    for form, d in _grid_forms(delta):
        complexity = contracted_complexities(setup.global_mu, setup.per_class_vector_complexity, form)
        bound = union_bound(setup.counts_train, risks, complexity, setup.loss_cap, d, form)
        note = "balanced risk of the VS loss truncated at M"
        extra = {"logit_bound_U": setup.logit_bound, "radius": setup.radius}
        results.append(_balanced_row("wang23.prop1", form, bound, d, setup, measured, note, **extra))
        results += per_class_rows(
            statement="wang23.prop1",
            form=form,
            values=bound.per_class,
            measured=measured,
            terms={"empirical": risks, "complexity": complexity},
            assumptions=setup.assumptions,
            split="train",
        )
    return results


@DECLARED.statement(
    id="wang23.lemma2",
    source="003, Lemma 2 (eq. 11), Section 3.1, proof in App. B",
    kind="bound",
    summary="balanced risk <= (1/(C pi_C)) x imbalanced-risk bound (certified: a linear head on fixed features)",
    printed=(
        "For L in [0, M], w.p. >= 1 - delta, for all g in G: R_bal^L(f) <~ Phi(L, delta) + C^_S(G) / (C pi_C), "
        "Phi(L, delta) = (1/(C pi_C)) [R^^L(f) + 3M sqrt(log(2/delta) / (2N))]."
    ),
    verdict="holds",
    explanation=(
        "Since R_y >= 0 and pi_y >= pi_C, (1/C) R_y <= pi_y R_y / (C pi_C), so R_bal <= (sum_y pi_y R_y)/(C pi_C) "
        "with the empirical priors pi_y = N_y/N. Conditionally on the labels, sum_y pi_y R_y is the mean over N "
        "independent samples, and the Rademacher bound (valid for independent, non-identical samples) gives "
        "the printed form with 2 C^_S(G): the '<~' hides that factor 2. Certified form implemented with it."
    ),
)
def evaluate_lemma2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    setup = _setup(splits)
    measured = _measured_class_risks(splits, setup)
    empirical = float(setup.train_losses.mean())
    results = []
    for form, d in _grid_forms(delta):
        # one Lipschitz constant over all of S (vector contraction over the whole sample)
        factor = SQRT2 if form == "certified" else 1.0
        complexity = factor * float(setup.global_mu.max()) * setup.full_vector_complexity
        bound = lemma2_bound(setup.counts_train, empirical, complexity, setup.loss_cap, d, form)
        note = "balanced risk of the VS loss truncated at M"
        results.append(_balanced_row("wang23.lemma2", form, bound, d, setup, measured, note))
    return results


@DECLARED.statement(
    id="wang23.lemma3",
    source="003, Lemma 3 (eq. 13), Section 3.1, proof in App. C",
    kind="inequality",
    summary="data-dependent contraction of R_S(G)",
    printed=(
        "If L is local Lipschitz with constants mu_y (Def. 2), then under Asm. 1: "
        "C^_S(G) <~ C^_S(F) sum_y mu_y sqrt(pi_y)."
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "Splitting the Rademacher sum by class (sup of a sum <= sum of sups) and applying Maurer's vector "
        "contraction on each S_y gives the certified C^_S(G) <= sum_y pi_y sqrt(2) mu_y R^vec_{S_y}(F), where "
        "R^vec is the vector Rademacher complexity of F (one sign per sample and output). The printed form "
        "follows only under Asm. 1 read as R^vec_{S_y}(F) <= K / sqrt(N_y) and C^_S(F) >= K' / sqrt(N): the "
        "'<~' hides sqrt(2) K / K'. The contraction step needs the scalar complexity C^_S(F) of a vector-valued "
        "class to mean R^vec (the scalar Ledoux-Talagrand lemma does not apply to maps into R^C). The extra "
        "assumption: mu_y must be valid for every f, f' in F (Def. 2), not only for the learned f; "
        "Lemma 4's constants depend on f, so they can be used here only on a class fixed in advance (we "
        "stratify). The exact inequality is property-tested on finite classes by enumerating all signs."
    ),
)
def evaluate_lemma3(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    results = []
    for outputs, certifies in splits.fixed_model_samples():
        setup = _setup(splits, "heldout" if certifies else "train")
        assumptions = setup.assumptions + (_fixed_model_assumption(certifies),)
        priors = setup.counts_train / setup.counts_train.sum()
        row = row_factory(statement="wang23.lemma3", split=outputs.split, assumptions=assumptions)
        if certifies:
            local = vs_local_lipschitz_of(outputs, "corrected", splits=splits)
            value = data_dependent_contraction(setup.counts_train, local.mu, setup.per_class_vector_complexity)
            global_mu_version = data_dependent_contraction(
                setup.counts_train, setup.global_mu, setup.per_class_vector_complexity
            )
            results.append(
                row(
                    form="certified",
                    value=value,
                    terms={"global_mu_version": global_mu_version},
                    note="R_S(G) of the heads whose logits on S stay in the box of the corrected Lemma 4",
                )
            )
        printed = vs_local_lipschitz_of(outputs, "as_printed", splits=splits)
        value = data_dependent_contraction(
            setup.counts_train, printed.mu, full_complexity=setup.full_vector_complexity, form="as_printed"
        )
        results.append(
            row(form="as_printed", value=value, terms={"sum_mu_sqrt_pi": float(np.sum(printed.mu * np.sqrt(priors)))})
        )
    return results


@DECLARED.statement(
    id="wang23.thm1",
    source="003, Theorem 1 (eq. 14), Section 3.1",
    kind="bound",
    summary=(
        "data-dependent bound for imbalanced learning (certified: a linear head on features independent of the sample)"
    ),
    printed=(
        "For L in [0, M], w.p. >= 1 - delta, for all f in F: R_bal^L(f) <~ Phi(L, delta) + "
        "C^_S(F) / (C pi_C) sum_y mu_y sqrt(pi_y)."
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "Lemma 2 + Lemma 3. Certified: R_bal <= (1/(C pi_C)) [sum_y pi_y R^_y + 2 sum_y pi_y sqrt(2) mu_y "
        "R^vec_{S_y}(F) + 3M sqrt(ln(2/delta)/(2N))], valid when the mu_y are local Lipschitz constants for "
        "the whole class F on S_y (e.g. alpha_y beta~_y for the VS loss, or box constants chosen from a grid "
        "fixed in advance with delta split over it). The printed form additionally uses Asm. 1. Note that "
        "the empirical term is (1/C) sum_y (N_y/N_C) R^_y: head classes' training loss is multiplied by up to "
        "rho, so the bound is loose unless the training loss is near zero."
    ),
)
def evaluate_thm1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    setup, risks, measured = _class_risks(splits)
    results = []
    for form, d in _grid_forms(delta):
        bound = contraction_bound(
            setup.counts_train,
            risks,
            setup.global_mu,
            setup.per_class_vector_complexity,
            setup.loss_cap,
            d,
            form,
            full_complexity=setup.full_vector_complexity,
        )
        note = "mu_y = alpha_y beta~_y (valid for every f); balanced risk of the VS loss truncated at M"
        results.append(_balanced_row("wang23.thm1", form, bound, d, setup, measured, note))
    return results


# exported: code outside this module refers to Theorem 1 through this object, never by spelling the id
THEOREM1 = DECLARED["wang23.thm1"]


@DECLARED.statement(
    id="wang23.prop2",
    source="003, Proposition 2, Section 3.1, proof in App. D",
    kind="inequality",
    summary="Thm 1 sharper than the union bound when mu_y ~ N_y^-kappa, kappa > 1",
    printed=(
        "Assume mu_y proportional to N_y^{-kappa}, kappa > 0. Then, when kappa > 1, the data-dependent bound of "
        "Thm 1 is sharper than the union bound of Prop. 1."
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "Holds for the complexity terms only, with Asm. 1 holding with one constant for every sample size and "
        "the union bound using Lemma 1's global constant max_y mu_y: per class the ratio of the terms is "
        "(N_y/N_C)^{1 - kappa} (SymPy), so Thm 1's term is smaller iff kappa > 1 (equal at kappa = 1 or at "
        "balance), for every count vector (checked on sampled counts, rho up to 1000). Two caveats make the "
        "printed sentence false without these readings: (i) Prop. 1 may use each class's own mu_y (the "
        "per-class bound only needs Lipschitz continuity on S_y); then the ratio is N_y/N_C >= 1 and Thm 1 is "
        "never sharper; (ii) comparing the whole bounds, Thm 1's confidence and empirical terms carry "
        "1/(C pi_C): the stored counterexample (counts 1000/10, kappa = 2, zero training loss) has Thm 1 at "
        "6.48 vs the union bound at 0.77. Corrected statement: wang23.prop2_corrected."
    ),
    counterexample="wang23.prop2.json",
    corrected_by="wang23.prop2_corrected",
)
def evaluate_prop2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    results = []
    counts = splits.train.class_counts
    for outputs, certifies in splits.fixed_model_samples():
        mu = vs_local_lipschitz_of(outputs, "corrected", splits=splits).mu
        kappa = (
            -float(np.polyfit(np.log(counts), np.log(np.maximum(mu, 1e-300)), 1)[0]) if np.ptp(counts) > 0 else math.nan
        )
        terms = prop2_complexity_terms(counts, mu)
        assumptions = (
            Assumption("kappa_above_one", "mu_y ~ N_y^{-kappa} with fitted kappa > 1", bool(kappa > 1)),
            _fixed_model_assumption(certifies),
        )
        results.append(
            BoundResult(
                statement="wang23.prop2",
                form="shape" if certifies else "as_printed",
                value=terms["union_global"],
                measured=terms["contraction"],
                terms={**terms, "fitted_kappa": kappa},
                assumptions=assumptions,
                split=outputs.split,
                note="measured = Thm 1 complexity term, value = union-bound term with the global constant",
            )
        )
    return results


@DECLARED.statement(
    id="wang23.prop2_corrected",
    source="003, Proposition 2 (corrected here)",
    kind="inequality",
    summary="complexity terms: Thm 1 <= union (global mu) iff kappa >= 1; never below union (local mu)",
    printed=(
        "With mu_y = N_y^{-kappa} and Asm. 1 with one constant: Thm 1's complexity term <= that of the union "
        "bound with the global constant max_y mu_y for every count vector iff kappa >= 1 (strictly iff also "
        "imbalanced); it is >= that of the union bound with per-class mu_y for every kappa."
    ),
    verdict="holds",
    explanation=(
        "Term by term: contraction_y / union_global_y = (N_y/N_C)^{1-kappa} and contraction_y / union_local_y "
        "= N_y/N_C (SymPy, exact); summing over y gives both claims. Property-tested on sampled counts "
        "(one class with two samples, rho up to 1000, kappa in [0, 3])."
    ),
)
def evaluate_prop2_corrected(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    counts = splits.train.class_counts
    results = []
    for kappa in (0.5, 1.0, 2.0):
        check = prop2_corrected(counts, kappa)
        terms = {k: float(v) for k, v in check.items()}
        results.append(
            BoundResult(
                statement="wang23.prop2_corrected",
                form="corrected",
                value=check["union_global"],
                measured=check["contraction"],
                terms={**terms, "kappa": kappa},
                assumptions=(Assumption("kappa_at_least_one", "kappa >= 1", kappa >= 1),),
                split="train",
                note="mu_y = N_y^-kappa on the training counts; measured = Thm 1 term, value = union (global mu)",
            )
        )
    return results


def lemma4_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """wang23, Lemma 4 per class on the training split: mu_y (value, printed or corrected reading) against the
    largest gradient norm of the VS loss over S_y (measured)."""
    check_delta(delta)
    outputs = splits.train
    _, beta, _ = vs_parameters_of(outputs)
    gradients = _vs_losses_and_gradient_norms(splits, outputs)[1]
    largest = np.full(outputs.num_classes, -np.inf)
    np.maximum.at(largest, outputs.labels, gradients)
    reading = "corrected" if corrected else "as_printed"
    return per_class_rows(
        statement="wang23.lemma4_corrected" if corrected else "wang23.lemma4",
        form=reading,
        values=vs_local_lipschitz_of(outputs, reading, splits=splits).mu,
        measured=largest,
        terms={"beta_tilde": beta_tilde(beta)},
        split=outputs.split,
        note="measured = largest gradient norm of the VS loss over S_y",
    )


DECLARED.add_corrected_pair(
    lemma4_rows,
    printed=dict(
        id="wang23.lemma4",
        source="003, Lemma 4 (eq. 15), Section 3.2, proof in App. E",
        kind="inequality",
        summary="local Lipschitz constants of the VS loss (printed reading)",
        printed=(
            "If the score function is bounded, the VS loss is local Lipschitz with mu_y = alpha_y beta~_y "
            "[1 - softmax(beta_y B_y(f) + Delta_y)], beta~_y = sqrt(beta_y^2 + (sum_{y' != y} beta_y')^2), "
            "B_y(f) = min_{x in S_y} f(x)_y."
        ),
        verdict="false_as_printed",
        explanation=(
            "Read literally, softmax of a scalar is 1 and mu_y = 0. We read it as the y-th entry of "
            "softmax(beta * B(f) + Delta), the only reading that gives a number determined by f. The gradient "
            "bound ||grad_f L|| = alpha_y sqrt(beta_y^2 (1-p_y)^2 + sum_{k != y} beta_k^2 p_k^2) <= alpha_y beta~_y "
            "(1 - p_y) is right (SymPy, autograd), but 1 - p_y at x in S_y depends on the non-target logits "
            "f(x)_k, which B(f) does not control: in the stored counterexample (two classes, logits [[0, 1], "
            "[-1, 0]]) the gradient norm at the class-0 sample is 1.034 > printed mu_0 = 0.707. No constant "
            "determined by B(f) alone can work: with f(x)_y = B_y and other logits -> infinity the gradient norm "
            "tends to alpha_y sqrt(beta_y^2 + max_k beta_k^2). Also, mu_y depends on the learned f, whereas Def. 2 "
            "needs one constant for all f in F. Corrected statement: wang23.lemma4_corrected."
        ),
        counterexample="wang23.lemma4.json",
    ),
    corrected=dict(
        id="wang23.lemma4_corrected",
        source="003, Lemma 4 (corrected here)",
        kind="inequality",
        summary="local Lipschitz constants of the VS loss on the logit box [B_y, A_y]",
        printed=(
            "For beta > 0, alpha > 0 and any box b_y <= v_y, v_k <= a_y (k != y): |L(v, y) - L(v', y)| <= mu_y "
            "||v - v'|| with mu_y = alpha_y beta~_y (1 - q_y), q_y = e^{beta_y b_y + Delta_y} / (e^{beta_y b_y + "
            "Delta_y} + sum_{k != y} e^{beta_k a_y + Delta_k}); for a model, b_y = B_y(f), a_y = max_{x in S_y, "
            "k != y} f(x)_k."
        ),
        verdict="holds",
        explanation=(
            "p_y is increasing in v_y and decreasing in v_k when beta > 0, so on the box p_y >= q_y and the "
            "gradient norm is <= alpha_y beta~_y (1 - q_y); the box is convex, so the segment between two points "
            "stays in it and the mean-value theorem gives the Lipschitz bound. Property-tested: autograd and "
            "finite-difference gradient norms at sampled points of the box (ties, logits up to 1e4, rho up to "
            "1000) and at training logits never exceed mu_y."
        ),
    ),
)


@DECLARED.statement(
    id="wang23.prop3",
    source="003, Proposition 3 (eq. 16), Section 3.2",
    kind="bound",
    summary="data-dependent bound for the VS loss (certified: a linear head on features independent of the sample)",
    printed=(
        "W.p. >= 1 - delta, for all f in F: R_bal^L(f) <~ Phi(L_VS, delta) + C^_S(F)/(C pi_C) sum_y alpha_y "
        "beta~_y sqrt(pi_y) [1 - softmax(beta_y B_y(f) + Delta_y)]."
    ),
    verdict="holds_with_extra_assumption",
    explanation=(
        "Thm 1 with Lemma 4's constants inherits Lemma 4's error (the printed mu_y are not Lipschitz "
        "constants) and its dependence on the learned f (the bound is claimed for all f with an f-dependent "
        "complexity term), and the VS loss is unbounded unless the logits are. It holds with (a) the corrected "
        "box constants of wang23.lemma4_corrected, (b) the box (b, a), the head radius and the truncation "
        "level M drawn from grids fixed in advance with delta split over the grid, and (c) the loss replaced "
        "by the box-clipped VS loss truncated at M, which equals the VS loss on the training set and is <= it "
        "elsewhere. That certified form is implemented (ltbounds.bounds.wang23, 'wang23.prop3', certified)."
    ),
)
def evaluate_prop3(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    (_, certified_delta), (_, printed_delta) = forms_and_deltas(
        delta, RADIUS_GRID.size, LOSS_CAP_GRID.size, BOX_GRID.size, BOX_GRID.size
    )
    setup = _setup(splits)
    c = setup.counts_train.size
    lower, upper = _checked_extremes(splits.train, splits)
    b = _grid_down(BOX_GRID, float(lower.min()))
    a = _grid_up(BOX_GRID, float(upper.max()))
    risks = _train_class_risks(splits, setup)  # box holds on S: clipping is inactive there
    boxed = _measured_class_risks(splits, setup, box=(b, a))
    certified = vs_contraction_bound(
        setup.counts_train,
        risks,
        np.full(c, b),
        np.full(c, a),
        setup.per_class_vector_complexity,
        setup.loss_cap,
        certified_delta,
        setup.alpha,
        setup.beta,
        setup.shift,
        form="certified",
    )
    printed = vs_contraction_bound(
        setup.counts_train,
        risks,
        lower,
        upper,
        setup.per_class_vector_complexity,
        setup.loss_cap,
        printed_delta,
        setup.alpha,
        setup.beta,
        setup.shift,
        form="as_printed",
        full_complexity=setup.full_vector_complexity,
    )
    return [
        BoundResult(
            statement="wang23.prop3",
            form="certified",
            value=certified.value,
            measured=balanced(boxed),
            terms={**certified.terms, "box_lower": b, "box_upper": a, "delta_used": certified_delta},
            assumptions=setup.assumptions,
            split="train",
            note="balanced risk of the box-clipped VS loss truncated at M (<= the VS risk)",
        ),
        BoundResult(
            statement="wang23.prop3",
            form="as_printed",
            value=printed.value,
            measured=balanced(_measured_class_risks(splits, setup)),
            terms=dict(printed.terms),
            assumptions=setup.assumptions,
            split="train",
            note="mu_y from the printed Lemma 4 (not a valid Lipschitz constant in general)",
        ),
    ]


@DECLARED.statement(
    id="wang23.remark2",
    source="003, Remark 2, Section 3.2",
    kind="inequality",
    summary="B_y(f) - margin_y <= max_{x in S_y, j != y} f(x)_j",
    printed=(
        "B_y(f) - margin_y <= max_{x in S_y, j != y} f(x)_j, margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j)."
    ),
    verdict="holds",
    explanation=(
        "Let x* attain margin_y. Then B_y(f) <= f(x*)_y, so B_y(f) - margin_y <= max_{j != y} f(x*)_j <= "
        "max_{x in S_y, j != y} f(x)_j. Property-tested on sampled logits (ties, huge logits). The remark's "
        "further claims (both quantities increase as training improves) are informal and not tested."
    ),
)
def evaluate_remark2(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    # remark2_sides from the chunked statistics: left = B_y - margin_y, right = A_y
    lower, right = _checked_extremes(outputs, splits)
    left = lower - class_margins_chunked(splits, outputs)
    return per_class_rows(
        statement="wang23.remark2",
        form="as_printed",
        values=right,
        measured=left,
        split=outputs.split,
        note="B_y(f) - margin_y <= max_{x in S_y, j != y} f(x)_j",
    )


def _lemma1_class(outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """A finite class from a checkpoint: F = {0, f} on a few training samples and k <= 4 logit coordinates.

    k and the sample count keep n k <= 16 (exact enumeration); samples are the first ones with a label < k,
    L is cross-entropy on the k coordinates. Returns (hypothesis values (2, n, k), losses (2, n)).
    """
    k = min(outputs.num_classes, 4)
    rows = np.flatnonzero(outputs.labels < k)[: max(1, MAX_ENUMERATED_SIGNS // k)]
    logits = outputs.logits[rows][:, :k]
    labels = outputs.labels[rows]
    values = np.stack([np.zeros_like(logits), logits])
    losses = np.stack([vs_loss(v, labels) for v in values])
    return values, losses


def lemma1_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """wang23, Lemma 1 on a finite class built from the checkpoint: R_S(L o F) (measured) against mu R^vec_S(F)
    (printed) or sqrt(2) mu R^vec_S(F) (corrected, Maurer 2016)."""
    check_delta(delta)
    outputs = splits.train
    values, losses = _lemma1_class(outputs)
    if values.shape[1] == 0:
        raise InputError("wang23.lemma1 needs a training sample with label < 4")
    sides = contraction_lemma_sides(values, losses)
    form, value = ("corrected", sides["maurer_bound"]) if corrected else ("as_printed", sides["printed_bound"])
    return [
        BoundResult(
            statement="wang23.lemma1_corrected" if corrected else "wang23.lemma1",
            form=form,
            value=float(value),
            measured=sides["loss_class_complexity"],
            terms={**sides, "samples": float(values.shape[1]), "outputs": float(values.shape[2])},
            assumptions=(Assumption("lipschitz_on_class", "mu: the tight Lipschitz constant of L on the class", True),),
            split=outputs.split,
            note="F = {0, f} on the first training samples and <= 4 logit coordinates, L = CE; exact Rademacher "
            "averages over all signs: R_S(L o F) (measured) <= "
            + ("sqrt(2) mu R^vec_S(F) (Maurer 2016)" if corrected else "mu R^vec_S(F) (printed)"),
        )
    ]


DECLARED.add_corrected_pair(
    lemma1_rows,
    printed=dict(
        id="wang23.lemma1",
        source="003, Lemma 1 (Contraction Lemma, eq. 9), Section 2.2",
        kind="inequality",
        summary="contraction lemma as printed: C^_S(G) <= mu C^_S(F) for a mu-Lipschitz loss of a vector-valued class",
        printed="If L(f, x) is Lipschitz continuous with constant mu (Def. 1), then C^_S(G) <= mu C^_S(F).",
        verdict="false_as_printed",
        explanation=(
            "F maps into R^C, so C^_S(F) must be read for a vector-valued class; with the vector Rademacher "
            "complexity (one sign per sample and output, the reading Lemma 3's proof needs) the stored "
            "counterexample has N = 1, C = 2, F = {(0,0), (1,1)}, L = ||.||_2 (1-Lipschitz): C^_S(G) = 0.7071 > "
            "mu C^_S(F) = 0.5 (exact, all signs enumerated). Reading C^_S(F) with one sign per sample on sum_k f_k "
            "fails too: F = {(0,0), (1,-1)} has C^_S(F) = 0 and C^_S(G) = 0.7071. The scalar Ledoux-Talagrand "
            "lemma the paper cites ([20]) is for maps into R; Maurer (2016, Cor. 1) proves the vector version "
            "with a factor sqrt(2), which the counterexample attains. For C = 1 (scalar scores) the printed form is "
            "Talagrand's contraction lemma and holds (tested). The as-printed Prop. 1 / Lemma 3 forms that "
            "rest on this constant inherit the missing sqrt(2) (our certified forms use Maurer's). "
            "Corrected statement: wang23.lemma1_corrected."
        ),
        counterexample="wang23.lemma1.json",
    ),
    corrected=dict(
        id="wang23.lemma1_corrected",
        source="003, Lemma 1 (corrected: Maurer 2016, Cor. 1)",
        kind="inequality",
        summary="R_S(G) <= sqrt(2) mu R^vec_S(F), R^vec with one sign per sample and output",
        printed=(
            "If |L(f(x_i), y_i) - L(f'(x_i), y_i)| <= mu ||f(x_i) - f'(x_i)|| for all f, f' in F and all i, then "
            "R_S(G) <= sqrt(2) mu R^vec_S(F), R^vec_S(F) = E_xi sup_f (1/N) sum_i sum_k xi_ik f(x_i)_k."
        ),
        verdict="holds",
        explanation=(
            "Maurer, 'A vector-contraction inequality for Rademacher complexities' (ALT 2016), Corollary 1; a "
            "function Lipschitz on the values of the class extends to R^C with the same constant (McShane), so "
            "Lipschitz continuity on the class suffices. Property-tested on random finite classes (up to 3 "
            "functions, 16 sign coordinates) with the exact Rademacher averages and the tight Lipschitz constant, "
            "for the Euclidean norm, cross-entropy and the VS loss; the constant sqrt(2) is attained."
        ),
    ),
)


@DECLARED.statement(
    id="wang23.vs_family",
    source="003, Section 2.1 (the special cases of eq. 3 and the Fisher family, eq. 4)",
    kind="identity",
    summary="the VS loss recovers CE, the balanced, CB, LA and CDT losses, and contains the Fisher family (4)",
    printed=(
        "VS with alpha = beta = 1, Delta = 0 is CE; beta = 1, Delta = 0 with alpha_y = 1/pi_y or (1-p)/(1-p^{N_y}) "
        "are the balanced and CB losses; alpha = beta = 1, Delta_y = tau log pi_y is the LA loss; "
        "alpha_1 = 1, beta_y = (N_y/N_1)^gamma, Delta = 0 is CDT; L_Fisher (4) is a subset of the VS family."
    ),
    verdict="holds",
    explanation=(
        "Each special case is an identity of the formula (3) (checked to 1e-12 on sampled logits and on "
        "checkpoints). 'alpha_1 = 1' for CDT is a typo for alpha_y = 1 (all classes). L_Fisher = alpha_y "
        "CE(f + log delta, y) with alpha_y = delta_y / pi_y, i.e. the VS loss with beta = 1 and Delta_y = log "
        "delta_y; it is a subset because beta = 1 and alpha and Delta are tied by one delta."
    ),
)
def evaluate_vs_family(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = symbolic_rows(splits, splits.train)  # a pointwise identity: at most SYMBOLIC_ROWS rows
    counts = outputs.class_counts
    pi = outputs.priors
    fisher_delta = np.sqrt(pi)  # any positive delta; sqrt(pi) sits between balanced (1) and LA (pi)
    parameters = {member: vs_family_parameters(counts, member) for member in VS_FAMILY_MEMBERS}  # once, not per chunk

    def gaps_per_sample(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per sample, |VS - reference| / max(1, |reference|) for each member, then eq. (4) (row by row)."""
        rows = np.arange(y.size)
        log_probabilities = log_softmax(z)
        references = {
            "ce": -log_probabilities[rows, y],
            "balanced": -log_probabilities[rows, y] / pi[y],
            "class_balanced": -log_probabilities[rows, y] * parameters["class_balanced"][0][y],
            "logit_adjusted": -log_softmax(z + np.log(pi))[rows, y],
            "cdt": -log_softmax(z * parameters["cdt"][1])[rows, y],
        }
        gaps = []
        for member in VS_FAMILY_MEMBERS:
            vs = vs_loss(z, y, *parameters[member])
            gaps.append(relative_gaps(references[member], vs))
        fisher = fisher_loss(z, y, pi, fisher_delta)
        vs = vs_loss(z, y, fisher_delta / pi, 1.0, np.log(fisher_delta))
        return (*gaps, relative_gaps(fisher, vs))

    *member_gaps, fisher_gaps = per_sample(splits, outputs, "wang23.vs_family", gaps_per_sample)
    notes = [
        f"identity: VS loss with the {member} parameters vs the {member} loss written directly"
        for member in VS_FAMILY_MEMBERS
    ]
    notes.append(
        "identity: eq. (4) with delta = sqrt(pi) vs the VS loss (alpha = delta/pi, beta = 1, Delta = log delta)"
    )
    results = []
    for gaps, note in zip((*member_gaps, fisher_gaps), notes, strict=True):
        gap = float(np.max(gaps))
        results.append(
            identity_row(
                statement="wang23.vs_family",
                gap=gap,
                tolerance=1e-9,
                terms={"max_relative_gap": gap},
                split=outputs.split,
                note=note,
            )
        )
    return results


@DECLARED.statement(
    id="wang23.sqrt_prior_sum",
    source="003, Section 3.1, after eq. (14): 'sum_y sqrt(pi_y) > 1'",
    kind="inequality",
    summary="sum_y sqrt(pi_y) > 1 (at least two non-empty classes), and <= sqrt(C)",
    printed="Eq. (14) seems loose since sum_{y=1}^C sqrt(pi_y) > 1.",
    verdict="holds",
    explanation=(
        "sqrt(pi) >= pi on [0, 1] with equality only at 0 and 1, so sum sqrt(pi_y) >= sum pi_y = 1, strictly as "
        "soon as two classes have samples; by Cauchy-Schwarz the sum is <= sqrt(C), with equality at balance. "
        "Property-tested on sampled counts (imbalance up to 1000)."
    ),
)
def evaluate_sqrt_prior_sum(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    total = float(np.sqrt(outputs.priors).sum())
    several = int(np.count_nonzero(outputs.class_counts)) >= 2
    return [
        BoundResult(
            statement="wang23.sqrt_prior_sum",
            form="as_printed",
            value=total,
            measured=1.0,
            terms={"sum_sqrt_priors": total, "sqrt_num_classes": math.sqrt(outputs.num_classes)},
            assumptions=(
                Assumption("two_classes", "at least two classes have samples (else the sum is exactly 1)", several),
            ),
            split=outputs.split,
            note="1 (measured) < sum_y sqrt(pi_y) (value) <= sqrt(C), Sec. 3.1 after eq. (14)",
        )
    ]


@DECLARED.statement(
    id="wang23.adrw_fisher",
    source="003, Section 3.3: ADRW 'alpha_y ~ pi_y^-nu ... also follows the Fisher consistency property [13]'",
    kind="identity",
    summary="alpha_y ~ pi_y^-nu with beta = 1 is in the Fisher family (4) iff Delta_y = (1 - nu) log pi_y + const",
    printed="Setting alpha_y proportional to pi_y^{-nu}, nu > 0, follows the Fisher consistency property of [13].",
    verdict="holds_with_extra_assumption",
    explanation=(
        "The VS loss with beta = 1 is in the Fisher family (4) iff alpha_y = c delta_y / pi_y and Delta_y = log "
        "delta_y + c' for one delta > 0; with alpha_y = pi_y^{-nu} that forces delta_y ~ pi_y^{1-nu} and "
        "Delta_y = (1 - nu) log pi_y + const. So ADRW is Fisher consistent with that additive adjustment "
        "(the VS+TLA+ADRW line 7 leaves Delta_y free), but CE+ADRW (Delta = 0) only for nu = 1. A test "
        "minimises the conditional risk of CE+ADRW with nu = 0.5 and finds an eta where its argmax is not "
        "the balanced Bayes class, and checks that Delta = (1 - nu) log pi restores consistency. Corrected "
        "statement: the same id's 'corrected' rows (membership test of the Fisher family)."
    ),
)
def evaluate_adrw_fisher(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    pi = outputs.priors
    results = []
    for nu in (0.5, 1.0, 2.0):
        alpha = pi**-nu
        # the printed reading (CE + ADRW) and the one Fisher-consistent adjustment, as two forms of one id
        readings = (
            ("as_printed", "Delta = 0 (CE + ADRW)", np.zeros_like(pi)),
            ("corrected", "Delta = (1 - nu) log pi", (1 - nu) * np.log(pi)),
        )
        for form, reading, shift in readings:
            mismatch = fisher_family_mismatch(pi, alpha, shift)
            results.append(
                identity_row(
                    statement="wang23.adrw_fisher",
                    form=form,
                    gap=mismatch,
                    tolerance=1e-9 * max(1.0, float(np.abs(np.log(pi)).max())),
                    terms={"nu": nu, "fisher_family_mismatch": mismatch},
                    split=outputs.split,
                    note=f"alpha_y = pi_y^-nu, beta = 1, {reading}: distance from the Fisher family (4) (0 = a member, "
                    "Fisher consistent); on these class counts",
                )
            )
    return results


def in4a_rows(splits: EvaluationSplits, delta: float, *, corrected: bool) -> list[BoundResult]:
    """wang23, insight (In4-a) on the checkpoint's beta and on CDT's: as printed, the pairs where the more
    frequent class has the smaller beta~ (claimed: none); corrected, the gap of the identity for beta~^2."""
    check_delta(delta)
    outputs = splits.train
    _, own_beta, _ = vs_parameters_of(outputs)
    cdt_beta = vs_family_parameters(outputs.class_counts, "cdt")[1]
    results = []
    for name, beta in (("checkpoint", own_beta), ("cdt_gamma_0.5", cdt_beta)):
        if corrected:
            gap = beta_tilde_order_identity_gap(beta)  # the maximum of beta_tilde_order_identity(beta)
            scale = float(np.max(beta_tilde(beta) ** 2))
            results.append(
                identity_row(
                    statement="wang23.in4a_corrected",
                    form="corrected",
                    gap=gap,
                    tolerance=1e-12 * max(1.0, scale),
                    terms={"max_identity_gap": gap},
                    split=outputs.split,
                    note=f"beta = {name}: beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum beta)",
                )
            )
        else:
            discordant = beta_tilde_discordant_pairs(outputs.priors, beta)
            results.append(
                violations_row(
                    statement="wang23.in4a",
                    count=discordant,
                    terms={"discordant_pairs": float(discordant)},
                    split=outputs.split,
                    note=f"beta = {name}: pairs where the more frequent class (beta at least as large) has the "
                    "smaller beta~; (In4-a) says there are none",
                )
            )
    return results


DECLARED.add_corrected_pair(
    in4a_rows,
    printed=dict(
        id="wang23.in4a",
        source="003, Section 3.2, insight (In4-a)",
        kind="inequality",
        summary="beta_y increasing in pi_y makes beta~_y increasing in pi_y (so beta~ weakens alpha_y), as printed",
        printed=(
            "The re-weighting term alpha_y is decreasing w.r.t. pi_y, whereas the multiplicative logit-adjustment "
            "term beta_y is increasing w.r.t. pi_y. As a result, beta~_y will weaken the effect of alpha_y."
        ),
        verdict="false_as_printed",
        explanation=(
            "beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum_j beta_j) (SymPy). For C >= 3 and "
            "positive beta, beta_y + beta_k < sum_j beta_j, so a larger beta_y gives a smaller beta~_y: beta~ "
            "decreases with pi_y, like alpha_y, and reinforces it instead of weakening it. For C = 2 beta~ is the "
            "same for both classes. Stored counterexample: CDT's beta = (N_y/N_1)^0.5 with counts (100, 10, 1) "
            "gives beta~ = (1.083, 1.145, 1.320). Any conflict between alpha and beta must come from the factor "
            "1 - softmax(beta_y B_y(f) + Delta_y) of Lemma 4, not from beta~. Corrected statement: "
            "wang23.in4a_corrected."
        ),
        counterexample="wang23.in4a.json",
    ),
    corrected=dict(
        id="wang23.in4a_corrected",
        source="003, Section 3.2, insight (In4-a) (corrected here)",
        kind="identity",
        summary=(
            "beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum beta): for C >= 3 a larger beta_y "
            "gives a smaller beta~_y; for C = 2 beta~ is the same for both classes"
        ),
        printed=(
            "beta~_y^2 - beta~_k^2 = 2 (beta_y - beta_k)(beta_y + beta_k - sum_j beta_j); for C >= 3 and beta > 0, "
            "beta_y > beta_k implies beta~_y < beta~_k; for C = 2, beta~_1 = beta~_2."
        ),
        verdict="holds",
        explanation=(
            "Expand beta~_y^2 = beta_y^2 + (S - beta_y)^2 with S = sum_j beta_j and factor the difference (SymPy "
            "check); the sign follows from beta_y + beta_k < S when a third class has beta > 0. Property-tested on "
            "sampled positive beta (C = 2..8, ties included)."
        ),
    ),
)


@DECLARED.statement(
    id="wang23.remark1",
    source="003, Remark 1 (after Lemma 2)",
    kind="inequality",
    summary="1/(C pi_C) >= 1, with equality iff balanced: Lemma 2's factor grows with the imbalance",
    printed=(
        "Recall that pi_C := N_C/N, N_1 >= ... >= N_C. Hence, this lemma reveals how the model performance "
        "depends on the imbalance degree of the data."
    ),
    verdict="holds",
    explanation=(
        "The mathematical content: Lemma 2's factor 1/(C pi_C) is >= 1 with equality iff the classes are "
        "balanced (C pi_C <= sum_y pi_y = 1 since pi_y >= pi_C), and it grows with the imbalance (it is "
        "rho-like: for two classes it is (1 + rho)/2 with rho = N_1/N_2). Property-tested on sampled counts. "
        "That the model's performance depends on it is the informal reading."
    ),
)
def evaluate_remark1(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    counts = outputs.class_counts
    excess = imbalance_factor_excess(counts)
    return [
        BoundResult(
            statement="wang23.remark1",
            form="as_printed",
            value=excess,
            measured=0.0,
            terms={"imbalance_ratio": float(counts.max() / counts.min()), "one_over_C_pi_C": excess + 1.0},
            split=outputs.split,
            note="0 (measured) <= 1/(C pi_C) - 1 (value), 0 iff the class counts are balanced",
        )
    ]


@DECLARED.statement(
    id="wang23.in3",
    source="003, Section 3.2, insight (In3)",
    kind="inequality",
    summary="the cited re-weighting terms decrease and the cited logit adjustments increase with pi_y",
    printed=(
        "For re-weighting losses, alpha_y should decrease as pi_y increases, consistent with alpha_y = pi_y^{-1} "
        "and alpha_y = (1-p)/(1-p^{N_y}); both beta_y and Delta_y should increase as pi_y increases, consistent "
        "with LDAM (Delta_y ~ -N_y^{-1/4}), LA (Delta_y = tau log pi_y) and CDT (beta_y = (N_y/N_1)^gamma)."
    ),
    verdict="holds",
    explanation=(
        "The 'should' is a design reading of Prop. 3; the checkable part is that each cited choice moves with "
        "pi_y as stated: 1/pi_y and the class-balanced weight 1/E_{N_y} decrease (E_n increases in n, "
        "tutorial.effective_number), -N_y^{-1/4}, tau log pi_y (tau > 0) and (N_y/N_1)^gamma (gamma > 0) "
        "increase. Property-tested on sampled counts with ties (equal counts give equal values)."
    ),
)
def evaluate_in3(splits: EvaluationSplits, delta: float) -> list[BoundResult]:
    check_delta(delta)
    outputs = splits.train
    violations = in3_monotonicity_violations(outputs.class_counts)
    return [
        violations_row(
            statement="wang23.in3",
            count=count,
            terms={"violating_pairs": float(count)},
            split=outputs.split,
            note=f"{name}: class pairs where it moves against (In3)'s direction in pi_y (measured) <= 0",
        )
        for name, count in violations.items()
    ]
