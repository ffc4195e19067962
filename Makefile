# colorgan: every target documents itself; `make` alone lists them.
# The pipeline DAG: prepare (01) -> model (02) -> train (03) -> colorize (04) -> evaluate (05).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
COLORGAN := $(PY) -m colorgan
STAMP := $(VENV)/.installed

# VERBOSE=1: TensorFlow's C++ start-up logs too (hidden by default: they are not errors).
VERBOSE ?=
# RUN: run folder under models/ (empty = the newest run); IN, OUT: what `make colorize` reads and writes.
RUN ?=
IN ?=
OUT ?= build/colorized
MODEL ?= $(if $(RUN),models/$(RUN)/generator.keras)
MODEL_ARG = $(if $(MODEL),--model $(MODEL))

# Colour only on a terminal: pipes and logs get plain text.
.PHONY: help
help: ## list the targets (this message)
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-10s%s %s\n", on, $$1, off, $$2}' \
		$(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

.PHONY: setup
setup: $(STAMP) ## create .venv and install colorgan editable with its dev extras
	@$(PY) -c "import tensorflow as tf, keras; print('colorgan ready: tensorflow', tf.__version__, '/ keras', keras.__version__)"

.PHONY: lint
lint: $(STAMP) ## ruff over the package, tests, benchmarks and notebooks
	$(PY) -m ruff check colorgan tests bench notebooks

.PHONY: test
test: $(STAMP) lint ## the whole suite: lint, unit tests, notebooks via papermill, then nbval
	$(PY) -m pytest
	$(PY) -m pytest --nbval-lax -p no:cacheprovider build/notebooks/smoke

.PHONY: prepare
prepare: $(STAMP) ## prepare a dataset: make prepare SRC="path/to/photos" NAME=photos (default: skimage samples)
	$(COLORGAN) prepare $(SRC) --out data/prepared/$(or $(NAME),default)

.PHONY: train
train: $(STAMP) ## train on a GPU runner: notebooks 01 -> 03 with params/train.yaml (resumes if interrupted)
	$(COLORGAN) notebooks --params params/train.yaml 01 02 03

# The demo trains on ../shared/datasets/photos when present, else on scikit-image's sample photos.
DEMO_DATA := $(if $(wildcard ../shared/datasets/photos),,-p "sources=[]" -p val_fraction=0.3)

.PHONY: demo
demo: $(STAMP) ## the main job on a built-in default: a CPU-sized run end to end (~10 min), models/demo/
	$(COLORGAN) notebooks --params params/demo.yaml $(DEMO_DATA) 01 02 03 04

.PHONY: colorize
colorize: $(STAMP) ## colorize photos: make colorize IN="old/photos" OUT=colorized [RUN=name | MODEL=path]
	@test -n "$(IN)" || { echo 'usage: make colorize IN="photo.jpg or folder ..." [OUT=build/colorized]'; exit 2; }
	$(COLORGAN) colorize $(IN) -o $(OUT) $(MODEL_ARG)

.PHONY: evaluate
evaluate: $(STAMP) ## metrics of the newest run (or RUN=name) on its validation split, beside the gray baseline
	$(COLORGAN) evaluate $(MODEL_ARG)

.PHONY: bench
bench: $(STAMP) ## speed and memory benchmarks, each against its baseline in the same run (build/bench/)
	@mkdir -p build/bench
	@for script in bench/bench_*.py; do echo "== $$script"; COLORGAN_VERBOSE=$(VERBOSE) $(PY) $$script || exit 1; done

.PHONY: clean
clean: ## remove build outputs (keeps .venv, data/ and models/)
	rm -rf build .pytest_cache .ruff_cache
