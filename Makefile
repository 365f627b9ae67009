# Two entry points for a fresh machine:
#   make site   set up .venv, build the shipped content into _site/
#   make test   set up .venv and the test tools, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The project is installed for its dependencies; build.py and the tests import site_src from
# the checkout. "strict" puts a plain folder on sys.path: the default editable mode installs
# an import hook that costs every command ~15-20 ms at start, a third of a no-op build of 1k
# papers (docs/performance.md).
EDITABLE := --config-settings editable_mode=strict

.PHONY: site serve test bench clean

$(VENV)/.site-ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(EDITABLE) -e .
	$(BIN)/python -m compileall -q site_src  # (even where PYTHONDONTWRITEBYTECODE is set)
	touch $@

$(VENV)/.test-ready: pyproject.toml $(VENV)/.site-ready
	$(BIN)/pip install --quiet $(EDITABLE) -e '.[test]'
	touch $@

site: $(VENV)/.site-ready          ## build content/ into _site/
	$(BIN)/python build.py build

serve: $(VENV)/.site-ready         ## build, serve on 127.0.0.1:8000, rebuild on change
	$(BIN)/python build.py serve

test: $(VENV)/.test-ready          ## every test, with the real browser and checkers
	bash scripts/setup-test-tools.sh
	$(BIN)/python -m pytest --durations=15

# (installed once: pip walks the whole project, and bench/out holds millions of files after a 100k run)
$(VENV)/.bench-ready: pyproject.toml $(VENV)/.test-ready
	$(BIN)/pip install --quiet $(EDITABLE) -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-ready       ## our builds against Hugo on synthetic corpora (docs/performance.md)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf _site .cache
