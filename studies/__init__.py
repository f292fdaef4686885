"""studies: theory-vs-practice experiments, one module per question.

Each study writes ``results/<study>/`` (tidy CSV + ``manifest.json``), is resumable, and has a
``--quick`` setting that finishes on 2 CPU cores in a few minutes: ``ltbounds study NAME --quick``.

The registry (name -> module) is ``studies.runner.STUDY_MODULES``; the shared machinery (runs,
resume, manifests) is ``studies.runner``; ``studies.demo`` is the training study of the main job, which
``ltbounds.commands.demo`` runs (``ltbounds demo``). Studies write files and never draw: the figures
(``paper_figures``) read them, and the top layer (``ltbounds figures``, the demo) calls both.
"""
