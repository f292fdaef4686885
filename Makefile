# The README's two commands. Both set up .venv themselves (idempotent: a stamp file records
# that the install matches pyproject.toml), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ltbounds-installed
# torch is pinned: a looser requirement pulls a multi-GB CUDA build where a CPU one is on disk.
TORCH_PIN := torch==2.13.0

.PHONY: demo test lint setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ltbounds demo

# lint-imports: the layer contracts of pyproject.toml ([tool.importlinter]; docs/design.md draws them).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results figures .pytest_cache .hypothesis
