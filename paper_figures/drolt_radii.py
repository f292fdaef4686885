"""drolt Figure 2: the radii eps_y DRO-LT learns, against class size."""

from __future__ import annotations

from pathlib import Path

from paper_figures.canvas import MissingResults, read_table, require_columns, script_main

NAME = "drolt_radii"
STUDY = "drolt"
TITLE = "Learned DRO-LT radii eps_y against the class's training count (drolt, Fig. 2)"


def draw(results: Path):
    import matplotlib.pyplot as plt

    table = read_table(results, STUDY)
    require_columns(table, ["method", "part", "class_count", "value"], "drolt.csv")
    rows = table[table["part"] == "radii"]
    if rows.empty:
        raise MissingResults("drolt.csv has no learned radii: run `ltbounds study drolt --quick` with dro_lt_learned")
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    for (method, seed), part in rows.groupby(["method", "seed"]):
        part = part.sort_values("class_count")
        axis.plot(part["class_count"], part["value"], "o-", label=f"{method} seed {seed}")
    axis.set_xscale("log")
    axis.set_xlabel("training samples in the class (log scale)")
    axis.set_ylabel("learned radius eps_y (embedding units)")
    axis.legend(fontsize=7)
    return figure


if __name__ == "__main__":
    raise SystemExit(script_main(__import__(__name__)))
