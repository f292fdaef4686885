"""Outputs that need not fit in memory: the public names of the directory form, gathered in one place.

An outputs directory holds one model's outputs as ``.npy`` files opened with memory mapping (format
``ltbounds.outputs`` version 1, directory form; docs/outputs_format.md). The code lives in two modules,
imported in one direction only (``outputs_layout`` <- ``outputs`` <- this module):

- ``ltbounds.outputs_layout``: the on-disk layout in plain arrays and dicts (``OutputsWriter`` appending
  rows, ``outputs.json`` written last, ``read_outputs_dir``, ``check_mapped_matrix``,
  ``release_mapped_arrays``, ``row_blocks``/``block_rows``, the split-name rule);
- ``ltbounds.outputs``: ``Outputs`` built from it (``open_outputs_dir``, ``load_outputs`` of a directory,
  ``save_outputs_dir``, ``Outputs.save(dir)``, ``release_mapped_pages``) and the streaming export
  ``export_module`` (the pass of ``Outputs.from_module``, each batch written by ``OutputsWriter``).

Logits and embeddings stay memory-mapped inside ``Outputs`` (float32 storage is kept as float32 on disk;
``ltbounds.statements.statistics`` reads them in row chunks, converted to float64 one chunk at a time).
"""

from __future__ import annotations

from ltbounds.outputs import export_module, open_outputs_dir, release_mapped_pages, save_outputs_dir
from ltbounds.outputs_layout import (
    LAYOUT,
    METADATA_FILE,
    OutputsDirectory,
    OutputsWriter,
    block_rows,
    check_mapped_matrix,
    is_outputs_dir,
    read_outputs_dir,
    release_mapped_arrays,
    row_blocks,
)

__all__ = [
    "LAYOUT",
    "METADATA_FILE",
    "OutputsDirectory",
    "OutputsWriter",
    "block_rows",
    "check_mapped_matrix",
    "export_module",
    "is_outputs_dir",
    "open_outputs_dir",
    "read_outputs_dir",
    "release_mapped_arrays",
    "release_mapped_pages",
    "row_blocks",
    "save_outputs_dir",
]
