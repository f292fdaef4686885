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
    assert "coverage_violations: skipped" in captured.err


def test_unknown_figure_lists_the_valid_ones(capsys):
    assert main(["figures", "no_such_figure"]) == 2
    assert "valid figures" in capsys.readouterr().err
