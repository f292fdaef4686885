"""studies: theory-vs-practice experiments, one module per question.

Each study writes ``results/<study>/`` (tidy CSV + ``manifest.json``), is resumable, and has a
``--quick`` setting that finishes on 2 CPU cores in a few minutes: ``ltbounds study NAME --quick``.
"""
