# Thin aliases for the README's commands. Everything real lives in `course` and `tests/`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Recipes see the course's tools (pytest, course, rq, hadolint …) as an activated shell would.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: start test setup docs lint

start: setup            ## set up (once) and start: your status, your next step, the site on 127.0.0.1:8000
	@$(BIN)/course start

test: setup             ## the course's full proof suite
	@$(BIN)/python -m pytest tests -n 2 --dist loadgroup

setup: $(VENV)/.installed

# Re-installs only when pyproject.toml changes. uv when present (several times faster), else pip.
$(VENV)/.installed: pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "No '$(PY)' here. Install Python 3.11 or newer, then: make PY=/path/to/python3 start"; exit 1; }
	@$(PY) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else f"Backend Semester needs Python 3.11 or newer; {sys.executable} is {v.major}.{v.minor}. Install one, then: make PY=python3.12 start")'
	@echo "Setting up .venv (first time: about a minute) …"
	@if command -v uv >/dev/null 2>&1; then \
		uv venv --quiet --allow-existing --python $(PY) $(VENV) && uv pip install --quiet --python $(BIN)/python -e . ; \
	else \
		$(PY) -m venv $(VENV) && \
		{ $(BIN)/python -m pip install --quiet --disable-pip-version-check uv && $(BIN)/uv pip install --quiet --python $(BIN)/python -e . ; } || \
		$(BIN)/python -m pip install --disable-pip-version-check -e . ; \
	fi
	@touch $@
	@echo "Set up. Your course command is $(BIN)/course (or activate: . $(BIN)/activate)."

docs: setup             ## build the site into site/ (strict)
	@NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: setup             ## ruff over all the course's code, mypy over the harness (its settings: pyproject.toml)
	@$(BIN)/ruff check course labs solutions weeks tests
	@$(BIN)/mypy course
