"""paper_figures/: every registered script, the missing-results message, PNG + PDF with a caption."""

from __future__ import annotations

import dataclasses

import pytest

from ltbounds.cli import main
from paper_figures.canvas import MissingResults, caption, render
from paper_figures.registry import FIGURES, load_figure
from studies import sharpness
from studies.runner import STUDY_MODULES, load_study, run_study

TINY = dataclasses.replace(
    sharpness.QUICK,
    rhos=(1.0, 10.0, 100.0),
    kappas=(0.5, 1.0, 2.0),
    classes=(2,),
    random_count_vectors=2,
    checkpoint_globs=(),
)


@pytest.fixture(scope="module")
def sharpness_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    run_study(sharpness, settings=TINY, out=root, progress=False, command="ltbounds study sharpness --quick")
    return root


def test_every_figure_script_names_itself_and_a_known_study():
    for name, (module_name, study) in FIGURES.items():
        script = load_figure(name)
        assert script.__name__ == module_name
        assert script.NAME == name and script.STUDY == study
        assert study in STUDY_MODULES
        assert callable(script.draw) and script.TITLE
    for study in STUDY_MODULES:
        for figure in load_study(study).FIGURES:
            assert FIGURES[figure][1] == study, f"{study} lists {figure}, which reads another study"


@pytest.mark.parametrize("name", ["sharpness_ratio", "sharpness_symbolic"])
def test_figure_writes_png_and_pdf_with_caption(sharpness_results, tmp_path, name):
    written = render(load_figure(name), sharpness_results, tmp_path)
    assert [p.suffix for p in written] == [".png", ".pdf"]
    png, pdf = written
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = caption(sharpness_results, "sharpness", load_figure(name).TITLE)
    assert "Study: sharpness" in text and "ltbounds study sharpness --quick" in text


def test_figure_axes_are_labelled(sharpness_results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = load_figure("sharpness_ratio").draw(sharpness_results)
    for axis in figure.axes:
        assert axis.get_xlabel()
    assert figure.axes[0].get_ylabel()
    assert figure.axes[-1].get_legend() is not None
    plt.close(figure)


def test_missing_results_say_which_study_to_run(tmp_path, capsys):
    with pytest.raises(MissingResults, match="ltbounds study coverage"):
        render(load_figure("coverage_violations"), tmp_path / "empty", tmp_path / "figures")
    assert main(["figures", "sharpness_ratio", "--results", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    assert "ltbounds study sharpness" in capsys.readouterr().err
    assert not (tmp_path / "sharpness_ratio.png").exists()


def test_figures_command_draws_what_exists_and_skips_the_rest(sharpness_results, tmp_path, capsys):
    assert main(["figures", "--results", str(sharpness_results), "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert (tmp_path / "sharpness_ratio.png").exists() and (tmp_path / "sharpness_symbolic.pdf").exists()
    (summary,) = captured.err.splitlines()
    skipped = len(FIGURES) - 2
    assert summary.startswith(f"figures: drew 2 of {len(FIGURES)}; skipped {skipped} ")
    assert "coverage (1)" in summary and "elm_geometry (4)" in summary and "sharpness" not in summary


def test_unknown_figure_lists_the_valid_ones(capsys):
    assert main(["figures", "no_such_figure"]) == 2
    assert "valid figures" in capsys.readouterr().err


# ---------------------------------------------------------------- evaluate's plots at the demo's 36 checkpoints

EVALUATION_STATEMENTS = (  # bound, form, kind, assumption status, scale of the value
    ("wang23.thm1", "certified", "bound", "failed", 80.0),
    ("wang23.thm1", "as_printed", "bound", "failed", 40.0),
    ("wang23.prop1", "certified", "bound", "failed", 20.0),
    ("elm.prop2_multiclass", "certified", "bound", "satisfied", 4.0),
    ("elm.prop2_multiclass", "shape", "bound", "failed", 8.0),
    ("elm.lemma3_corrected", "certified", "bound", "unknown", 3.0),
    ("drolt.thm1_corrected", "certified", "inequality", "satisfied", 1.5),
    ("elm.lemma5", "certified", "inequality", "satisfied", 0.0),
    ("tutorial.etf", "as_printed", "identity", "failed", 0.0),
    ("tutorial.fisher_consistency", "diagnostic", "symbolic", "satisfied", 0.5),
)
METHODS = ("ce", "la", "ldam_drw", "vs_tla_adrw", "elm", "dro_lt")


def synthetic_evaluation(seeds, classes=10, datasets=("mnist5k", "gaussian")):
    """bounds / per_class / checkpoints tables shaped like the demo's: 2 datasets x 6 methods x seeds."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    bounds, per_class, checkpoints = [], [], []
    counts = np.round(500 * 100.0 ** (-np.arange(classes) / (classes - 1))).astype(int)
    for dataset in datasets:
        for method in METHODS:
            for seed in seeds:
                name = f"{dataset}_rho100_{method}_s{seed}/last"
                checkpoints.append(
                    {"checkpoint": name, "method": method, "dataset": dataset, "imbalance": 100.0, "seed": seed}
                )
                for bound, form, kind, status, scale in EVALUATION_STATEMENTS:
                    measured = scale * rng.uniform(0.2, 0.5) if scale else -rng.uniform(0, 1)
                    value = scale * rng.uniform(0.8, 1.2)
                    bounds.append(
                        {
                            "checkpoint": name,
                            "method": method,
                            "bound": bound,
                            "form": form,
                            "kind": kind,
                            "class": "all",
                            "value": value,
                            "measured": measured,
                            "valid": status == "satisfied",
                            "assumption_status": status,
                            "guarantee": form == "certified" and status == "satisfied",
                            "status": "ok",
                        }
                    )
                for y in range(classes):
                    per_class.append(
                        {
                            "checkpoint": name,
                            "method": method,
                            "class": y,
                            "train_count": counts[y],
                            "B_y": rng.normal(-0.1 * y, 0.1),
                            "min_margin": rng.normal(0, 1),
                            "variance_trace": rng.uniform(0.1, 1),
                            "omega_pull": 3 - 0.2 * y + rng.normal(0, 0.1),
                            "elm_prop1_left": 2.8 - 0.25 * y + rng.normal(0, 0.1),
                            "mu_y": rng.uniform(1, 2),
                            "test_accuracy": rng.uniform(0.3, 1.0),
                        }
                    )
    return pd.DataFrame(bounds), pd.DataFrame(per_class), pd.DataFrame(checkpoints)


def assert_readable_layout(figure):
    """Every legend inside the canvas and off the axes; the title above every axes and legend."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    canvas = figure.bbox
    legends = list(figure.legends) + [axis.get_legend() for axis in figure.axes if axis.get_legend()]
    assert legends, "a plot with several methods needs a legend"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 >= canvas.x0 - 1 and box.x1 <= canvas.x1 + 1, f"legend cut at the side: {box} vs {canvas}"
        assert box.y0 >= canvas.y0 - 1 and box.y1 <= canvas.y1 + 1, f"legend cut at the top/bottom: {box}"
    title = figure._suptitle.get_window_extent(renderer)
    for axis in figure.axes:
        panel = axis.get_tightbbox(renderer)
        assert not title.overlaps(panel), "the title is drawn over a panel"
        for legend in figure.legends:
            assert not legend.get_window_extent(renderer).overlaps(panel), "the legend covers a panel"


@pytest.mark.parametrize("name", ["bound_vs_measured", "per_class_terms", "elm_prop1"])
def test_evaluate_plots_keep_a_fixed_readable_size_at_36_checkpoints(tmp_path, name):
    import matplotlib.pyplot as plt
    from PIL import Image

    from ltbounds import evaluation_plots

    sizes = {}
    for seeds in ((0,), (0, 1, 2)):
        bounds, per_class, checkpoints = synthetic_evaluation(seeds)
        assert checkpoints["checkpoint"].nunique() == 12 * len(seeds)
        table = bounds if name == "bound_vs_measured" else per_class
        figure = getattr(evaluation_plots, f"figure_{name}")(table, checkpoints)
        assert_readable_layout(figure)
        plt.close(figure)
        out = tmp_path / str(len(seeds))
        out.mkdir()
        (png, pdf) = evaluation_plots.plot(name, table, out, checkpoints)
        sizes[len(seeds)] = Image.open(png).size
    width, height = sizes[3]
    # Today's 2145 x 14256 px is what this guards against: the canvas must not grow with checkpoints.
    assert sizes[1] == sizes[3], f"{name}: the size changes with the number of checkpoints: {sizes}"
    assert 600 <= width <= 2000 and 400 <= height <= 1200, f"{name}: {width} x {height} px at 36 checkpoints"


@pytest.mark.parametrize("name", ["bound_vs_measured", "per_class_terms", "elm_prop1"])
def test_evaluate_plots_of_one_dataset_keep_title_and_legend_inside_the_canvas(name):
    import matplotlib.pyplot as plt

    from ltbounds import evaluation_plots

    bounds, per_class, checkpoints = synthetic_evaluation((0,), datasets=("gaussian",))
    figure = getattr(evaluation_plots, f"figure_{name}")(
        bounds if name == "bound_vs_measured" else per_class, checkpoints
    )
    assert_readable_layout(figure)
    title = figure._suptitle.get_window_extent(figure.canvas.get_renderer())
    assert figure.bbox.x0 - 1 <= title.x0 and title.x1 <= figure.bbox.x1 + 1, "title cut at the sides"
    plt.close(figure)


def test_bound_vs_measured_draws_guarantees_apart_and_labels_symlog_ticks_as_powers_of_ten():
    import matplotlib.pyplot as plt

    from ltbounds.evaluation_plots import figure_bound_vs_measured
    from ltbounds.report import SECTION_TITLES

    bounds, _, checkpoints = synthetic_evaluation((0, 1, 2))
    figure = figure_bound_vs_measured(bounds, checkpoints)
    figure.canvas.draw()
    first = figure.axes[0]
    labels = [label.get_text() for label in first.get_yticklabels()]
    header = {key: labels.index(title) for key, title in SECTION_TITLES.items()}
    assert header["guarantee"] < header["certified_failed"] < header["certified_unknown"] < header["not_certified"]
    guarantees = labels[header["guarantee"] + 1 : header["certified_failed"]]
    failed = labels[header["certified_failed"] + 1 : header["certified_unknown"]]
    assert guarantees == [
        "drolt.thm1_corrected [certified]",
        "elm.lemma5 [certified]",
        "elm.prop2_multiclass [certified]",
    ]
    assert failed == ["wang23.prop1 [certified]", "wang23.thm1 [certified]"], "a failed assumption is no guarantee"
    assert labels[header["certified_unknown"] + 1] == "elm.lemma3_corrected [certified]"
    legend_text = [text.get_text() for text in figure.legends[0].get_texts()]
    assert {"bound, certified guarantee", "bound, certified form, not a guarantee"} <= set(legend_text)
    assert set(METHODS) <= set(legend_text), "colour = method"
    ticks = [label.get_text() for axis in figure.axes for label in axis.get_xticklabels() if label.get_text()]
    assert ticks and not any("100^" in tick for tick in ticks), ticks
    assert any("10^{1}" in tick for tick in ticks), ticks
    plt.close(figure)


def test_demo_bounds_never_draws_a_failed_or_unchecked_certified_row_as_a_guarantee(tmp_path):
    import json

    import matplotlib.pyplot as plt

    from ltbounds.report import SECTION_TITLES

    bounds, _, _ = synthetic_evaluation((0, 1, 2))
    (tmp_path / "demo" / "evaluation").mkdir(parents=True)
    bounds.to_csv(tmp_path / "demo" / "evaluation" / "bounds.csv", index=False)
    (tmp_path / "demo" / "manifest.json").write_text(json.dumps({"study": "demo", "command": "ltbounds demo"}))
    figure = load_figure("demo_bounds").draw(tmp_path)
    (axis,) = figure.axes
    labels = [label.get_text() for label in axis.get_yticklabels()]
    guarantees = labels[
        labels.index(SECTION_TITLES["guarantee"]) + 1 : labels.index(SECTION_TITLES["certified_failed"])
    ]
    assert guarantees == ["elm.prop2_multiclass [certified]"], "only kind=bound rows whose assumptions held"
    failed = labels[
        labels.index(SECTION_TITLES["certified_failed"]) + 1 : labels.index(SECTION_TITLES["certified_unknown"])
    ]
    assert failed == ["wang23.prop1 [certified]", "wang23.thm1 [certified]"]
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert "certified guarantee (every assumption checked and held)" in legend
    assert "certified form, an assumption failed: NOT a guarantee" in legend
    assert_readable_layout_of_axes_legend(figure)
    written = render(load_figure("demo_bounds"), tmp_path, tmp_path / "figures")
    assert written[0].exists()
    plt.close(figure)


def assert_readable_layout_of_axes_legend(figure):
    """An axes legend placed outside its axes: inside the canvas and over no data."""
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for axis in figure.axes:
        legend = axis.get_legend()
        box = legend.get_window_extent(renderer)
        assert figure.bbox.x0 - 1 <= box.x0 and box.x1 <= figure.bbox.x1 + 1 and box.y1 <= figure.bbox.y1 + 1
        assert not box.overlaps(axis.get_window_extent(renderer)), "the legend covers rows"


def synthetic_coverage(directory):
    """A coverage_summary.csv like the quick study's: 2 populations x per-class and overall rows (48 rows)."""
    import json

    import pandas as pd

    rows = []
    for population, classes in (("C2_d2_rho10_n300", 2), ("C4_d8_rho20_n300", 4)):
        for statement, form, per_class_level in (
            ("heldout.clopper_pearson", "certified", True),
            ("elm.prop2_multiclass", "certified", False),
            ("wang23.prop1", "certified", False),
            ("wang23.prop1", "as_printed", False),
            ("elm.lemma3", "as_printed", False),
            ("elm.lemma3_corrected", "certified", False),
        ):
            for y in [*range(classes), "all"]:
                violations = 7 if (statement == "heldout.clopper_pearson" and y == 1 and classes == 4) else 0
                rows.append(
                    {
                        "population": population,
                        "head": "la",
                        "statement": statement,
                        "form": form,
                        "class": y,
                        "runs": 200,
                        "violations": violations,
                        "violation_fraction": violations / 200,
                        "ci_low": 0.0,
                        "ci_high": 0.018 + violations / 200,
                        "delta": 0.05,
                        "promised_level": 0.05 / classes if per_class_level and y != "all" else 0.05,
                    }
                )
    frame = pd.DataFrame(rows)
    (directory / "coverage").mkdir(parents=True)
    frame.to_csv(directory / "coverage" / "coverage_summary.csv", index=False)
    (directory / "coverage" / "manifest.json").write_text(json.dumps({"study": "coverage", "command": "c"}))
    return frame


def test_coverage_violations_shows_the_worst_class_per_statement_and_keeps_the_legend_off_the_rows(tmp_path):
    import matplotlib.pyplot as plt

    frame = synthetic_coverage(tmp_path)
    assert len(frame) == 48
    figure = load_figure("coverage_violations").draw(tmp_path)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legend_axis, *panels = figure.axes
    assert len(panels) == 2, "one panel per population"
    labels = [label.get_text() for label in panels[0].get_yticklabels()]
    assert len(labels) == 2 + 12, "per (statement, form): its all-classes row and its worst class, not every class"
    assert "heldout.clopper_pearson [certified], worst class" in labels
    assert labels.index("certified forms (a promise)") < labels.index("elm.prop2_multiclass [certified], all classes")
    assert labels.index("other forms (no promise)") < labels.index("wang23.prop1 [as_printed], all classes")
    notes = [text.get_text() for text in panels[1].texts]
    assert "class 1 of 4" in notes, "the worst class of the 4-class population is class 1 (7 violations)"
    legend = legend_axis.get_legend().get_window_extent(renderer)
    for panel in panels:
        assert not legend.overlaps(panel.get_window_extent(renderer)), "the legend covers rows"
        # Per-class levels (delta/C) are red ticks; a level equal to delta is the dashed line alone.
        red = [line for line in panel.lines if line.get_color() == "tab:red"]
        assert {float(line.get_xdata()[0]) for line in red} <= {0.025, 0.0125} and red
    assert legend.y1 <= figure.bbox.y1 + 1
    plt.close(figure)


def test_sharpness_titles_are_math_text_and_log_axes_have_several_labelled_ticks(sharpness_results):
    import matplotlib.pyplot as plt

    symbolic = load_figure("sharpness_symbolic").draw(sharpness_results)
    title = symbolic.axes[0].get_title()
    assert "**" not in title and "$" in title and r"\rho" in title and r"\kappa" in title, title
    for figure in (symbolic, load_figure("sharpness_ratio").draw(sharpness_results)):
        figure.canvas.draw()
        for axis in figure.axes:
            low, high = sorted(axis.get_ylim())
            shown = [t for t in axis.yaxis.get_major_ticks() if low <= t.get_loc() <= high and t.label1.get_text()]
            assert len(shown) >= 3, [t.label1.get_text() for t in shown]
            assert not any("^" in t.label1.get_text() for t in shown), "plain numbers on a log axis"
        plt.close(figure)


def test_drw_timing_labels_stay_inside_the_canvas(tmp_path):
    import json

    import matplotlib.pyplot as plt
    import pandas as pd

    rows = []
    for method, t0s in (("cb", [0]), ("ce_drw", [0, 5, 10])):
        for t0 in t0s:
            for seed in (0, 1):
                common = {"run": f"{method}{t0}s{seed}", "method": method, "t0": t0, "seed": seed}
                for epoch in range(10):
                    for quantity in ("B_y_majority", "B_y_minority"):
                        rows.append({**common, "epoch": epoch, "quantity": quantity, "value": epoch / 10})
                rows.append({**common, "epoch": 10, "quantity": "final_acc_min_over_max", "value": 0.5 + seed / 10})
                rows.append({**common, "epoch": 10, "quantity": "final_test_balanced_accuracy", "value": 0.7})
    (tmp_path / "drw_timing").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "drw_timing" / "drw_timing.csv", index=False)
    (tmp_path / "drw_timing" / "manifest.json").write_text(json.dumps({"study": "drw_timing", "command": "d"}))
    figure = load_figure("drw_timing").draw(tmp_path)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for axis in figure.axes:
        box = axis.xaxis.label.get_window_extent(renderer)
        assert figure.bbox.x0 - 1 <= box.x0 and box.x1 <= figure.bbox.x1 + 1, f"x label clipped: {box}"
    labels = [axis.xaxis.label.get_window_extent(renderer) for axis in figure.axes]
    assert not labels[1].overlaps(labels[2]), "the x labels of (b) and (c) run into each other"
    plt.close(figure)


def test_drolt_theorem1_labels_a_certified_curve_with_unmet_assumptions_as_no_guarantee(tmp_path):
    import json

    import matplotlib.pyplot as plt
    import pandas as pd

    rows = [
        {"method": m, "part": "theorem1", "statement": s, "form": f, "class": y, "class_count": n,
         "value": 2.0 + y, "measured": 1.0 + y, "valid": valid}
        for m in ("dro_lt", "ce")
        for s, f, valid in (("drolt.thm1", "as_printed", True), ("drolt.thm1_corrected", "certified", False))
        for y, n in enumerate((300, 30, 3))
    ]  # fmt: skip
    (tmp_path / "drolt").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "drolt" / "drolt.csv", index=False)
    (tmp_path / "drolt" / "manifest.json").write_text(json.dumps({"study": "drolt", "command": "d"}))
    figure = load_figure("drolt_theorem1").draw(tmp_path)
    legend_axis, *panels = figure.axes
    texts = [text.get_text() for text in legend_axis.get_legend().get_texts()]
    assert "drolt.thm1_corrected [certified]: NOT a guarantee here (an assumption failed or was not checked)" in texts
    assert "drolt.thm1 [as_printed]" in texts and len(panels) == 2
    plt.close(figure)
