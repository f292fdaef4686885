"""training.probabilistic and training.certify: folding, per-input sampling, KL, split, init, pbb (issue 12)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltbounds.bounds import pacbayes
from ltbounds.checks import InputError
from training.certify import CertifySettings, certificate_rows, init_model, stratified_split, train_pbb
from training.config import TrainConfig
from training.models import build_model
from training.probabilistic import fold_model, forward, kl_gaussians, unfold_into

SMALL_GAUSSIAN = {"classes": 3, "dim": 4, "pool_per_class": 60, "test_per_class": 20}


def _trained_like(spec: dict) -> torch.nn.Module:
    """A model whose BatchNorm statistics are not the identity (one train-mode pass)."""
    torch.manual_seed(1)
    model = build_model(spec)
    model.train()
    with torch.no_grad():
        model(torch.randn(64, *spec["input_shape"]) * 3 + 1)
    return model.eval()


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "mlp", "num_classes": 5, "input_shape": [1, 8, 8]},
        {"name": "cnn", "num_classes": 4, "input_shape": [1, 12, 12], "channels": [4, 6], "embedding_dim": 8},
        {"name": "mlp", "num_classes": 3, "input_shape": [6], "head": "normed", "scale": 30.0},
    ],
)
def test_folded_network_computes_the_model_and_unfolds_back(spec):
    model = _trained_like(spec)
    network, params = fold_model(model)
    x = torch.randn(17, *spec["input_shape"])
    torch.testing.assert_close(forward(network, params, x).float(), model(x), atol=1e-5, rtol=1e-5)
    rebuilt = unfold_into(build_model(spec), network, params).eval()
    torch.testing.assert_close(rebuilt(x), model(x), atol=1e-4, rtol=1e-4)


def test_resnets_are_refused_with_one_line():
    with pytest.raises(InputError, match="mlp.*cnn"):
        fold_model(build_model({"name": "resnet32", "num_classes": 10}))


def test_kl_matches_the_float64_maths():
    torch.manual_seed(0)
    mean_q = {"a": torch.randn(5, 3, dtype=torch.float64), "b": torch.randn(4, dtype=torch.float64)}
    std_q = {k: torch.rand_like(v) + 0.1 for k, v in mean_q.items()}
    mean_p = {k: torch.randn_like(v) for k, v in mean_q.items()}
    value = float(kl_gaussians(mean_q, std_q, mean_p, 0.7))
    flat = [np.concatenate([d[k].numpy().ravel() for k in mean_q]) for d in (mean_q, std_q, mean_p)]
    assert value == pytest.approx(pacbayes.kl_diag_gaussian(flat[0], flat[1], flat[2], 0.7), rel=1e-10)
    dist = torch.distributions
    reference = sum(
        dist.kl_divergence(dist.Normal(mean_q[k], std_q[k]), dist.Normal(mean_p[k], 0.7)).sum() for k in mean_q
    )
    assert value == pytest.approx(float(reference), rel=1e-9)


def test_per_input_draws_have_the_law_of_a_sampled_network():
    """Local reparametrisation is exact: logits of one input ~ those of explicitly sampled weights (2 layers)."""
    torch.manual_seed(0)
    spec = {"name": "mlp", "num_classes": 2, "input_shape": [3], "hidden": [4], "batch_norm": False}
    network, params = fold_model(build_model(spec).eval())
    std = {k: torch.full_like(v, 0.5) for k, v in params.items()}
    x = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    draws = 40000
    local = forward(network, params, x.expand(draws, 3), std, torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(2)
    sampled = {
        k: v + 0.5 * torch.randn((draws, *v.shape), generator=generator, dtype=v.dtype) for k, v in params.items()
    }
    h = torch.relu(torch.einsum("noi,i->no", sampled["w0"], x[0]) + sampled["b0"])
    explicit = torch.einsum("nco,no->nc", sampled["w1"], h) + sampled["b1"]
    # means and standard deviations agree to Monte-Carlo precision (~ 4 / sqrt(draws) relative)
    torch.testing.assert_close(local.mean(0), explicit.mean(0), atol=0.05, rtol=0.0)
    torch.testing.assert_close(local.std(0), explicit.std(0), atol=0.0, rtol=0.03)


@settings(max_examples=30)
@given(
    counts=st.lists(st.integers(2, 40), min_size=2, max_size=6),
    fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 100),
)
def test_stratified_split_keeps_every_class_on_both_sides(counts, fraction, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(labels)
    prior, bound = stratified_split(labels, len(counts), fraction, seed)
    assert np.intersect1d(prior, bound).size == 0
    assert np.array_equal(np.sort(np.concatenate([prior, bound])), np.arange(labels.size))
    assert np.all(np.bincount(labels[prior], minlength=len(counts)) >= 1)
    assert np.all(np.bincount(labels[bound], minlength=len(counts)) >= 1)


def test_split_refuses_a_class_of_one_sample_and_a_bad_fraction():
    with pytest.raises(InputError, match="class 1 has 1"):
        stratified_split(np.array([0, 0, 1]), 2, 0.5, 0)
    with pytest.raises(InputError, match="prior-fraction"):
        stratified_split(np.array([0, 0, 1, 1]), 2, 1.0, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"delta": 1.5}, "delta"),
        ({"delta_mc": 0.0}, "delta_mc"),
        ({"sigma_grid": (0.1, -1.0)}, "sigma"),
        ({"sigma_init": 0.0}, "sigma_init"),
        ({"objective": "best"}, "objective"),
    ],
)
def test_settings_refuse_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        CertifySettings(**kwargs)


def _config(tmp_seed: int = 0, **kwargs) -> TrainConfig:
    return TrainConfig(
        method=kwargs.pop("method", "ce"), dataset="gaussian", imbalance=4.0, seed=tmp_seed,
        dataset_options=dict(SMALL_GAUSSIAN), model_options={"hidden": [8]}, batch_size=16, progress=False,
        device="cpu", **kwargs,
    )  # fmt: skip


def test_init_model_rebuilds_the_recorded_initialisation_and_refuses_without_a_seed():
    from training.loop import train

    result = train(_config(epochs=1, lr=1e-30, weight_decay=0.0, momentum=0.0, warmup_epochs=0))
    checkpoint = result.checkpoint
    init = init_model(checkpoint).state_dict()
    trained = checkpoint["state"]["model"]
    for key, value in init.items():
        if "running" not in key and "num_batches" not in key:  # lr 1e-30: parameters stay the initialisation
            torch.testing.assert_close(value, trained[key], atol=1e-25, rtol=1e-6)
    broken = dict(checkpoint, method={**checkpoint["method"], "training": {}})
    with pytest.raises(InputError, match="no recorded initialisation"):
        init_model(broken)
    other = dict(checkpoint, versions={**checkpoint["versions"], "torch": "1.0"})
    with pytest.raises(InputError, match="not reproducible"):
        init_model(other)


def test_pbb_certificate_is_an_upper_bound_on_its_own_terms_and_uses_s_bound_only(tmp_path):
    settings_ = CertifySettings(steps=20, mc_passes=5, test_passes=2, batch_size=32)
    checkpoint, certificate = train_pbb(_config(method="pbb", epochs=2), str(tmp_path), settings_)
    pbb = checkpoint["pbb"]
    prior, bound = np.array(pbb["prior_indices"]), np.array(pbb["bound_indices"])
    assert np.intersect1d(prior, bound).size == 0 and int(certificate.class_counts.sum()) == bound.size
    assert (tmp_path / "last.pt").exists()
    for form, result in certificate.forms.items():
        assert result.value >= certificate.mc_upper.mean() - 1e-12 or form == "per_class"
        assert 0.0 <= result.value <= 1.0
        assert result.delta == settings_.delta
    assert np.all(certificate.mc_upper >= certificate.mc_estimate)
    rows = certificate_rows(certificate, "ck", "pbb")
    assert {r["form"] for r in rows if r["class"] == "balanced"} == set(certificate.forms)
    assert sum(r["class"] != "balanced" for r in rows) == certificate.class_counts.size
    assert dataclasses.is_dataclass(certificate)


def _train_cli(tmp_path, method: str, *extra: str):
    from ltbounds.cli import main

    out = tmp_path / method
    gaussian = ["--dataset", "gaussian", "--imbalance", "4", "--dataset-option", "classes=3", "--dataset-option",
                "dim=4", "--dataset-option", "pool_per_class=60", "--dataset-option", "test_per_class=20",
                "--model-option", "hidden=[8]", "--batch-size", "16", "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main(["train", "--method", method, *gaussian, "--epochs", "2", "--out", str(out), *extra]) == 0
    return out / "last.pt"


def test_certify_cli_writes_the_report_for_a_plain_and_a_pbb_checkpoint(tmp_path, capsys):
    import pandas as pd

    from ltbounds.cli import main
    from training.certify import CSV_COLUMNS

    plain, pbb = _train_cli(tmp_path, "ce"), _train_cli(tmp_path, "pbb")
    out = tmp_path / "report"
    code = main(["certify", str(plain), str(pbb), "--out", str(out), "--steps", "10", "--mc-passes", "3"])
    assert code == 0
    frame = pd.read_csv(out / "certificate.csv")
    assert tuple(frame.columns) == CSV_COLUMNS
    balanced = frame[frame["class"] == "balanced"]
    assert len(balanced) == 6 and set(balanced["method"]) == {"ce", "pbb"}
    assert ((balanced["certificate"] >= 0) & (balanced["certificate"] <= 1)).all()
    for name in ("report.md", "certificate.png", "certificate.pdf", "manifest.json"):
        assert (out / name).exists()
    import json

    splits = json.loads((out / "manifest.json").read_text())["splits"]
    assert not set(splits[str(pbb)]["prior_indices"]) & set(splits[str(pbb)]["bound_indices"])
    assert splits[str(plain)]["prior_indices"] == []  # data-free prior: the whole training set is S_bound
    assert "What limits each certificate" in (out / "report.md").read_text()
    # a second run replaces its own report; a folder with a user's file is refused, untouched
    assert main(["certify", str(plain), "--out", str(out), "--steps", "2", "--mc-passes", "1"]) == 0
    (out / "mine.txt").write_text("keep")
    assert main(["certify", str(plain), "--out", str(out), "--steps", "2", "--mc-passes", "1"]) == 2
    assert (out / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize(
    "extra, message",
    [(["--delta", "0"], "delta"), (["--delta-mc", "1.2"], "delta_mc"), (["--sigma-prior", "0.1,0"], "sigma")],
)
def test_certify_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, extra, message):
    from ltbounds.cli import main

    out = tmp_path / "never"
    assert main(["certify", str(tmp_path / "missing.pt"), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and not out.exists()


def test_certify_refuses_a_checkpoint_without_a_recorded_initialisation(tmp_path, capsys):
    from ltbounds.cli import main
    from training.checkpoints import load_checkpoint, save_checkpoint

    path = _train_cli(tmp_path, "ce")
    checkpoint = load_checkpoint(path)
    checkpoint["method"]["training"] = {}
    save_checkpoint(checkpoint, tmp_path / "noinit.pt")
    out = tmp_path / "never"
    assert main(["certify", str(tmp_path / "noinit.pt"), "--out", str(out)]) == 2
    assert "no recorded initialisation" in capsys.readouterr().err and not out.exists()


def test_certificates_study_writes_the_table_and_its_figure(tmp_path):
    from paper_figures.canvas import render
    from paper_figures.registry import load_figure
    from studies import certificates
    from studies.runner import run_study

    tiny = certificates.Settings(
        dataset="digits", imbalances=(4.0,), models=("mlp",), seeds=(0,), epochs=2, steps=5, mc_passes=2
    )
    result = run_study(certificates, settings=tiny, out=tmp_path, progress=False, command="test")
    table = result.table
    from training.certify import CSV_COLUMNS, FORMS

    assert set(CSV_COLUMNS) | {"dataset", "imbalance", "seed"} <= set(table.columns)
    balanced = table[table["class"].astype(str) == "balanced"]
    assert set(FORMS) <= set(balanced["form"])
    # wang23.thm1 on the prior's frozen features + a head fitted on S_bound: its assumption now holds
    wang = balanced[balanced["form"] == "wang23.thm1.certified"]
    assert len(wang) == 1 and bool(wang["guarantee"].iloc[0]) and wang["certificate"].iloc[0] > 0
    written = render(load_figure("certificates"), tmp_path, tmp_path / "figures")
    assert [p.suffix for p in written] == [".png", ".pdf"]


def test_fixed_convolutions_are_point_masses_shared_with_the_prior():
    from training.certify import conv_parameters, kl_float64
    from training.probabilistic import GaussianPosterior

    spec = {"name": "cnn", "num_classes": 3, "input_shape": [1, 8, 8], "channels": [2, 3], "embedding_dim": 4}
    network, params = fold_model(_trained_like(spec))
    fixed = conv_parameters(network)
    assert fixed and all(name in params for name in fixed)
    posterior = GaussianPosterior(network, {k: v.float() for k, v in params.items()}, 0.1, fixed)
    assert set(posterior.rho) == set(params) - set(fixed)
    x = torch.randn(5, 1, 8, 8)
    assert posterior.sample_logits(x).shape == (5, 3)
    steps = posterior.deterministic_steps()
    assert network.ops[steps].kind == "linear"  # the convolutions are computed once, before any draw
    torch.testing.assert_close(forward(network, posterior.means(), posterior.features(x), start=steps),
                               posterior.mean_logits(x))  # fmt: skip
    assert kl_float64(posterior, params, 0.1) == pytest.approx(0.0, abs=1e-6)  # Q = P on the stochastic part
    moved = dict(params, **{fixed[0]: params[fixed[0]] + 1.0})
    with pytest.raises(InputError, match="KL = inf"):
        kl_float64(posterior, moved, 0.1)


def test_train_pbb_refuses_a_bad_prior_fraction_in_one_line(tmp_path, capsys):
    from ltbounds.cli import main

    out = tmp_path / "pbb"
    arguments = ["train", "--method", "pbb", "--dataset", "gaussian", "--dataset-option", "classes=3",
                 "--dataset-option", "dim=4", "--dataset-option", "pool_per_class=60", "--no-progress",
                 "--imbalance", "4", "--prior-fraction", "1.5", "--out", str(out)]  # fmt: skip
    assert main(arguments) == 2
    err = capsys.readouterr().err.strip()
    assert "--prior-fraction" in err and len(err.splitlines()) == 1 and not (out / "last.pt").exists()
