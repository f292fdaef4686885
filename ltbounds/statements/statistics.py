"""Per-split statistics computed in row chunks, once per checkpoint, in the evaluation context (issue 15).

Every statement that reads logits or embeddings sample by sample goes through here instead of the full
arrays, so that an evaluation's memory is O(chunk x C + C x d) plus O(n) per-sample vectors, whatever
the number of samples, and memory-mapped float32 outputs (``ltbounds.outputs_store``) are converted to
float64 one chunk at a time.

Two kinds of quantity:

- ``per_sample(splits, outputs, key, fn)``: a per-sample value v_i = fn(logits[rows], labels[rows])
  (or of the embeddings), for any ``fn`` that treats each row on its own (a loss, a gradient norm, the
  target logit, the largest other logit). Row-separable, so the chunked result is the in-memory one
  entry for entry, whatever the chunk size. Per-class sums, sums of squares, minima and maxima of v
  are then O(n) reductions (``ltbounds.per_class``).
- ``class_moments(splits, outputs)``: n_y, the centroids mu_y (from the class sums) and
  tr Ĉ_y = (1/n_y) sum_{x in S_y} ||Phi(x) - mu_y||^2 (divisor n_y, elm App. C.1), two passes over the
  chunks (sums, then centred squares: the same two-pass formula as ``per_class.class_scatter``).

Everything is keyed by (name, split name) in ``EvaluationSplits.computed``: computed once per split.
The chunk size is ``EvaluationSplits.chunk_size`` (rows; ``ltbounds evaluate --chunk-size``), else
``default_chunk_rows``: about 2^20 entries of the widest (chunk, C) or (chunk, d) float64 block (8 MB).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ltbounds.checks import InputError, check_chunk_size
from ltbounds.outputs import HeadAgreement, head_agreement
from ltbounds.outputs_layout import release_mapped_arrays
from ltbounds.outputs_store import release_mapped_pages
from ltbounds.per_class import class_maximum, class_minimum, class_sizes

if TYPE_CHECKING:
    from ltbounds.outputs import Outputs
    from ltbounds.statements.context import EvaluationSplits

DEFAULT_CHUNK_ELEMENTS = 1 << 20


def default_chunk_rows(outputs: Outputs) -> int:
    """Rows per chunk so that a (rows, max(C, d)) float64 block holds about 2^20 entries (8 MB), >= 16."""
    width = max(outputs.num_classes, outputs.embeddings.shape[1], 1)
    return max(16, DEFAULT_CHUNK_ELEMENTS // width)


def chunk_rows(splits: EvaluationSplits, outputs: Outputs) -> int:
    """The chunk size in force: ``splits.chunk_size`` when set (>= 1), else ``default_chunk_rows``."""
    size = check_chunk_size(getattr(splits, "chunk_size", None))
    return default_chunk_rows(outputs) if size is None else size


def row_chunks(num_rows: int, rows: int) -> Iterator[slice]:
    """Consecutive slices of at most ``rows`` rows covering 0..num_rows."""
    for start in range(0, num_rows, rows):
        yield slice(start, min(start + rows, num_rows))


def _progress(splits: EvaluationSplits, total: int, label: str):
    """The chunk progress bar of this evaluation (``EvaluationSplits.progress``), or a silent one."""
    factory = getattr(splits, "progress", None)
    if factory is None:
        return None
    return factory(total, label)


def chunks(splits: EvaluationSplits, outputs: Outputs, label: str) -> Iterator[slice]:
    """Row slices of ``outputs`` in chunks of ``chunk_rows``, with the chunk progress bar; the mapped pages
    read are released after each chunk (``outputs_store.release_mapped_pages``)."""
    rows = chunk_rows(splits, outputs)
    total = -(-outputs.num_samples // rows)
    bar = _progress(splits, total, f"{outputs.split}: {label}")
    try:
        for chunk in row_chunks(outputs.num_samples, rows):
            yield chunk
            release_mapped_pages(outputs)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def logits_chunk(outputs: Outputs, rows: slice) -> np.ndarray:
    """float64 logits of ``rows`` (a copy only for float32 storage or a memory map)."""
    return np.asarray(outputs.logits[rows], dtype=np.float64)


def embeddings_chunk(outputs: Outputs, rows: slice) -> np.ndarray:
    """float64 embeddings of ``rows``."""
    return np.asarray(outputs.embeddings[rows], dtype=np.float64)


def per_sample(
    splits: EvaluationSplits,
    outputs: Outputs,
    key: Any,
    fn: Callable[[np.ndarray, np.ndarray], Any],
    *,
    source: str = "logits",
) -> Any:
    """v = fn(block, labels[rows]) over row chunks, concatenated: one array (n,) or a tuple of them.

    ``source`` is "logits" or "embeddings" (the float64 block ``fn`` receives). ``fn`` must treat each
    row independently (then the result does not depend on the chunk size). Cached under
    ``("statistics", key, outputs.split)``."""
    read = logits_chunk if source == "logits" else embeddings_chunk

    def compute() -> Any:
        parts = [fn(read(outputs, rows), outputs.labels[rows]) for rows in chunks(splits, outputs, str(key))]
        if parts and isinstance(parts[0], tuple):
            return tuple(np.concatenate([part[i] for part in parts]) for i in range(len(parts[0])))
        return np.concatenate(parts) if parts else np.zeros(0)

    return splits.computed(("statistics", key, outputs.split), compute)


# ------------------------------------------------------------------------------ per-sample quantities


@dataclass(frozen=True)
class LogitSummaries:
    """Per-sample values of one split from ONE pass over its logits (``_logit_summaries``)."""

    target: np.ndarray  # f(x_i)_{y_i}
    other_max: np.ndarray  # max_{j != y_i} f(x_i)_j
    cross_entropy: np.ndarray  # -log softmax(f(x_i))_{y_i}
    correct: np.ndarray  # 1.0 where argmax f(x_i) (first maximiser) = y_i
    # the training split only (elm Lemma 4): m, the one-vs-rest log-odds of f + log pi, and log(1 + e^{-m})
    adjusted_log_odds: np.ndarray | None = None
    adjusted_loss: np.ndarray | None = None


def _logit_summaries(splits: EvaluationSplits, outputs: Outputs) -> LogitSummaries:
    """``LogitSummaries`` of ``outputs``, from ONE pass over the logits: at iNaturalist-2018 size each pass
    reads and converts 14 GB of float32 logits, and these are asked for by different statements. Each is the
    function its accessor documents, so fusing the passes changes no value."""
    from ltbounds.bounds.elm import logit_adjusted_loss, one_vs_rest_log_odds
    from ltbounds.per_class import other_max_logits, target_logits

    # Lemma 4 reads the training split only: the other splits' passes (the test split's, for the per-class
    # accuracy) skip its (rows, C) exponentials. Every class has training samples (Outputs refuses a count of
    # 0), so log pi is finite.
    adjustment = np.log(outputs.priors) if outputs is getattr(splits, "train", None) else None

    def summaries(f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        correct = (np.argmax(f, axis=1) == y).astype(np.float64)
        common = (target_logits(f, y), other_max_logits(f, y), logit_adjusted_loss(f, y), correct)
        if adjustment is None:
            return common
        m = one_vs_rest_log_odds(f + adjustment, y, overwrite=True)  # f + adjustment is a scratch copy
        return (*common, m, np.logaddexp(0.0, -m))

    return LogitSummaries(*per_sample(splits, outputs, "logit_summaries", summaries))


def adjusted_log_odds(splits: EvaluationSplits) -> tuple[np.ndarray, np.ndarray]:
    """(m, log(1 + e^{-m})) per training sample, m = the one-vs-rest log-odds of the logit-adjusted logits
    f + log pi (``bounds.elm.one_vs_rest_log_odds``, elm Lemma 4; log(1 + e^{-m}) is the logit-adjusted loss),
    from the training split's one pass of ``_logit_summaries``."""
    summaries = _logit_summaries(splits, splits.train)
    return summaries.adjusted_log_odds, summaries.adjusted_loss


def target_and_other_max(splits: EvaluationSplits, outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """(f(x_i)_{y_i}, max_{j != y_i} f(x_i)_j) per sample (``per_class.target_logits`` / ``other_max_logits``)."""
    summaries = _logit_summaries(splits, outputs)
    return summaries.target, summaries.other_max


def embedding_squared_norms(splits: EvaluationSplits, outputs: Outputs) -> np.ndarray:
    """||Phi(x_i)||^2 per sample."""
    return per_sample(
        splits, outputs, "embedding_squared_norms", lambda e, _y: np.einsum("ij,ij->i", e, e), source="embeddings"
    )


def embedding_norms(splits: EvaluationSplits, outputs: Outputs) -> np.ndarray:
    """||Phi(x_i)|| per sample (from ``embedding_squared_norms``: no second pass)."""
    return splits.computed(
        ("statistics", "embedding_norms", outputs.split), lambda: np.sqrt(embedding_squared_norms(splits, outputs))
    )


def cross_entropy(splits: EvaluationSplits, outputs: Outputs) -> np.ndarray:
    """-log softmax(f(x_i))_{y_i} per sample (nats): ``bounds.elm.logit_adjusted_loss`` without adjustment."""
    return _logit_summaries(splits, outputs).cross_entropy


def predictions_correct(splits: EvaluationSplits, outputs: Outputs) -> np.ndarray:
    """1.0 where argmax f(x_i) (first maximiser) = y_i, else 0.0."""
    return _logit_summaries(splits, outputs).correct


# ------------------------------------------------------------------------------ per-class reductions


def logit_extremes(splits: EvaluationSplits, outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
    """(B_y(f), A_y(f)) of wang23, Lemma 4 / Remark 2 (``per_class.logit_extremes``), from the chunked
    per-sample target and largest other logits."""
    target, other = target_and_other_max(splits, outputs)
    c = outputs.num_classes
    return class_minimum(target, outputs.labels, c), class_maximum(other, outputs.labels, c)


def class_margins(splits: EvaluationSplits, outputs: Outputs) -> np.ndarray:
    """margin_y = min_{x in S_y} (f(x)_y - max_{j != y} f(x)_j) (``per_class.class_margins``)."""
    target, other = target_and_other_max(splits, outputs)
    return class_minimum(target - other, outputs.labels, outputs.num_classes)


@dataclass(frozen=True)
class ClassMoments:
    """Per-class first and second moments of one split's embeddings (float64)."""

    sizes: np.ndarray  # (C,) n_y
    centroids: np.ndarray  # (C, d) mu_y (NaN rows where S_y is empty)
    trace: np.ndarray  # (C,) tr Ĉ_y, divisor n_y (NaN where S_y is empty)
    # (n,) ||Phi(x_i) - mu_{y_i}||^2 per sample, whose class sums are n_y tr Ĉ_y (elm's centre loss reads them)
    squared_deviations: np.ndarray


def _add_class_sums(sums: np.ndarray, labels: np.ndarray, values: np.ndarray) -> None:
    """sums[y] += the rows of ``values`` labelled y, in place (sorted, then ``np.add.reduceat``: no (n, C)
    one-hot, and only the rows of ``sums`` of the labels present are touched: a fresh (C, d) array per chunk
    would be 133 MB to zero and add at iNaturalist-2018 size, for a chunk of 128 rows)."""
    if labels.size == 0:
        return
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sums[sorted_labels[starts]] += np.add.reduceat(values[order], starts, axis=0)


def class_moments(splits: EvaluationSplits, outputs: Outputs) -> ClassMoments:
    """n_y, mu_y and tr Ĉ_y of ``outputs``' embeddings in two chunked passes (the two-pass formula
    of ``per_class.class_scatter``: centre on mu_y, then square, so no large ||x||^2 cancels)."""

    def compute() -> ClassMoments:
        c, d = outputs.num_classes, outputs.embeddings.shape[1]
        sizes = class_sizes(outputs.labels, c)
        sums = np.zeros((c, d))
        for rows in chunks(splits, outputs, "class sums"):
            _add_class_sums(sums, outputs.labels[rows], embeddings_chunk(outputs, rows))
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids = np.divide(sums, sizes[:, None].astype(np.float64), out=sums)  # in place: one (C, d) array
        squared = np.zeros(c)
        deviations_squared = np.empty(outputs.num_samples)
        for rows in chunks(splits, outputs, "class scatter"):
            labels = outputs.labels[rows]
            deviations = embeddings_chunk(outputs, rows) - centroids[labels]
            deviations_squared[rows] = np.einsum("ij,ij->i", deviations, deviations)
            squared += np.bincount(labels, weights=deviations_squared[rows], minlength=c)
        with np.errstate(invalid="ignore", divide="ignore"):
            trace = np.where(sizes > 0, squared / np.maximum(sizes, 1), np.nan)
        return ClassMoments(sizes, centroids, trace, deviations_squared)

    return splits.computed(("statistics", "class_moments", outputs.split), compute)


class MappedRows:
    """Row access to (possibly memory-mapped, float32) embeddings as float64, optionally projected onto the
    ball of radius R (``bounds.elm_risk_bound.clip_embeddings``): ``rows[index]`` reads only those rows.

    For maths that gathers one class at a time (``bounds.elm.pull_terms``): memory is one class's block,
    never the whole (n, d) array."""

    def __init__(self, embeddings: np.ndarray, radius: float | None = None) -> None:
        self.embeddings = embeddings
        self.radius = radius
        self.shape = embeddings.shape
        self.ndim = 2

    def __getitem__(self, index: Any) -> np.ndarray:
        block = np.array(self.embeddings[index], dtype=np.float64)  # a copy, so the mapped pages can go
        # one class's rows are scattered over the file: unmap the pages read, else every class's pages stay
        # resident (0.95 GB of ImageNet-LT training embeddings, issue 15)
        release_mapped_arrays(self.embeddings)
        if self.radius is None:
            return block
        from ltbounds.bounds.elm_risk_bound import clip_embeddings

        return clip_embeddings(block, self.radius)


# ------------------------------------------------------------------------------ the head's own logits


@dataclass(frozen=True)
class HeadPass:
    """What one pass over a split's head logits H = head(E) gives (``head_pass``)."""

    agreement: HeadAgreement  # how the stored logits compare with H (the head checks of evaluate and wang23)
    # (n,) ell(y, H + log pi) of elm eq. (3), for a linear head with every prior > 0; else None
    la_loss: np.ndarray | None


def head_pass(splits: EvaluationSplits, outputs: Outputs) -> HeadPass:
    """One chunked pass computing H = E W^T + b (or the cosine head's) once per split, for everything that
    needs the head's own logits: the head check of ``evaluate`` (``outputs.check_head_consistency``'s rule),
    whether the head reproduces the logits to 1e-4 (wang23), and the per-sample logit-adjusted loss of H
    (elm's certified forms and Lemma 5, for the model clipped at R when nothing is clipped). At
    iNaturalist-2018 size each (n, C, d) product is about two minutes of float64 BLAS on 2 cores, so it is
    made once, not once per consumer."""
    from ltbounds.bounds.elm import logit_adjusted_loss

    def compute() -> HeadPass:
        adjustment = np.log(outputs.priors) if bool(np.all(outputs.class_counts > 0)) else None
        # None once the loss cannot be had (a cosine head, a class without training samples, an overflowed H)
        losses: list[np.ndarray] | None = [] if outputs.head_kind == "linear" and adjustment is not None else None

        def keep_loss(rows: slice, expected: np.ndarray) -> None:
            nonlocal losses
            if losses is not None:
                try:
                    losses.append(logit_adjusted_loss(expected, outputs.labels[rows], adjustment))
                except InputError:  # a non-finite H
                    losses = None

        agreement = head_agreement(outputs, chunks(splits, outputs, "head logits"), keep_loss)
        la_loss = None if losses is None else (np.concatenate(losses) if losses else np.zeros(0))
        return HeadPass(agreement, la_loss)

    return splits.computed(("statistics", "head_pass", outputs.split), compute)


# ------------------------------------------------------------------------------ rows for symbolic checks

# Rows a pointwise identity or symbolic statement is checked on (``symbolic_rows``): such a check holds or
# fails sample by sample, so every training row adds cost but no evidence once there are thousands of them.
SYMBOLIC_ROWS = 1 << 14


def symbolic_rows(splits: EvaluationSplits, outputs: Outputs) -> Outputs:
    """``outputs`` itself when it has at most ``SYMBOLIC_ROWS`` rows, else every k-th row (k = ceil(n /
    SYMBOLIC_ROWS), from row 0; a strided view, nothing copied) as an ``Outputs`` whose split is named
    ``"<split>[::k]"``, so rows computed on it say so. For statements whose value is a maximum of a pointwise
    gap (an identity checked numerically) or that need only some valid input (a gradient), never for a
    bound's empirical term or a measured risk, which need every row."""
    n = outputs.num_samples
    if n <= SYMBOLIC_ROWS:
        return outputs
    step = -(-n // SYMBOLIC_ROWS)

    def compute() -> Outputs:
        rows = slice(0, n, step)
        return dataclasses.replace(
            outputs,
            logits=outputs.logits[rows],
            embeddings=outputs.embeddings[rows],
            labels=outputs.labels[rows],
            split=f"{outputs.split}[::{step}]",
        )

    return splits.computed(("statistics", "symbolic_rows", outputs.split), compute)
