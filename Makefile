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
# RUN: run folder under models/ (colorize: empty = the shipped generator; evaluate: empty = the newest run);
# IN, OUT: what `make colorize` reads and writes.
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
	$(VENV)/bin/pip install --quiet -e ".[dev,app]"
	touch $(STAMP)

# The suite also runs the generator under Keras' PyTorch and JAX backends (tests/test_backends.py). torch
# comes from PyTorch's CPU index (~200 MB; PyPI's build pulls GBs of CUDA) or a wheel in pip's find-links;
# its version is the `backends` extra's in pyproject.toml.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
BACKENDS := $(VENV)/.backends
$(BACKENDS): $(STAMP)
	$(VENV)/bin/pip install --quiet --quiet --retries 0 --no-deps --extra-index-url $(TORCH_INDEX) "torch==2.13.0"
	$(VENV)/bin/pip install --quiet -e ".[dev,app,backends]"
	touch $(BACKENDS)

.PHONY: setup
setup: $(STAMP) ## create .venv and install colorgan editable with its dev extras
	@$(PY) -c "import tensorflow as tf, keras; print('colorgan ready: tensorflow', tf.__version__, '/ keras', keras.__version__)"

.PHONY: lint
lint: $(STAMP) ## ruff over the package, tests, benchmarks and notebooks
	$(PY) -m ruff check colorgan tests bench notebooks

.PHONY: test
test: $(STAMP) $(BACKENDS) lint ## the whole suite: lint, unit tests (PyTorch and JAX too), notebooks via papermill, then nbval
	$(PY) -m pytest
	$(PY) -m pytest --nbval-lax -p no:cacheprovider build/notebooks/smoke

.PHONY: prepare
prepare: $(STAMP) ## prepare a dataset: make prepare SRC="path/to/photos" NAME=photos (default: skimage samples)
	$(COLORGAN) prepare $(SRC) --out data/prepared/$(or $(NAME),default)

# Training: PREPARED=a prepared folder (from `colorgan prepare PHOTOS --out data/prepared/NAME`) trains on it,
# in the run models/NAME (RUN=name to choose); without it, notebook 01 prepares the profile's own sources first.
# PARAMS=a profile replaces make train's own (params/train.yaml); SET="name=value ..." overrides
# any of its parameters, e.g. SET="epochs=40 adversarial_weight=0.5" (the names of `colorgan train -p`: colorgan/config.py).
PREPARED ?=
PARAMS ?=
SET ?=
TRAIN_ON = $(strip $(if $(PREPARED),-p prepared_dir=$(PREPARED) -p run_name=$(or $(RUN),$(notdir $(patsubst %/,%,$(PREPARED))))) \
	$(foreach setting,$(SET),-p '$(setting)') $(if $(PREPARED),02 03,01 02 03))
CHECK_PREPARED = $(if $(PREPARED),@test -d "$(PREPARED)/train" -a -d "$(PREPARED)/val" || { echo "no prepared photos in \
	$(PREPARED) (it needs train/ and val/): make them with: colorgan prepare PHOTOS... --out $(PREPARED)" >&2; exit 2; })

.PHONY: train
train: $(STAMP) ## train on a GPU runner (params/train.yaml; resumes if interrupted): make train [PREPARED=data/prepared/mine]
	$(CHECK_PREPARED)
	$(COLORGAN) notebooks --params $(or $(PARAMS),params/train.yaml) $(TRAIN_ON)

# The reference CPU recipe in one go, v0.3's (issue 17): the paper's U-Net (params/cpu.yaml, run RUN_unet, ~21 CPU-min),
# the ImageNet-encoder U-Net (params/encoder128.yaml, run RUN_encoder, ~64), then their average (`colorgan average`,
# run RUN, calibrated at issue 17's bar: +0.5 dB PSNR and -1.0 CIEDE2000 beside gray on the validation photos).
# RUN: cpu, or PREPARED's folder name. With PREPARED both members train on that folder alone (the encoder's extra
# 26k photos are ../shared's). The members are not calibrated: only their average is used. Runs resume.
CPU_RUN = $(or $(RUN),$(if $(PREPARED),$(notdir $(patsubst %/,%,$(PREPARED))),cpu))
MEMBER_ON = $(strip $(if $(PREPARED),-p prepared_dir=$(PREPARED)) $(foreach setting,$(SET),-p '$(setting)') \
	-p calibrate=false)
AVERAGE_AT_THE_BAR := --margin-db 0.5 --margin-ciede 1.0 --working-size-factors 3 4 5 6 8

.PHONY: train-cpu
train-cpu: $(STAMP) ## the reference CPU recipe, v0.3's (~100 min on 2 cores): make train-cpu [PREPARED=...] [RUN=name]
	$(CHECK_PREPARED)
	$(COLORGAN) notebooks --params params/cpu.yaml $(MEMBER_ON) -p run_name=$(CPU_RUN)_unet $(if $(PREPARED),02 03,01 02 03)
	$(COLORGAN) notebooks --params params/encoder128.yaml $(MEMBER_ON) $(if $(PREPARED),-p "extra_train_dirs=[]") \
		-p run_name=$(CPU_RUN)_encoder $(if $(PREPARED),03,01 03)
	@if test -f models/$(CPU_RUN)/generator.keras; then echo "models/$(CPU_RUN)/generator.keras exists: kept, not averaged again \
		(an earlier make train-cpu's; RUN=name for another)"; \
	else $(COLORGAN) average models/$(CPU_RUN)_unet models/$(CPU_RUN)_encoder --out models/$(CPU_RUN) \
		$(AVERAGE_AT_THE_BAR); fi

# The scoreboard: each recipe (params/recipes/<name>.yaml: its label, profile and overrides) trains its run
# models/sb_<name> on the shared photos (bsds500-test held out), then every one of those runs is scored on the
# held-out photos beside gray, in this order. Runs resume, so an interrupted scoreboard continues.
HELD_OUT := ../shared/datasets/photos/bsds500-test
RECIPES := paper l1 huber cls cls_ema nogan l1_ema l1_ema_nodrop l1_ema_cifar zoom2 zoom2_long zoom2_240 wide48 size128
RECIPE_FILES := $(RECIPES:%=params/recipes/%.yaml)

.PHONY: scoreboard
scoreboard: $(STAMP) ## train each recipe of params/recipes/ (5 to 54 CPU-minutes each), score all on held-out photos: docs/scoreboard/
	$(COLORGAN) notebooks --params params/cpu.yaml 01
	$(COLORGAN) notebooks --params params/cpu.yaml -p prepared_size=192 -p prepared_dir=data/prepared/cpu192 01
	$(COLORGAN) prepare ../shared/datasets/cifar10-subset.zip --out data/prepared/cifar --size 32 --val-fraction 0
	@for recipe in $(RECIPE_FILES); do $(COLORGAN) train --recipe $$recipe -p sample_every=100 || exit 1; done
	$(COLORGAN) scoreboard --data $(HELD_OUT) --out docs/scoreboard $(RECIPE_FILES)

# The demo trains on ../shared/datasets/photos when present; else (a fresh clone) it fine-tunes the shipped
# generator for 5 epochs on scikit-image's sample photos: 6 photos are too few to learn colors from scratch.
# Its network is the shipped one's (pretrained/config.json: encoder and crop size; an encoder stays frozen).
SHIPPED_ARCH = $$($(PY) -c "import json; c = json.load(open('colorgan/pretrained/config.json')); \
	print(f\"-p encoder={c.get('encoder', 'none')} -p image_size={c['image_size']} -p base_filters={c['base_filters']} -p pretrained=false\")")
DEMO_DATA := $(if $(wildcard ../shared/datasets/photos),,-p "sources=[]" -p val_fraction=0.3 \
	-p init_from=colorgan/pretrained/generator.keras $(SHIPPED_ARCH) -p frozen_epochs=5 \
	-p epochs=5 -p warmup_epochs=5 -p checkpoint_every=1 -p sample_every=1)

SAMPLES_DIR = $$($(PY) -c "import skimage.data; print(skimage.data.data_dir)")
SHIPPED := colorgan/pretrained/generator.keras

.PHONY: demo
demo: $(STAMP) ## colors at once with the shipped generator, then a CPU training run end to end (models/demo/)
	$(COLORGAN) colorize $(SAMPLES_DIR)/astronaut.png $(SAMPLES_DIR)/coffee.png $(SAMPLES_DIR)/chelsea.png \
		-o build/demo/shipped --model $(SHIPPED)
	$(COLORGAN) notebooks --params params/demo.yaml $(DEMO_DATA) 01 02 03 04

.PHONY: examples
examples: $(STAMP) ## the README's picture: the shipped generator on 8 held-out photos (docs/examples/)
	$(COLORGAN) scoreboard --data $(HELD_OUT) --out docs/examples "shipped generator=$(SHIPPED)"

.PHONY: colorize
colorize: $(STAMP) ## colorize photos: make colorize IN="old/photos" OUT=colorized [RUN=name | MODEL=path]
	@test -n "$(IN)" || { echo 'usage: make colorize IN="photo.jpg or folder ..." [OUT=build/colorized]'; exit 2; }
	$(COLORGAN) colorize $(IN) -o $(OUT) $(MODEL_ARG)

.PHONY: app
app: $(STAMP) ## the web app: drop photos in a browser, compare before/after, download (shipped generator, or RUN=name)
	$(COLORGAN) app $(MODEL_ARG)

.PHONY: screenshot
screenshot: $(STAMP) ## the README's picture of the web app, taken in headless Chromium (docs/app.png)
	$(PY) -m colorgan.browser docs/app.png

.PHONY: evaluate
evaluate: $(STAMP) ## metrics of the newest run (or RUN=name) on its validation split, beside the gray baseline
	$(COLORGAN) evaluate --model $(or $(MODEL),newest)

.PHONY: bench
bench: $(STAMP) ## speed and memory benchmarks, each against its baseline in the same run (build/bench/)
	@mkdir -p build/bench
	@for script in bench/bench_*.py; do echo "== $$script"; COLORGAN_VERBOSE=$(VERBOSE) $(PY) $$script || exit 1; done

.PHONY: clean
clean: ## remove build outputs (keeps .venv, data/ and models/)
	rm -rf build .pytest_cache .ruff_cache
