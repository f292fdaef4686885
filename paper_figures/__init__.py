"""paper_figures: one script per figure, reading ``results/`` and writing ``figures/*.png`` + ``.pdf``.

``paper_figures.registry.FIGURES`` maps each figure name to its script module and the study whose
results it reads; ``ltbounds figures [NAME]`` draws them. Scripts never train.
"""
