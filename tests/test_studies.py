"""studies/: the resumable runner, the sharpness study (numeric + SymPy) and the coverage study."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltbounds.checks import InputError
from ltbounds.cli import main
from studies import sharpness
from studies.runner import STUDY_MODULES, Run, load_study, run_study, settings_fingerprint

TINY_SHARPNESS = dataclasses.replace(
    sharpness.QUICK,
    rhos=(1.0, 10.0, 100.0),
    kappas=(0.5, 1.0, 2.0),
    classes=(2, 10),
    random_count_vectors=3,
    checkpoint_globs=(),
)


def test_sharpness_end_to_end_writes_tidy_csv_summary_and_manifest(tmp_path):
    result = run_study(sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False)
    directory = tmp_path / "sharpness"
    table = pd.read_csv(directory / "sharpness.csv")
    assert {"run", "part", "quantity", "value", "kappa", "rho", "classes", "profile"} <= set(table.columns)
    assert set(table["part"]) == {"symbolic", "sampled", "random"}
    summary = pd.read_csv(directory / "sharpness_summary.csv")
    assert {"part", "kappa", "ratio_min", "ratio_max", "sharper_fraction"} <= set(summary.columns)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["study"] == "sharpness" and manifest["complete"] is True
    assert manifest["runs_planned"] == result.runs_done == len(sharpness.runs(TINY_SHARPNESS))
    assert manifest["settings"]["kappas"] == [0.5, 1.0, 2.0]
    assert "versions" in manifest and manifest["wall_time_s"] >= 0


def test_second_run_reuses_every_finished_run(tmp_path):
    run_study(sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False)
    first = pd.read_csv(tmp_path / "sharpness" / "sharpness.csv")
    executed: list[str] = []
    again = run_study(
        sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False, on_run=lambda r: executed.append(r.key)
    )
    assert executed == [] and again.runs_done == 0
    assert again.runs_reused == len(sharpness.runs(TINY_SHARPNESS))
    pd.testing.assert_frame_equal(first, pd.read_csv(tmp_path / "sharpness" / "sharpness.csv"))


def test_interrupted_study_resumes_only_the_missing_runs(tmp_path):
    result = run_study(sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False)
    cache = tmp_path / "sharpness" / "runs" / settings_fingerprint(TINY_SHARPNESS, sharpness.VERSION)
    removed = sorted(cache.glob("*.csv"))[0]
    removed.unlink()
    executed: list[str] = []
    again = run_study(
        sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False, on_run=lambda r: executed.append(r.key)
    )
    assert executed == [removed.stem] and again.runs_done == 1
    assert len(again.table) == len(result.table)


def test_changed_settings_do_not_reuse_old_runs(tmp_path):
    run_study(sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False)
    other = dataclasses.replace(TINY_SHARPNESS, kappas=(0.5, 1.5))
    again = run_study(sharpness, settings=other, out=tmp_path, progress=False)
    assert again.runs_reused == 0
    table = pd.read_csv(tmp_path / "sharpness" / "sharpness.csv")
    assert set(table.loc[table["part"] == "sampled", "kappa"]) == {0.5, 1.5}


def test_every_registered_study_has_the_runner_interface():
    for name in STUDY_MODULES:
        module = load_study(name)
        assert module.NAME == name
        for attribute in ("QUESTION", "Settings", "QUICK", "FULL", "runs", "execute", "FIGURES"):
            assert hasattr(module, attribute), f"{name} lacks {attribute}"
        assert isinstance(module.QUICK, module.Settings) and isinstance(module.FULL, module.Settings)
        keys = [run.key for run in module.runs(module.QUICK)]
        assert len(keys) == len(set(keys)) > 0


def test_unknown_study_is_one_clear_error(capsys):
    with pytest.raises(InputError, match="valid studies"):
        load_study("no_such_study")
    assert main(["study", "no_such_study", "--quick"]) == 2
    assert "valid studies" in capsys.readouterr().err


def test_run_keys_must_be_file_safe():
    with pytest.raises(InputError):
        Run("a/b")


@settings(max_examples=60)
@given(
    counts=st.lists(st.integers(2, 100_000), min_size=2, max_size=30),
    kappa=st.floats(0.0, 4.0, allow_nan=False),
)
def test_contraction_term_is_below_union_term_iff_kappa_above_one(counts, kappa):
    """003, Prop. 2 under the global-Lipschitz reading: T_y / U_y = (N_y / N_C)^(1 - kappa) term by term."""
    counts = np.asarray(counts)
    mu = counts.astype(np.float64) ** (-kappa)
    terms = sharpness.shape_terms(counts, mu / mu.max())
    ratio = terms["contraction"] / terms["union"]
    rho = counts.max() / counts.min()
    if rho == 1 or kappa == 1:
        assert ratio == pytest.approx(1.0, rel=1e-9)
    elif kappa > 1:
        assert ratio <= 1.0 + 1e-12
    else:
        assert ratio >= 1.0 - 1e-12
    # With the per-class mu_y in the union bound too, the contraction term is never smaller.
    assert terms["contraction"] >= terms["union_local_mu"] * (1 - 1e-12)


def test_sympy_ratio_is_the_closed_form_and_needs_kappa_above_one():
    import sympy as sp

    two_class, step, condition = sharpness.symbolic_ratio()
    rho, kappa = sp.symbols("rho kappa", positive=True)
    for expression in (two_class, step):
        free = {s.name: s for s in expression.free_symbols}
        value = expression.subs({free["rho"]: 100, free["kappa"]: 2})
        assert float(value) == pytest.approx((1 + 100**-1.5) / (1 + 100**-0.5))
        assert set(free) == {"rho", "kappa"}
    assert "1 < kappa" in condition


def test_symbolic_closed_form_matches_numeric_terms_on_the_grid(tmp_path):
    result = run_study(sharpness, settings=TINY_SHARPNESS, out=tmp_path, progress=False)
    closed = result.table[result.table["quantity"] == "ratio_closed_form"]
    assert len(closed) == len(TINY_SHARPNESS.rhos) * len(TINY_SHARPNESS.kappas)
    # The step counts are integers, so the realised ratio can differ from rho by flooring only.
    exact = closed[closed["observed_rho"] == closed["rho"]]
    np.testing.assert_allclose(exact["value"], exact["numeric"], rtol=1e-9)


def test_coverage_heldout_bounds_fail_at_most_delta_often(tmp_path):
    from studies import coverage

    tiny = dataclasses.replace(
        coverage.QUICK, populations=coverage.QUICK.populations[:1], replicates=40, block=20, library_statements=False
    )
    assert tiny.populations[0].classes == 2
    result = run_study(coverage, settings=tiny, out=tmp_path, progress=False)
    assert result.failed_runs == {}
    table = pd.read_csv(tmp_path / "coverage" / "coverage.csv")
    assert {"replicate", "statement", "form", "class", "value", "measured", "holds", "valid"} <= set(table.columns)
    # Exact population risk (two classes): no Monte-Carlo error in the truth.
    assert set(table["risk_method"]) == {"exact"}
    summary = pd.read_csv(tmp_path / "coverage" / "coverage_summary.csv")
    assert {"violation_fraction", "ci_low", "ci_high", "verdict", "runs"} <= set(summary.columns)
    certified = summary[summary["form"] == "certified"]
    assert len(certified) == 6 and (certified["runs"] == 40).all()
    assert (certified["verdict"] == "consistent").all()
    assert (certified["ci_low"] <= certified["violation_fraction"]).all()
    assert (certified["violation_fraction"] <= certified["ci_high"]).all()


def test_coverage_heavy_tailed_population_keeps_every_certified_row_at_level(tmp_path):
    """Issue 11: the heavy-tailed population (points x100 with probability 0.002) of the quick study.
    The printed ELM radius rule failed on such tails (tests/test_bounds_elm_radius.py: 109/200 draws);
    the clipped-model rule must not, and neither may any other certified row."""
    from studies import coverage

    setting = coverage.QUICK.populations[-1]
    assert setting.far_probability > 0
    tiny = dataclasses.replace(
        coverage.QUICK,
        populations=(setting,),
        replicates=20,
        block=20,
        fresh_per_class=2000,
        population_samples_per_class=5000,
    )
    result = run_study(coverage, settings=tiny, out=tmp_path, progress=False)
    assert result.failed_runs == {}
    table = pd.read_csv(tmp_path / "coverage" / "coverage.csv")
    assert "error" not in set(table["form"])
    elm = table[(table["statement"] == "elm.prop2_multiclass") & (table["form"] == "certified")]
    assert len(elm) == 3 * 20 and elm["valid"].all() and elm["holds"].all()
    summary = pd.read_csv(tmp_path / "coverage" / "coverage_summary.csv")
    guaranteed = summary[summary["form"].isin(coverage.GUARANTEED_FORMS) & (summary["runs"] > 0)]
    assert len(guaranteed) and (guaranteed["verdict"] == "consistent").all()
    # the tail is there and often missed by a training split: R is then small and clipping is active
    from training.data import gaussian

    means = gaussian.gaussian_means(2, 2, setting.separation, setting.means_seed)
    population = coverage.HeavyTailPopulation(gaussian.GaussianPopulation(means, 1.0), setting.far_probability, 100.0)
    norms = [float(population.sample(np.array([300, 30]), generator=seed).x.norm(dim=1).max()) for seed in range(20)]
    assert 0 < sum(norm > 50 for norm in norms) < 20


def test_clopper_pearson_interval_of_the_summary_is_exact():
    from scipy.stats import binom

    from studies.coverage import clopper_pearson_interval

    low, high = clopper_pearson_interval(3, 100)
    assert binom.sf(2, 100, low) == pytest.approx(0.025, rel=1e-6)
    assert binom.cdf(3, 100, high) == pytest.approx(0.025, rel=1e-6)
    assert clopper_pearson_interval(0, 50)[0] == 0.0 and clopper_pearson_interval(50, 50)[1] == 1.0


def test_logit_adjusted_linear_head_nears_the_balanced_bayes_risk():
    from studies.coverage import fit_linear_head
    from training.data.gaussian import GaussianPopulation, gaussian_means
    from training.data.longtail import long_tail_counts

    population = GaussianPopulation(gaussian_means(2, 2, 3.0, 0), 1.0)
    counts = long_tail_counts(2000, 2, 20.0)
    train = population.sample(counts, generator=5)
    weight, bias = fit_linear_head(train.x.numpy(), train.y.numpy(), counts, "la", 200, 1e-3, 0)
    plain_weight, plain_bias = fit_linear_head(train.x.numpy(), train.y.numpy(), counts, "ce", 200, 1e-3, 0)
    bayes = population.bayes_risk().balanced
    assert population.risk(weight, bias).balanced <= bayes + 0.02
    # Plain CE on long-tailed data is worse on the balanced error than the logit-adjusted head.
    assert population.risk(plain_weight, plain_bias).balanced > population.risk(weight, bias).balanced


def test_methods_table_adds_cifar_when_the_data_root_holds_it(tmp_path):
    from studies import methods_table

    settings = dataclasses.replace(methods_table.QUICK, methods=("ce", "vs_tla_adrw"))
    assert {r.params["dataset"] for r in methods_table.runs(settings)} == {"mnist5k"}
    (tmp_path / "cifar-10-batches-py").mkdir()
    planned = methods_table.runs(settings, str(tmp_path))
    cifar = [r for r in planned if r.params["dataset"] == "cifar10"]
    assert len(cifar) == 2 and all(r.params["imbalance"] == 100.0 for r in cifar)


def test_methods_table_prints_the_papers_numbers_beside_ours():
    from studies import methods_table

    table = pd.DataFrame(
        {
            "run": ["a", "b"],
            "dataset": ["mnist5k", "mnist5k"],
            "imbalance": [100.0, 100.0],
            "method": ["ce", "vs_tla_adrw"],
            "seed": [0, 0],
            "quantity": ["test_balanced_accuracy", "test_balanced_accuracy"],
            "value": [0.7, 0.8],
        }
    )
    summary = methods_table.summarize(table, methods_table.QUICK)["methods_summary"].set_index("method")
    assert summary.loc["ce", "all_mean"] == pytest.approx(70.0)
    assert (
        summary.loc["ce", "paper_cifar10_lt100"] == 71.5 and summary.loc["vs_tla_adrw", "paper_cifar10_lt100"] == 81.1
    )
    assert summary.loc["ce", "paper_readme_cifar10_lt100"] == 71.25
