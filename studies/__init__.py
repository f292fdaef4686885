"""studies: theory-vs-practice experiments, one module per question.

Each study writes ``results/<study>/`` (tidy CSV + ``manifest.json``), is resumable, and has a
``--quick`` setting that finishes on 2 CPU cores in a few minutes: ``ltbounds study NAME --quick``.

The registry (name -> module) is ``studies.runner.STUDY_MODULES``; the shared machinery (runs,
resume, manifests) is ``studies.runner``; ``studies.demo`` is the main job (``ltbounds demo``).
"""
