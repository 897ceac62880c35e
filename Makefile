# The README's two commands are `make book` and `make test`; both do all set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is installed on its own first so the CPU build can be chosen; .ci/run sets torch==2.13.0.
TORCH_SPEC ?= torch
PROFILE ?= tiny
INSTALLED := $(VENV)/.installed
VENDOR := book/_vendor
HTML := _build/html
# Two pytest workers on two cores: one BLAS/torch thread each, or small ops
# wait on each other's threads (measured: 20-100x slower fits and training).
TEST_ENV := SCALINGLAB_PROFILE=tiny MPLBACKEND=Agg OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    SCALINGLAB_RESULTS=$(CURDIR)/_build/test-results

.PHONY: help venv test book execute measure reference-gpu lint clean check-site

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[book,test]'
	@touch $@

venv: $(INSTALLED)  ## Create .venv with torch, scalinglab and the book and test tools

test: $(INSTALLED)  ## ruff, the unit tests and every notebook (nbval) in the tiny profile
	$(BIN)/ruff check .
	rm -rf _build/test-results
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadfile \
	    --nbval-lax --nbval-current-env --ignore=tests/website tests $(wildcard chapters labs)

lint: $(INSTALLED)  ## ruff over the package, tests, benchmarks and notebooks
	$(BIN)/ruff check .

$(VENDOR)/.installed: book/package.json book/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "error: make book needs Node.js and npm to install the site's own MathJax and"; \
	  echo "       widget scripts (the site never loads them from a CDN)."; \
	  echo "       Install Node.js 18 or newer (apt-get install nodejs npm, or"; \
	  echo "       conda install -c conda-forge nodejs) and run make book again."; exit 1; }
	cd book && npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR).partial && mkdir -p $(VENDOR).partial/mathjax $(VENDOR).partial/widgets
	cp book/node_modules/mathjax/es5/tex-chtml.js $(VENDOR).partial/mathjax/
	cp -r book/node_modules/mathjax/es5/{a11y,adaptors,input,output,sre,ui} $(VENDOR).partial/mathjax/
	cp book/node_modules/requirejs/require.js $(VENDOR).partial/widgets/
	cp book/node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js $(VENDOR).partial/widgets/
	mkdir -p $(VENDOR).partial/widgets/@jupyter-widgets/html-manager/dist
	cd book/node_modules/@jupyter-widgets/html-manager/dist && \
	  cp *.woff *.woff2 *.ttf *.eot *.svg ../../../../../$(VENDOR).partial/widgets/@jupyter-widgets/html-manager/dist/
	rm -rf $(VENDOR) && mv $(VENDOR).partial $(VENDOR)
	@touch $@

book: $(INSTALLED) $(VENDOR)/.installed  ## Build the website from the notebooks' committed outputs
	@rm -f $(HTML)/index.html
	$(BIN)/python book/run_time_table.py
	$(BIN)/jupyter-book build . --config book/_config.yml --toc book/_toc.yml \
	    --path-output . -W -n --keep-going -q
	@test -f $(HTML)/index.html
	@echo "The book is at $(CURDIR)/$(HTML)/index.html"

execute: $(INSTALLED)  ## Re-run changed notebooks in place under PROFILE=... (default tiny)
	SCALINGLAB_PROFILE=$(PROFILE) $(BIN)/python book/execute.py --profile $(PROFILE) $(if $(FORCE),--force,) chapters labs

measure: $(INSTALLED)  ## Time the labs under PROFILE=... into run_times.json, keeping their outputs
	SCALINGLAB_PROFILE=$(PROFILE) $(BIN)/python book/execute.py --profile $(PROFILE) --measure labs
	$(BIN)/python book/execute.py --profile $(PROFILE) --refresh-run-times labs

reference-gpu: $(INSTALLED)  ## The gpu reference set, one command of <= 8 min on an H100, into OUT=... (see --plan)
	$(BIN)/python -m scalinglab reference --profile gpu --out $(or $(OUT),scalinglab/reference)

check-site: book  ## Open the built site in headless Chromium: math, widgets, no outside requests
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1 || echo "chromium could not be installed; the site check will skip"; }
	@# a Chinese font, so the glossary's 中文 reads in the screenshots (not needed by readers)
	@test -n "$$(fc-list :lang=zh 2>/dev/null)" || \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null 2>&1) || \
	  echo "no Chinese font could be installed; screenshots will show boxes for 中文"
	$(BIN)/pytest -q tests/website

clean:  ## Remove the build, the site's scripts and the virtual environment
	rm -rf _build $(VENDOR) book/node_modules $(VENV) .jupyter_cache
