"""What every figure script shares: reading a study's results and saving PNG + PDF with a caption.

A figure script defines ``NAME``, ``STUDY`` (the study whose results it reads), ``TITLE`` and
``draw(results: Path) -> matplotlib.figure.Figure``; it reads files only (``read_table``), never
trains. ``render`` adds the caption line (study + the command that made it, from the study's
manifest) and writes ``<out>/<NAME>.png`` and ``.pdf``.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pandas as pd

from ltbounds.checks import InputError
from ltbounds.evaluation_plots import plain_log_ticks  # noqa: F401 - shared with the figure scripts


class MissingResults(InputError):
    """The results a figure reads are not there: the message says which study to run."""


def study_command(study: str) -> str:
    return f"ltbounds study {study} --quick"


def study_directory(results: str | Path, study: str) -> Path:
    """``results/<study>``, or ``results`` itself when it is that study's folder (``ltbounds demo --out X``)."""
    results = Path(results)
    manifest = results / "manifest.json"
    if not (results / study).is_dir() and manifest.exists():
        try:
            if json.loads(manifest.read_text()).get("study") == study:
                return results
        except (OSError, ValueError):
            pass
    return results / study


def read_table(results: str | Path, study: str, table: str | None = None) -> pd.DataFrame:
    """``results/<study>/<table>.csv`` (default: the study's main table), or ``MissingResults``."""
    path = study_directory(results, study) / f"{table or study}.csv"
    if not path.exists():
        raise MissingResults(
            f"{path} is missing: run `{study_command(study)}` (or without --quick for the full setting) first"
        )
    frame = pd.read_csv(path)
    if frame.empty:
        raise MissingResults(f"{path} has no rows: the study ran nothing; see {path.parent / 'manifest.json'}")
    return frame


def read_manifest(results: str | Path, study: str) -> dict:
    path = study_directory(results, study) / "manifest.json"
    if not path.exists():
        raise MissingResults(f"{path} is missing: run `{study_command(study)}` first")
    return json.loads(path.read_text())


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingResults(f"{what} lacks column(s) {missing}: re-run the study with this version of ltbounds")


def caption(results: str | Path, study: str, title: str) -> str:
    manifest = read_manifest(results, study)
    command = manifest.get("command") or study_command(study)
    if isinstance(command, list):
        command = " ".join(command)
    setting = manifest.get("setting", "?")
    return f"{title}. Study: {study} ({setting} setting). Made by: {command}"


def panels_under_a_legend_row(figure, count: int, legend_height: float, panel_height: float) -> tuple:
    """``count`` panels side by side sharing their y axis (tick labels on the first only), under a row of its
    own for one legend, so the legend never covers a curve and the layout keeps it whole.

    Returns (legend_axis, axes); the legend axis has no frame or ticks. Heights are the grid's ratios."""
    grid = figure.add_gridspec(2, count, height_ratios=(legend_height, panel_height))
    legend_axis = figure.add_subplot(grid[0, :])
    legend_axis.axis("off")
    first = figure.add_subplot(grid[1, 0])
    axes = [first] + [figure.add_subplot(grid[1, i], sharey=first) for i in range(1, count)]
    for axis in axes[1:]:
        axis.tick_params(labelleft=False)
    return legend_axis, axes


def math_text(expression: str) -> str:
    """A SymPy expression string (``rho**(1 - kappa)``) as matplotlib math text (``$\\rho^{1 - \\kappa}$``).

    Falls back to the expression with ``**`` written ``^`` when SymPy cannot parse it or matplotlib
    cannot typeset the result, so a title is never raw Python nor a drawing error."""
    try:
        import sympy
        from matplotlib.mathtext import MathTextParser

        text = f"${sympy.latex(sympy.sympify(expression))}$"
        MathTextParser("agg").parse(text)
        return text
    except Exception:  # noqa: BLE001 - any parse or typesetting failure falls back to plain text
        return expression.replace("**", "^")


def render(script: ModuleType, results: str | Path = "results", out: str | Path = "figures") -> list[Path]:
    """Draw ``script``'s figure from ``results`` and write ``out/<NAME>.png`` and ``.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = script.draw(Path(results))
    text = caption(results, script.STUDY, script.TITLE)
    figure.text(0.01, 0.005, text, fontsize=6.5, ha="left", va="bottom", wrap=True, color="0.25")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in ("png", "pdf"):
        path = directory / f"{script.NAME}.{suffix}"
        figure.savefig(path, dpi=120)
        written.append(path)
    plt.close(figure)
    return written


def script_main(script: ModuleType) -> int:
    """``python -m paper_figures.<name> [RESULTS] [OUT]``: the same as ``ltbounds figures NAME``."""
    import sys

    arguments = sys.argv[1:]
    results = arguments[0] if arguments else "results"
    out = arguments[1] if len(arguments) > 1 else "figures"
    try:
        for path in render(script, results, out):
            print(path)
    except MissingResults as error:
        print(f"{script.NAME}: {error}", file=sys.stderr)
        return 2
    return 0
