# Every target sets itself up: the first use creates .venv and installs ringemu into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bench chaos demo run test clean

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/ringemu bench

chaos: $(STAMP)
	$(BIN)/ringemu chaos

demo: $(STAMP)
	$(BIN)/ringemu demo

run: $(STAMP)
	$(BIN)/ringemu run

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
