"""ltbounds evaluate --certificates: a checkpoint's `ltbounds certify` rows in bounds.csv, report.md and the plot
(issue 12, item 5)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ltbounds.cli import main
from ltbounds.report import CERTIFICATE_PREFIX

GAUSSIAN = ["--dataset", "gaussian", "--imbalance", "4", "--dataset-option", "classes=3", "--dataset-option", "dim=4",
            "--dataset-option", "pool_per_class=60", "--dataset-option", "test_per_class=20", "--model-option",
            "hidden=[8]", "--batch-size", "16", "--no-progress", "--device", "cpu"]  # fmt: skip


@pytest.fixture(scope="module")
def certified(tmp_path_factory):
    """A tiny pbb run and a tiny ce run, both certified into one folder (seconds)."""
    root = tmp_path_factory.mktemp("certified")
    paths = {}
    for method in ("pbb", "ce"):
        out = root / method
        assert main(["train", "--method", method, *GAUSSIAN, "--epochs", "2", "--out", str(out)]) == 0
        paths[method] = out / "last.pt"
    certs = root / "certs"
    arguments = ["certify", str(paths["pbb"]), str(paths["ce"]), "--out", str(certs), "--steps", "5"]
    assert main([*arguments, "--mc-passes", "2"]) == 0
    return root, paths, certs


def test_evaluate_adds_the_certificate_rows_as_guarantees(certified):
    root, paths, certs = certified
    out = root / "report"
    assert main(["evaluate", str(paths["pbb"]), "--out", str(out), "--certificates", str(certs), "--no-progress",
                 "--device", "cpu", "--only", "elm.prop1"]) == 0  # fmt: skip
    bounds = pd.read_csv(out / "bounds.csv", dtype={"class": str})
    ours = bounds[bounds["bound"].str.startswith(CERTIFICATE_PREFIX)]
    table = pd.read_csv(certs / "certificate.csv", dtype={"class": str})
    table = table[table["checkpoint"] == str(paths["pbb"])]
    assert len(ours) == len(table) and set(ours["form"]) == {"certified"}
    balanced = ours[ours["class"] == "all"].set_index("bound")
    for row in table[table["class"] == "balanced"].itertuples(index=False):
        line = balanced.loc[CERTIFICATE_PREFIX + row.form]
        assert line["value"] == pytest.approx(row.certificate, rel=1e-12)
        assert line["measured"] == pytest.approx(row.measured_test_error, rel=1e-12)  # the stochastic predictor
    # the pbb prior was trained on S_prior, disjoint from S_bound; val/test unused; delta 0.04 + 0.01 <= 0.05
    assert ours["guarantee"].all() and (ours["assumption_status"] == "satisfied").all()
    assert (ours["kind"] == "bound").all() and (ours["split"] == "train (S_bound)").all()
    per_class = ours[ours["class"] != "all"]
    assert set(per_class["bound"]) == {CERTIFICATE_PREFIX + "per_class"} and len(per_class) == 3
    report = (out / "report.md").read_text()
    assert "**PAC-Bayes certificates**" in report and f"`{CERTIFICATE_PREFIX}importance_weighted_hoeffding`" in report
    manifest = json.loads((out / "manifest.json").read_text())
    assert "--certificates" in manifest["command"]


def test_the_plot_draws_the_certificates_among_the_guarantees(certified):
    from ltbounds.evaluation import evaluate
    from ltbounds.evaluation_plots import figure_bound_vs_measured
    from ltbounds.statements import STATEMENTS

    root, paths, certs = certified
    evaluation = evaluate(str(paths["ce"]), statements={"elm.prop1": STATEMENTS["elm.prop1"]}, certificates=[certs],
                          progress=False)  # fmt: skip
    ours = evaluation.bounds[evaluation.bounds["bound"].str.startswith(CERTIFICATE_PREFIX)]
    assert len(ours) > 0 and ours["guarantee"].all()  # data-free prior: the recorded initialisation
    figure = figure_bound_vs_measured(evaluation.bounds, evaluation.checkpoints)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    section = labels.index("certified guarantee (every assumption checked and held)")
    drawn = [i for i, text in enumerate(labels) if text.startswith(CERTIFICATE_PREFIX)]
    assert drawn and all(i > section for i in drawn)
    assert all(not any(t.startswith("certified form") for t in labels[section:i]) for i in drawn)


def test_an_exported_outputs_directory_gets_its_checkpoints_certificate_and_only_that(certified, tmp_path):
    from ltbounds.evaluation import evaluate
    from ltbounds.statements import STATEMENTS
    from training.checkpoint_outputs import export_checkpoint

    root, paths, certs = certified
    only = {"elm.prop1": STATEMENTS["elm.prop1"]}
    exported = export_checkpoint(paths["pbb"], tmp_path / "pbb_outputs")
    direct = evaluate(str(paths["pbb"]), statements=only, certificates=[certs], progress=False)
    via_export = evaluate(str(exported), statements=only, certificates=[certs], progress=False)
    ours, theirs = (e.bounds[e.bounds["bound"].str.startswith(CERTIFICATE_PREFIX)] for e in (direct, via_export))
    assert len(ours) > 0 and ours["guarantee"].all()
    columns = ["bound", "form", "class", "value", "measured", "guarantee", "assumption_status"]
    pd.testing.assert_frame_equal(ours[columns].reset_index(drop=True), theirs[columns].reset_index(drop=True))
    # the match is the recorded sha256 of the checkpoint file: another checkpoint's export matches nothing here
    record = json.loads((exported / "outputs.json").read_text())
    record["metadata"]["source"]["checkpoint_sha256"] = "0" * 64
    (exported / "outputs.json").write_text(json.dumps(record))
    out = tmp_path / "never"
    code = main(["evaluate", str(exported), "--out", str(out), "--certificates", str(certs), "--no-progress",
                 "--only", "elm.prop1"])  # fmt: skip
    assert code == 2 and not out.exists()


def test_a_certificate_whose_prior_saw_s_bound_is_not_a_guarantee(certified, tmp_path):
    root, paths, certs = certified
    broken = tmp_path / "certs"
    broken.mkdir()
    for name in ("certificate.csv", "manifest.json"):
        (broken / name).write_bytes((certs / name).read_bytes())
    manifest = json.loads((broken / "manifest.json").read_text())
    split = manifest["splits"][str(paths["pbb"])]
    split["prior_indices"] = split["prior_indices"] + split["bound_indices"][:1]  # the prior saw one S_bound sample
    (broken / "manifest.json").write_text(json.dumps(manifest))
    from ltbounds.evaluation import evaluate
    from ltbounds.statements import STATEMENTS

    evaluation = evaluate(str(paths["pbb"]), statements={"elm.prop1": STATEMENTS["elm.prop1"]},
                          certificates=[broken], progress=False)  # fmt: skip
    ours = evaluation.bounds[evaluation.bounds["bound"].str.startswith(CERTIFICATE_PREFIX)]
    assert len(ours) > 0 and not ours["guarantee"].any()
    assert set(ours["assumptions_violated"]) == {"prior_independent_of_s_bound"}
    # a report at delta 0.01 cannot count a certificate at 1 - 0.05 as its guarantee
    strict = evaluate(str(paths["pbb"]), delta=0.01, statements={"elm.prop1": STATEMENTS["elm.prop1"]},
                      certificates=[certs], progress=False)  # fmt: skip
    ours = strict.bounds[strict.bounds["bound"].str.startswith(CERTIFICATE_PREFIX)]
    assert set(ours["assumptions_violated"]) == {"confidence_at_report_delta"} and not ours["guarantee"].any()


def test_bad_certificate_folders_are_one_line_exit_2_nothing_written(certified, tmp_path, capsys):
    root, paths, certs = certified
    other = tmp_path / "other.pt"
    other.write_bytes(paths["ce"].read_bytes() + b"\0")  # another file: another sha256
    cases = [
        ([str(other)], certs, "certifies none of the checkpoints"),
        ([str(paths["ce"])], tmp_path, "not a folder written by ltbounds certify"),
    ]
    for sources, folder, message in cases:
        out = tmp_path / "never"
        code = main(["evaluate", *sources, "--out", str(out), "--certificates", str(folder), "--no-progress",
                     "--device", "cpu", "--only", "elm.prop1"])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and len(err.splitlines()) == 1 and not out.exists()


def test_a_violated_certificate_is_not_looked_up_as_a_seed_statement():
    from ltbounds.report import _errata_lines

    summary = pd.DataFrame(
        {"bound": [CERTIFICATE_PREFIX + "per_class", "wang23.thm1"], "violated": [1, 1], "violated_valid": [1, 0]}
    )
    lines = "\n".join(_errata_lines(summary))
    ours = [line for line in lines.splitlines() if CERTIFICATE_PREFIX in line]
    assert len(ours) == 1 and "not a seed statement" in ours[0]
    assert "no errata entry" not in ours[0] and "believed true" not in ours[0]
    assert "ltbounds errata --id wang23.thm1" in lines  # seed statements keep their verdict
