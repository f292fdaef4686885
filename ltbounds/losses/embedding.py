"""Losses and regularisers on embeddings Phi(x): the ELM pull regulariser (soft and hard) and the ELM
objective [elm], the DRO-LT class-centroid losses [drolt] and the form ELM quotes as (5), the center
loss and the spread-out regulariser [elm, App. D].

Pairwise work is chunked: the pull regulariser runs a custom autograd function whose forward AND
backward visit (chunk x chunk) blocks of one class at a time, so a class of 50,000 embeddings never
materialises an N x N matrix (memory O(chunk^2 + N d)). DRO-LT needs only sample-to-centroid
distances, O(K N) for the K classes of the batch, never sample-to-sample.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from ltbounds.checks import InputError, check_positive
from ltbounds.losses import weights as W
from ltbounds.losses.inputs import (
    as_counts,
    check_choice,
    check_class_vector,
    check_counts_match,
    check_embeddings,
    check_label_tensor,
    check_logits,
    reduce,
)
from ltbounds.losses.logit import margin_loss

DEFAULT_CHUNK = 2048


def _squared_distances(rows: torch.Tensor, rows_sq: torch.Tensor, cols: torch.Tensor, cols_sq: torch.Tensor):
    # ||a||^2 + ||b||^2 - 2 a.b, clamped at 0 against cancellation: an (r, c) block, never (n, n).
    return (rows_sq[:, None] + cols_sq[None, :] - 2.0 * rows @ cols.T).clamp_min(0.0)


def _self_mask(r0: int, r1: int, c0: int, c1: int, device) -> torch.Tensor | None:
    if r1 <= c0 or c1 <= r0:
        return None
    rows = torch.arange(r0, r1, device=device)[:, None]
    cols = torch.arange(c0, c1, device=device)[None, :]
    return rows == cols


def _pull_exponents(points, squares, alpha, r0: int, r1: int, c0: int, c1: int) -> torch.Tensor:
    """||e_i - e_j||^2 - alpha for rows r0:r1 x columns c0:c1, -inf on the diagonal i = j (in place, no grad)."""
    block = torch.addmm(squares[None, c0:c1], points[r0:r1], points[c0:c1].T, beta=1.0, alpha=-2.0)
    block.add_(squares[r0:r1, None]).clamp_min_(0.0).sub_(alpha)
    mask = _self_mask(r0, r1, c0, c1, points.device)
    if mask is not None:
        block.masked_fill_(mask, float("-inf"))
    return block


class _ClassPull(torch.autograd.Function):
    """Omega_pull of every member of ONE class, blockwise in forward and backward."""

    @staticmethod
    def forward(ctx, points: torch.Tensor, alpha: torch.Tensor, chunk: int) -> torch.Tensor:
        n = points.shape[0]
        squares = (points * points).sum(dim=1)
        out = torch.empty(n, dtype=points.dtype, device=points.device)
        for r0 in range(0, n, chunk):
            r1 = min(r0 + chunk, n)
            # log 1 = 0 is the "1 +" inside the log of Omega_pull.
            acc = torch.zeros(r1 - r0, dtype=points.dtype, device=points.device)
            for c0 in range(0, n, chunk):
                c1 = min(c0 + chunk, n)
                block = _pull_exponents(points, squares, alpha, r0, r1, c0, c1)
                acc = torch.logaddexp(acc, torch.logsumexp(block, dim=1))
            out[r0:r1] = acc
        ctx.chunk = chunk
        ctx.save_for_backward(points, alpha, out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        points, alpha, out = ctx.saved_tensors
        chunk = ctx.chunk
        n = points.shape[0]
        squares = (points * points).sum(dim=1)
        grad_points = torch.zeros_like(points)
        # dOmega_i/de_i = sum_j w_ij 2 (e_i - e_j), dOmega_i/de_j = -w_ij 2 (e_i - e_j),
        # w_ij = exp(||e_i - e_j||^2 - alpha - Omega_i): the softmax weights of the pairs.
        for r0 in range(0, n, chunk):
            r1 = min(r0 + chunk, n)
            rows = points[r0:r1]
            for c0 in range(0, n, chunk):
                c1 = min(c0 + chunk, n)
                cols = points[c0:c1]
                block = _pull_exponents(points, squares, alpha, r0, r1, c0, c1)
                weight = block.sub_(out[r0:r1, None]).exp_().mul_(grad_out[r0:r1, None])
                grad_points[r0:r1] += 2.0 * (weight.sum(dim=1)[:, None] * rows - weight @ cols)
                grad_points[c0:c1] += 2.0 * (weight.sum(dim=0)[:, None] * cols - weight.T @ rows)
        grad_alpha = None
        if ctx.needs_input_grad[1]:
            # sum_j w_ij = 1 - e^{-Omega_i}
            grad_alpha = -(grad_out * -torch.expm1(-out)).sum().reshape(alpha.shape)
        return grad_points, grad_alpha, None


def _pull_inputs(embeddings: Any, labels: Any, alpha: Any, chunk_size: int):
    embeddings = check_embeddings(embeddings)
    alpha_tensor = torch.as_tensor(alpha, dtype=embeddings.dtype, device=embeddings.device)
    if alpha_tensor.ndim != 1 or alpha_tensor.numel() < 1:
        raise InputError(f"alpha must be a per-class vector (C,), got shape {tuple(alpha_tensor.shape)}")
    if not bool(torch.isfinite(alpha_tensor).all()):
        raise InputError("alpha contains non-finite values")
    labels = check_label_tensor(labels, alpha_tensor.shape[0], embeddings.shape[0])
    if int(chunk_size) < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return embeddings, labels, alpha_tensor, int(chunk_size)


def elm_pull(
    embeddings: Any, labels: Any, alpha: Any, chunk_size: int = DEFAULT_CHUNK, reduction: str = "none"
) -> torch.Tensor:
    """ELM pull regulariser Omega_pull(x, y) = log[1 + sum_{x+ in S_y \\ {x}} exp(||Phi(x) - Phi(x+)||^2
    - alpha_y)] [elm Sec. 3.1, used in eq. (4)], per sample (n,), with S_y the samples of class y in
    ``embeddings`` (a batch or a full class). ``alpha`` (C,) are the pull margins (``weights.elm_alpha``).
    A sample alone in its class gets 0 (empty sum). Differentiable in embeddings and alpha; forward and
    backward both work in (chunk_size x chunk_size) blocks, memory O(chunk^2 + N d)."""
    embeddings, labels, alpha_tensor, chunk = _pull_inputs(embeddings, labels, alpha, chunk_size)
    # zeros that stay on the autograd graph, so a batch of lone samples still back-propagates (zero grads)
    pieces = 0.0 * (embeddings.sum(dim=1) + alpha_tensor[labels])
    order = torch.argsort(labels, stable=True)
    classes, sizes = torch.unique_consecutive(labels[order], return_counts=True)
    start = 0
    results, index_lists = [], []
    for cls, size in zip(classes.tolist(), sizes.tolist(), strict=True):
        members = order[start : start + size]
        start += size
        if size < 2:
            continue
        results.append(_ClassPull.apply(embeddings[members], alpha_tensor[cls], chunk))
        index_lists.append(members)
    if results:
        pieces = pieces.index_put((torch.cat(index_lists),), torch.cat(results))
    return reduce(pieces, reduction)


def elm_pull_hard(
    embeddings: Any, labels: Any, alpha: Any, chunk_size: int = DEFAULT_CHUNK, reduction: str = "none"
) -> torch.Tensor:
    """Hard pull Omega~_pull(x, y) = max_{x+ in S_y \\ {x}} [||Phi(x) - Phi(x+)||^2 - alpha_y]_+ [elm Sec.
    3.1], per sample; 0 for a sample alone in its class. The farthest partner is found blockwise without
    gradient, then the one distance is recomputed with gradient (memory O(chunk^2 + N d)).

    elm states Omega~_pull < Omega_pull. With |S_y| >= 2 this holds strictly in exact arithmetic:
    0 < Omega_pull - Omega~_pull <= log |S_y|; it is an equality (0 = 0) for a sample alone in its class,
    and in floating point the gap rounds to 0 once the largest exponent exceeds ~16 (float32) / ~34
    (float64) or falls below the underflow threshold."""
    embeddings, labels, alpha_tensor, chunk = _pull_inputs(embeddings, labels, alpha, chunk_size)
    n = embeddings.shape[0]
    partner = torch.arange(n, device=embeddings.device)
    with torch.no_grad():
        order = torch.argsort(labels, stable=True)
        classes, sizes = torch.unique_consecutive(labels[order], return_counts=True)
        start = 0
        for size in sizes.tolist():
            members = order[start : start + size]
            start += size
            if size < 2:
                continue
            points = embeddings[members]
            squares = (points * points).sum(dim=1)
            best = torch.full((size,), float("-inf"), dtype=points.dtype, device=points.device)
            best_index = torch.zeros(size, dtype=torch.long, device=points.device)
            for r0 in range(0, size, chunk):
                r1 = min(r0 + chunk, size)
                for c0 in range(0, size, chunk):
                    c1 = min(c0 + chunk, size)
                    block = _squared_distances(points[r0:r1], squares[r0:r1], points[c0:c1], squares[c0:c1])
                    mask = _self_mask(r0, r1, c0, c1, points.device)
                    if mask is not None:
                        block = block.masked_fill(mask, float("-inf"))
                    value, index = block.max(dim=1)
                    better = value > best[r0:r1]
                    best[r0:r1] = torch.where(better, value, best[r0:r1])
                    best_index[r0:r1] = torch.where(better, index + c0, best_index[r0:r1])
            partner[members] = members[best_index]
    alone = partner == torch.arange(n, device=embeddings.device)
    difference = embeddings - embeddings[partner]
    gap = (difference * difference).sum(dim=1) - alpha_tensor[labels]
    per_sample = torch.where(alone, torch.zeros_like(gap), gap.clamp_min(0.0))
    return reduce(per_sample, reduction)


def elm_loss(
    logits: Any,
    labels: Any,
    embeddings: Any,
    class_counts: Any,
    lambda_pull: float = 0.01,
    alpha: Any = None,
    tau: float = 1.0,
    hard: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    reduction: str = "mean",
) -> torch.Tensor:
    """ELM objective l_mar(y, f(x)) + lambda * Omega_pull(x, y) [elm eq. (4)], with the logit margins
    Delta_{yy'} = tau log(P(y')/P(y)) (the choice elm focuses on) and pull margins ``alpha`` (default
    ``weights.elm_alpha(class_counts)``, alpha_y = n_y; App. A.2). ``hard`` uses Omega~_pull."""
    logits = check_logits(logits)
    labels = check_label_tensor(labels, logits.shape[1], logits.shape[0])
    embeddings = check_embeddings(embeddings, rows=logits.shape[0])
    counts = as_counts(class_counts)
    check_counts_match(counts, logits.shape[1])
    lambda_pull = check_positive(lambda_pull, "lambda_pull", allow_zero=True)
    if alpha is None:
        alpha = W.elm_alpha(counts)
    alpha_tensor = check_class_vector(alpha, logits.shape[1], "alpha", embeddings)
    logit_part = margin_loss(logits, labels, W.logit_adjusted_margins(counts, tau), reduction="none")
    pull = (elm_pull_hard if hard else elm_pull)(embeddings, labels, alpha_tensor, chunk_size=chunk_size)
    return reduce(logit_part + lambda_pull * pull, reduction)


def class_centroids(embeddings: Any, labels: Any, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class means mu_c = (1/|S_c|) sum_{z in S_c} z (C, d) and counts |S_c| (C,) [drolt Sec. 5.1].
    Classes with no sample get a zero row and count 0."""
    embeddings = check_embeddings(embeddings)
    labels = check_label_tensor(labels, num_classes, embeddings.shape[0])
    sums = torch.zeros(num_classes, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
    sums = sums.index_add(0, labels, embeddings)
    counts = torch.bincount(labels, minlength=num_classes)
    return sums / counts.clamp_min(1)[:, None].to(embeddings.dtype), counts


DISTANCES = ("euclidean", "squared_euclidean")


def _centroid_distances(centers: torch.Tensor, embeddings: torch.Tensor, distance: str) -> torch.Tensor:
    squared = _squared_distances(centers, (centers * centers).sum(1), embeddings, (embeddings * embeddings).sum(1))
    if distance == "squared_euclidean":
        return squared
    # sqrt(x + tiny): finite gradient where a sample sits on its centroid (the clamp then zeroes it).
    return torch.sqrt(squared + torch.finfo(squared.dtype).tiny)


def dro_lt_loss(
    embeddings: Any,
    labels: Any,
    centroids: Any,
    radii: Any,
    distance: str = "euclidean",
    class_weight: Any = "balanced",
    temperature: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """DRO-LT robust loss [drolt eq. (18)]:
    L = -sum_c w(c) sum_{z in S_c} log[ e^{-d(mu_c, z) - 2 eps_c} / sum_{z' in Z} e^{-d(mu_c, z') - 2 eps_c
    delta(z', c)} ], delta(z', c) = 1 iff z' is of class c; Z = the given embeddings (a batch).
    Per sample: (d(mu_c, z) + 2 eps_c)/T + logsumexp_{z'}(-(d(mu_c, z') + 2 eps_c delta(z', c))/T), T =
    ``temperature`` (1 as printed; the reference code uses 0.07). ``centroids`` (C, d) are held fixed
    (detach them: drolt recomputes them once per epoch); ``radii`` eps (C,), may require grad (learned
    radii). ``distance`` euclidean (drolt's d) or squared_euclidean. ``class_weight``: "balanced"
    (w(c) = 1/|S_c|, S_c in the batch, drolt Sec. 5.2), "none", or a (C,) tensor. ``reduction``: "sum" is
    eq. (18) itself, "mean" divides it by sum_c w(c)|S_c| (a weighted mean), "none" gives the
    unweighted per-sample terms. Memory O(K N) (K = classes in the batch), never N x N.

    Note: d(L)/d eps_c = (2/T) sum_{z in S_c} w(c) P(other-class z' | mu_c) >= 0, so minimising (18)
    alone pushes learned radii down (drolt's code trains them by SGD with weight decay)."""
    embeddings = check_embeddings(embeddings)
    centers = check_embeddings(centroids, name="centroids")
    num_classes = centers.shape[0]
    if centers.shape[1] != embeddings.shape[1]:
        raise InputError(f"centroids have dimension {centers.shape[1]} but embeddings have {embeddings.shape[1]}")
    labels = check_label_tensor(labels, num_classes, embeddings.shape[0])
    eps = torch.as_tensor(radii, dtype=embeddings.dtype, device=embeddings.device)
    if eps.ndim == 0:
        eps = eps.expand(num_classes)
    if eps.shape != (num_classes,) or not bool(torch.isfinite(eps).all()):
        raise InputError(f"radii must be {num_classes} finite numbers (one per class), got shape {tuple(eps.shape)}")
    check_choice(distance, DISTANCES, "distance")
    temperature = check_positive(temperature, "temperature")
    present, inverse = torch.unique(labels, return_inverse=True)
    # (K, N): distance of every batch sample to the centroid of every class present in the batch.
    dist = _centroid_distances(centers[present], embeddings, distance)
    same = present[:, None] == labels[None, :]
    exponent = -(dist + 2.0 * eps[present][:, None] * same.to(dist.dtype)) / temperature
    log_normaliser = torch.logsumexp(exponent, dim=1)  # (K,)
    own = dist[inverse, torch.arange(labels.shape[0], device=labels.device)]
    per_sample = (own + 2.0 * eps[labels]) / temperature + log_normaliser[inverse]
    if reduction == "none":
        return per_sample
    if isinstance(class_weight, str):
        check_choice(class_weight, ("balanced", "none"), "class_weight")
        if class_weight == "balanced":
            batch_counts = torch.bincount(labels, minlength=num_classes).to(per_sample.dtype)
            sample_weight = 1.0 / batch_counts[labels]
        else:
            sample_weight = torch.ones_like(per_sample)
    else:
        sample_weight = check_class_vector(class_weight, num_classes, "class_weight", per_sample)[labels]
    total = (sample_weight * per_sample).sum()
    if reduction == "sum":
        return total
    reduce(per_sample, reduction)  # validates the name
    return total / sample_weight.sum()


def dro_lt_nll(
    embeddings: Any,
    labels: Any,
    centroids: Any,
    distance: str = "euclidean",
    class_weight: Any = "balanced",
    reduction: str = "mean",
) -> torch.Tensor:
    """Class-centroid NLL L_NLL = -sum_c w(c) sum_{z in S_c} log[e^{-d(mu_c, z)} / sum_{z'} e^{-d(mu_c, z')}]
    [drolt eqs. (6)-(8)]: ``dro_lt_loss`` with all radii 0."""
    centers = check_embeddings(centroids, name="centroids")
    zeros = torch.zeros(centers.shape[0], dtype=centers.dtype, device=centers.device)
    return dro_lt_loss(embeddings, labels, centers, zeros, distance, class_weight, 1.0, reduction)


def elm_dro_regulariser(
    embeddings: Any, labels: Any, centroids: Any, epsilon: Any, reduction: str = "none"
) -> torch.Tensor:
    """DRO-LT as ELM quotes it [elm eq. (5)]: Omega_dro(x, y) = log sum_{(x', y') in S}
    exp(-||Phi(x') - mu_y||^2 + ||Phi(x) - mu_y||^2 + eps_y 1(y' != y)), per sample. It equals drolt's
    (18) per-sample term with squared Euclidean d and eps^(18) = eps^(5) / 2 (tested)."""
    embeddings = check_embeddings(embeddings)
    centers = check_embeddings(centroids, name="centroids")
    labels = check_label_tensor(labels, centers.shape[0], embeddings.shape[0])
    eps = check_class_vector(epsilon, centers.shape[0], "epsilon", embeddings)
    # (n, n) only through the class-centroid trick: sum over x' depends on x only via mu_y and eps_y.
    dist = _centroid_distances(centers, embeddings, "squared_euclidean")  # (C, n)
    other = (torch.arange(centers.shape[0], device=labels.device)[:, None] != labels[None, :]).to(dist.dtype)
    log_sums = torch.logsumexp(-dist + eps[:, None] * other, dim=1)  # (C,)
    own = dist[labels, torch.arange(labels.shape[0], device=labels.device)]
    return reduce(own + log_sums[labels], reduction)


def center_loss(embeddings: Any, labels: Any, centers: Any = None, reduction: str = "mean") -> torch.Tensor:
    """Center loss Omega_center(x, y) = ||Phi(x) - mu_y||_2^2 [elm App. D; Wen et al. 2016], per sample.
    ``centers`` (C, d) (e.g. learned), or None for the batch class means (differentiable)."""
    embeddings = check_embeddings(embeddings)
    if centers is None:
        if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.numel() == 0:
            raise InputError("labels must be a non-empty 1-D tensor of class ids")
        num_classes = max(int(labels.max()) + 1, 1)
        labels = check_label_tensor(labels, num_classes, embeddings.shape[0])
        centers_tensor, _ = class_centroids(embeddings, labels, num_classes)
    else:
        centers_tensor = check_embeddings(centers, name="centers")
        if centers_tensor.shape[1] != embeddings.shape[1]:
            raise InputError(f"centers have dimension {centers_tensor.shape[1]}, embeddings {embeddings.shape[1]}")
        labels = check_label_tensor(labels, centers_tensor.shape[0], embeddings.shape[0])
    difference = embeddings - centers_tensor[labels]
    return reduce((difference * difference).sum(dim=1), reduction)


def spread_out_regulariser(
    embeddings: Any, labels: Any = None, pairs: str = "all", normalise: bool = True
) -> torch.Tensor:
    """Spread-out regulariser Omega_spread = M_1^2 + max(0, M_2 - 1/d) [elm App. D eqs. (7)-(9); Zhang et
    al. 2017], M_1 = mean_{x != x'} Phi(x)^T Phi(x'), M_2 = mean_{x != x'} (Phi(x)^T Phi(x'))^2, over
    ordered pairs; ``pairs`` "all" (as printed) or "different_class" (Zhang et al.'s non-matching pairs,
    needs labels). Embeddings are L2-normalised first when ``normalise`` (elm assumes normalised ones).
    Computed through sums and the (d, d) Gram matrix, never the (n, n) one. Returns a scalar."""
    embeddings = check_embeddings(embeddings)
    check_choice(pairs, ("all", "different_class"), "pairs")
    n, dim = embeddings.shape
    if n < 2:
        raise InputError("spread_out_regulariser needs at least 2 embeddings")
    phi = torch.nn.functional.normalize(embeddings, dim=1) if normalise else embeddings
    norms_sq = (phi * phi).sum(dim=1)

    def pair_sums(block: torch.Tensor, block_norms_sq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = block.sum(dim=0)
        first = total @ total - block_norms_sq.sum()
        gram = block.T @ block
        second = (gram * gram).sum() - (block_norms_sq * block_norms_sq).sum()
        return first, second

    first, second = pair_sums(phi, norms_sq)
    num_pairs = n * (n - 1)
    if pairs == "different_class":
        if labels is None:
            raise InputError("pairs='different_class' needs labels")
        labels = torch.as_tensor(labels)
        labels = check_label_tensor(labels, int(labels.max()) + 1, n)
        num_pairs = n * n
        for cls in torch.unique(labels).tolist():
            members = labels == cls
            size = int(members.sum())
            within_first, within_second = pair_sums(phi[members], norms_sq[members])
            first = first - within_first
            second = second - within_second
            num_pairs -= size * size
        if num_pairs == 0:
            raise InputError("pairs='different_class' needs embeddings of at least two classes")
    m1 = first / num_pairs
    m2 = second / num_pairs
    return m1 * m1 + torch.clamp(m2 - 1.0 / dim, min=0.0)
