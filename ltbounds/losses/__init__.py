"""Every loss of the seed papers as pure PyTorch functions, plus a registry of ``nn.Module`` losses.

Functions (tensors in, tensors out; caller's dtype and device; differentiable; stable for |logits| up
to 1e4 in float32 and float64 because everything goes through log_softmax / logsumexp / softplus):
``logits`` (n, C), ``labels`` (n,) int64, ``embeddings`` (n, d); ``reduction`` "mean" (plain batch mean
(1/m) sum_i, wang23 Algorithm 1 line 9 -- not PyTorch's weight-normalised mean), "sum" or "none"
(per-sample). Per-class parameters come from ``class_counts`` (1-D int training counts) via
``ltbounds.losses.weights``. Bad input raises ``ltbounds.checks.InputError`` (a ValueError) naming the
argument: non-positive counts, labels out of range, shape mismatch, NaN/inf logits or embeddings.

The package is split by family: ``weights`` (re-weighting vectors, margins, scales, offsets),
``logit`` (CE, focal, CB, l_mar, LDAM, LA, balanced softmax, VS/CDT/Fisher, post-hoc rules),
``embedding`` (ELM pull, DRO-LT, center, spread-out), ``etf`` (ETF classifier, dot regression),
``modules`` (the registry). Everything public is re-exported here.

Each name has one meaning across the library (issue 13): the torch VS loss is ``vector_scaling_loss``
(``ltbounds.bounds.vs_loss`` is the NumPy per-sample VS loss the bounds evaluate); ``vs_scales_and_offsets``
gives the (beta, Delta) of Kini et al.'s defaults from the counts (``ltbounds.bounds.vs_parameters`` validates
given (alpha, beta, Delta)); ``inputs.check_label_tensor`` checks torch labels (``ltbounds.checks.check_labels``
NumPy ones); ``effective_number`` and ``class_balanced_weights`` live in ``ltbounds.per_class``.

Contract with the training code (names are stable)
---------------------------------------------------
``REGISTRY[name](class_counts, **hparams)`` returns an ``nn.Module`` (a ``LossModule``):

- ``build_registered_loss(name, class_counts, **hparams)`` does the same but raises ``InputError`` listing the
  valid names / hyper-parameters when one is unknown (``REGISTRY[name](...)`` raises a plain ``TypeError``).
  (``training.methods.build_loss`` builds a *recipe*'s loss; this one builds a registered name.)
- ``module(logits, labels)`` -> scalar mean loss; if ``module.needs_embeddings`` (class attribute, True
  for ``elm``, ``dro_lt``, ``center``): ``module(logits, labels, embeddings)``.
- ``module.set_epoch(epoch)`` (0-based) applies schedules; a no-op where nothing is scheduled. Call it
  at the start of every epoch, before the first batch.
- Modules with parameters (``dro_lt`` radius="learned", ``center`` centers="learned") expose them via
  ``module.parameters()``: add them to the optimiser.
- ``dro_lt``: call ``module.update_centroids(train_embeddings, train_labels)`` once per epoch (drolt
  Sec. 6); without it the loss falls back to (detached) batch centroids.

Names and hyper-parameters (defaults in brackets):

====================  ======================================================================================
``ce``                cross-entropy; re-weighting schedule (below) [reweighting="none"]
``reweight``          cross-entropy with inverse-frequency weights [reweighting="inverse"]
``focal``             focal loss: gamma [2.0]; re-weighting schedule
``cb``                class-balanced loss: beta [0.9999], base softmax|sigmoid|focal ["softmax"], gamma [2.0]
``ldam``              LDAM: max_margin [0.5], scale [30.0]; re-weighting schedule (LDAM-DRW =
                      reweighting="drw"). Expects COSINE logits (a normalised linear head without its own
                      scale); the loss applies s = scale. A head that already multiplies by s is equivalent
                      to scale=1 with max_margin=0.5 * s (CE(s z - s m) is the same loss).
``la``                logit-adjusted CE: tau [1.0]; re-weighting schedule
``balanced_softmax``  balanced softmax (no hyper-parameters)
``cdt``               CDT: gamma [0.3]; tla_epoch [None]; re-weighting schedule
``vs``                VS (Kini et al.): gamma [0.3], tau [1.0]; tla_epoch [None]; re-weighting schedule
                      (VS+TLA+ADRW = reweighting="adrw", reweight_epoch=T0, tla_epoch=T0)
``fisher``            Fisher family: delta [None -> pi^delta_power], delta_power [1.0]
``equalization``      l_mar with Delta_yy' = P(y')
``margin``            l_mar with a given margins=(C, C) matrix (required)
``elm``               ELM: lambda_pull [0.01], alpha_exponent [1.0], alpha_scale [1.0], alpha_base
                      "count"|"prior" ["count"] (alpha_y = scale * b_y^a), tau [1.0], hard [False],
                      chunk_size [2048]
``dro_lt``            DRO-LT (19): epsilon [1.0], radius shared|inv_sqrt_n|learned ["learned"], distance
                      euclidean|squared_euclidean ["euclidean"], lambda_ce [0.5], temperature [1.0],
                      class_weight balanced|none ["balanced"], dro_start_epoch [0]
``center``            CE + lambda_center [0.01] * center loss; centers batch|learned ["batch"], embedding_dim
====================  ======================================================================================

Re-weighting schedule hyper-parameters (``ce``, ``reweight``, ``focal``, ``ldam``, ``la``, ``cdt``, ``vs``):
``reweighting`` none|inverse|cb|drw|adrw, ``reweight_epoch`` [160] (T0: DRW/ADRW weights from this epoch
on, 1 before), ``cb_beta`` [0.9999] (DRW and "cb" use class-balanced weights, as the LDAM-DRW code does),
``nu`` [0.5] (ADRW alpha_y proportional to pi_y^-nu). All weight vectors sum to C. VS-family
``tla_epoch``: from this epoch on beta = 1 (wang23 Algorithm 1 TLA; VS becomes LA).

Pure weight functions: ``class_balanced_weights(class_counts, beta)``, ``inverse_frequency_weights``,
``adrw_weights(class_counts, nu)``, ``reweighting_weights(...)`` (the schedule as a function of epoch).
"""

from __future__ import annotations

from ltbounds.losses.embedding import (
    DISTANCES,
    center_loss,
    class_centroids,
    dro_lt_loss,
    dro_lt_nll,
    elm_dro_regulariser,
    elm_loss,
    elm_pull,
    elm_pull_hard,
    spread_out_regulariser,
)
from ltbounds.losses.etf import dot_regression_loss, etf_classifier
from ltbounds.losses.logit import (
    CB_BASES,
    balanced_softmax_loss,
    cdt_loss,
    class_balanced_loss,
    cross_entropy,
    fisher_loss,
    focal_loss,
    ldam_loss,
    logit_adjusted_loss,
    margin_loss,
    posthoc_logit_adjusted_predict,
    threshold_moving_predict,
    vector_scaling_loss,
)
from ltbounds.losses.modules import REGISTRY, LossModule, build_registered_loss
from ltbounds.losses.weights import (
    RADIUS_MODES,
    REWEIGHTING,
    adrw_weights,
    cdt_scales,
    class_balanced_weights,
    dro_lt_radii,
    effective_number,
    elm_alpha,
    equalization_margins,
    fisher_parameters,
    inverse_frequency_weights,
    ldam_margins,
    logit_adjusted_margins,
    logit_adjustments,
    reweighting_weights,
    threshold_moving_costs,
    vs_scales_and_offsets,
)

__all__ = [
    "CB_BASES",
    "DISTANCES",
    "RADIUS_MODES",
    "REGISTRY",
    "REWEIGHTING",
    "LossModule",
    "adrw_weights",
    "balanced_softmax_loss",
    "build_registered_loss",
    "cdt_loss",
    "cdt_scales",
    "center_loss",
    "class_balanced_loss",
    "class_balanced_weights",
    "class_centroids",
    "cross_entropy",
    "dot_regression_loss",
    "dro_lt_loss",
    "dro_lt_nll",
    "dro_lt_radii",
    "effective_number",
    "elm_alpha",
    "elm_dro_regulariser",
    "elm_loss",
    "elm_pull",
    "elm_pull_hard",
    "equalization_margins",
    "etf_classifier",
    "fisher_loss",
    "fisher_parameters",
    "focal_loss",
    "inverse_frequency_weights",
    "ldam_loss",
    "ldam_margins",
    "logit_adjusted_loss",
    "logit_adjusted_margins",
    "logit_adjustments",
    "margin_loss",
    "posthoc_logit_adjusted_predict",
    "reweighting_weights",
    "spread_out_regulariser",
    "threshold_moving_costs",
    "threshold_moving_predict",
    "vector_scaling_loss",
    "vs_scales_and_offsets",
]
