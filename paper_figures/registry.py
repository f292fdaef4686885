"""Figure name -> (script module, study whose results it reads). ``ltbounds figures`` iterates this."""

from __future__ import annotations

import importlib
from types import ModuleType

from ltbounds.checks import InputError

FIGURES: dict[str, tuple[str, str]] = {
    "coverage_violations": ("paper_figures.coverage_violations", "coverage"),
    "sharpness_ratio": ("paper_figures.sharpness_ratio", "sharpness"),
    "sharpness_symbolic": ("paper_figures.sharpness_symbolic", "sharpness"),
    "drw_timing": ("paper_figures.drw_timing", "drw_timing"),
    "vs_drw_gamma": ("paper_figures.vs_drw_gamma", "vs_drw"),
    "vs_adrw_sensitivity": ("paper_figures.vs_adrw_sensitivity", "vs_drw"),
    "elm_prop1": ("paper_figures.elm_prop1", "elm_geometry"),
    "elm_margins": ("paper_figures.elm_margins", "elm_geometry"),
    "elm_distances": ("paper_figures.elm_distances", "elm_geometry"),
    "elm_two_moons": ("paper_figures.elm_two_moons", "elm_geometry"),
    "drolt_theorem1": ("paper_figures.drolt_theorem1", "drolt"),
    "drolt_radii": ("paper_figures.drolt_radii", "drolt"),
    "drolt_ncm_layers": ("paper_figures.drolt_ncm_layers", "drolt"),
    "methods_table": ("paper_figures.methods_table", "methods_table"),
    "demo_accuracy": ("paper_figures.demo_accuracy", "demo"),
    "demo_bounds": ("paper_figures.demo_bounds", "demo"),
    "certificates": ("paper_figures.certificates", "certificates"),
}


def load_figure(name: str) -> ModuleType:
    if name not in FIGURES:
        raise InputError(f"unknown figure {name!r}; valid figures: {', '.join(FIGURES)}")
    return importlib.import_module(FIGURES[name][0])
