# The one interface that people, CI and the workflows call. Every target sets up what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# SageMaker's PyTorch serving stack has pins of its own: it lives in its own environment.
SERVE_VENV := .venv-serve
SERVE_STAMP := $(SERVE_VENV)/.installed
# taskcat 0.9 pins jsonschema<4 and urllib3<2: it lives in its own environment too.
TASKCAT_VENV := .venv-taskcat
TASKCAT_STAMP := $(TASKCAT_VENV)/.installed
# checkov pins boto3, networkx and more of its own: it lives in its own environment as well.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# uv installs the four environments (pinned in ops/uv-requirements.txt, itself installed by pip):
# the same pins, resolved to the same versions as pip would (`pip freeze` identical), in 60 % of
# pip's CPU time for the four and a third of its wall time: it resolves, downloads and unpacks in
# a few seconds where pip took minutes, and its cache shares the wheels the environments have in
# common (torch, boto3...).
UV_VENV := .venv-uv
UV_STAMP := $(UV_VENV)/.installed
# uv reads neither pip's configuration nor PIP_* variables: the find-links pip is given
# (PIP_FIND_LINKS, else pip's config; here a local folder holding the CPU build of torch) are
# passed on to it. Where none is given (a laptop, a GitHub runner): torch's page on PyTorch's CPU
# index, since the build constraints.txt pins (+cpu) is not on PyPI; one project's page, so no
# other package can come from there. Bytecode is not compiled at install: Python compiles a
# module the first time a process imports it and keeps the result in its __pycache__, as it does
# by default, so only what is imported is ever compiled. Compiling the four environments whole
# was ~285 of the installs' ~340 CPU s (bench/RESULTS.md, "Bytecode when it is imported").
# That needs Python allowed to write it: PYTHONDONTWRITEBYTECODE, set in this machine's own
# environment, is not passed on to anything make runs (below); with it, every process would
# compile every module it imports, every time.
TORCH_CPU_WHEELS := https://download.pytorch.org/whl/cpu/torch/
PIP_FIND_LINKS ?= $(or $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null),$(TORCH_CPU_WHEELS))
UV_INSTALL = $(UV_VENV)/bin/uv pip install \
	$(foreach links,$(PIP_FIND_LINKS),--find-links $(links)) --python

# Node 20 is what this machine has; the workflows run Node 22.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The sagemaker SDK reports usage unless told not to; synth and tests never reach the network.
export SAGEMAKER_TELEMETRY_OPT_OUT := true
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist on every core, a module's tests on one worker: a module-scoped fixture (a
# synthesized assembly, a running server, the one checkov run) is built once, not once per worker.
# Modules are handed out in collection order, which tests/conftest.py makes heaviest tier first,
# rather than by their number of tests (xdist's default).
PARALLEL := -n auto --dist loadfile --no-loadscope-reorder

.PHONY: help check setup serve-setup taskcat-setup checkov-setup taskcat-synth taskcat-lint taskcat deploy-local emulator-stop drill train runs serve synth test lint format schemas bench lock clean diff deploy verify live-diff orphans retire lint-workflows

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV_STAMP): ops/uv-requirements.txt
	rm -rf $(UV_VENV)
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --disable-pip-version-check -r ops/uv-requirements.txt
	touch $@

# The environments need uv to exist, not to be newer than it (order-only): a new uv alone
# reinstalls nothing.
$(PY_STAMP): pyproject.toml constraints.txt | $(UV_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(UV_INSTALL) $(PY) -c constraints.txt -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP) ## create .venv and node_modules (idempotent)

$(SERVE_STAMP): ops/serve-requirements.txt | $(UV_STAMP)
	rm -rf $(SERVE_VENV)
	$(PYTHON) -m venv $(SERVE_VENV)
	$(UV_INSTALL) $(SERVE_VENV)/bin/python -r ops/serve-requirements.txt
	touch $@

serve-setup: $(SERVE_STAMP) ## create .venv-serve: sagemaker-pytorch-inference, TorchServe (Java 17)

$(TASKCAT_STAMP): ops/taskcat-requirements.txt | $(UV_STAMP)
	rm -rf $(TASKCAT_VENV)
	$(PYTHON) -m venv $(TASKCAT_VENV)
	$(UV_INSTALL) $(TASKCAT_VENV)/bin/python -r ops/taskcat-requirements.txt
	touch $@

taskcat-setup: $(TASKCAT_STAMP) ## create .venv-taskcat (taskcat 0.9 and its own pins)

$(CHECKOV_STAMP): ops/checkov-requirements.txt | $(UV_STAMP)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_INSTALL) $(CHECKOV_VENV)/bin/python -r ops/checkov-requirements.txt
	touch $@

checkov-setup: $(CHECKOV_STAMP) ## create .venv-checkov (checkov's CloudFormation checks and their own pins)

# Real-account testing (README, "Testing in a real account"). The regions must match
# .taskcat.yml's project.regions (a test checks). Synth needs no credentials; publishing the
# assets and `taskcat test run` use the current AWS credentials, in an account bootstrapped
# with `npx cdk bootstrap` in both regions.
TASKCAT_REGIONS := eu-west-1 us-east-1
TASKCAT_ACCOUNT ?=

taskcat-synth: setup ## synthesize Staging-* for each taskcat region into .taskcat/<region>/
	for region in $(TASKCAT_REGIONS); do \
		npx cdk synth 'Staging-*' --quiet -c stacks='Staging-*' -c targetRegion=$$region \
			$(if $(TASKCAT_ACCOUNT),-c targetAccount=$(TASKCAT_ACCOUNT)) --output .taskcat/$$region; \
	done

taskcat-lint: taskcat-setup taskcat-synth ## taskcat lint of those templates (offline)
	$(TASKCAT_VENV)/bin/taskcat lint

taskcat: setup taskcat-setup ## deploy Staging-* in two regions of TASKCAT_ACCOUNT with taskcat, then delete
	@test -n '$(TASKCAT_ACCOUNT)' || { echo "usage: make taskcat TASKCAT_ACCOUNT=<12-digit account id>"; exit 2; }
	$(MAKE) taskcat-synth TASKCAT_ACCOUNT=$(TASKCAT_ACCOUNT)
	for region in $(TASKCAT_REGIONS); do \
		npx cdk publish-assets --app .taskcat/$$region 'Staging-*'; \
	done
	$(TASKCAT_VENV)/bin/taskcat test run --output-directory .taskcat/report

# `make train MODEL=iris`: SageMaker's training contract run locally; outputs under runs/<model>/,
# then the weights (the files at the top of the model dir) are copied into models/<model>/ where
# the bundler packs them. NPROC=2 runs it under torchrun (DDP over gloo); ARGS='--epochs 10'
# passes hyperparameters. Each run is recorded in MLflow (modelkit.tracking) at TRACKING_URI:
# a local store under .cache/mlflow by default, a tracking server's URI, or empty for none. The
# training code archive's sha256 is recorded with it (a config error leaves only that out).
MODEL ?=
NPROC ?= 1
ARGS ?=
PORT ?= 8080
TRACKING_URI ?= sqlite:///$(CURDIR)/.cache/mlflow/mlflow.db
RUNS_PORT ?= 5000

train: setup ## train MODEL=<name> on CPU, record the run, update models/<name>/ weights (NPROC=, ARGS=, TRACKING_URI=)
	@test -n '$(MODEL)' -a -f 'models/$(MODEL)/train.py' || { \
		echo "usage: make train MODEL=<name>, one of: $$(ls models/*/train.py | cut -d/ -f2 | xargs)"; exit 2; }
	rm -rf runs/$(MODEL)
	SM_MODEL_DIR=runs/$(MODEL)/model SM_OUTPUT_DATA_DIR=runs/$(MODEL)/output \
		MLFLOW_TRACKING_URI='$(TRACKING_URI)' \
		MODELKIT_CODE_SHA256="$$($(if $(TRACKING_URI),$(PY) -m ops runs code-sha256 '$(MODEL)',true))" \
		$(if $(filter-out 1,$(NPROC)),$(VENV)/bin/torchrun --standalone --nproc-per-node $(NPROC),$(PY)) \
		models/$(MODEL)/train.py $(ARGS)
	find runs/$(MODEL)/model -maxdepth 1 -type f -exec cp {} models/$(MODEL)/ \;
	@echo "weights: $$(cd runs/$(MODEL)/model && find . -maxdepth 1 -type f -printf 'models/$(MODEL)/%P ')"

# `make runs`: the MLflow UI over TRACKING_URI's runs on 127.0.0.1:RUNS_PORT until Ctrl-C;
# `make runs MODEL=iris`: that model's recent runs as a table (parameters, held-out metric).
runs: setup ## MLflow UI on 127.0.0.1 (RUNS_PORT=5000); MODEL=<name>: a table of its recent runs
	$(if $(MODEL),$(PY) -m ops runs table '$(MODEL)' --tracking-uri '$(TRACKING_URI)',$(PY) -m ops runs ui --tracking-uri '$(TRACKING_URI)' --port $(RUNS_PORT))

# `make deploy-local`: the real CDK CLI against an embedded AWS (moto + this project's extensions)
# on 127.0.0.1: synth, bootstrap, deploy 'Staging-*', verify + smoke, summary. KEEP=1 leaves the
# emulator running (then `make emulator-stop`).
KEEP ?=

deploy-local: setup serve-setup ## deploy Staging-* to a local AWS emulator, verify and invoke it (KEEP=1)
	$(PY) -m ops deploy-local $(if $(KEEP),--keep,)

emulator-stop: setup ## stop an emulator that `make deploy-local KEEP=1` left running
	$(PY) -m ops emulator stop

# `make drill`: the fire drill (README, "Fire drill") on the local emulator, with the real CDK CLI:
# a faulty version of MODEL (default iris) goes through Prod's canary and must be caught by its
# alarm, page a loopback subscriber and be rolled back; then a good version completes. FAULT is
# errors=<percent> or latency=<duration>; ENV=staging drills the all-at-once rollout. Writes
# .cache/drill/<stack>/timeline.{svg,md,json}; exits 0 only if every expected event happened.
# FAULT=drift=2sd runs the drift scenario instead: in-distribution, then shifted traffic, checked
# by `ops drift`, must end in a drift alarm and a page (.cache/drill/<stack>/drift.md).
FAULT ?= errors=30%
ENV ?= prod

drill: setup serve-setup ## fire drill: a faulty MODEL (iris) caught, paged, rolled back (FAULT=, ENV=)
	$(PY) -m ops drill --model '$(or $(MODEL),iris)' --fault '$(FAULT)' --env '$(ENV)' $(SUMMARY_FILE)

serve: setup serve-setup ## synth, then serve MODEL=<name>'s model.tar.gz on 127.0.0.1 (PORT=8080)
	@test -n '$(MODEL)' || { echo "usage: make serve MODEL=<name> [PORT=8080]"; exit 2; }
	npx cdk synth --quiet
	$(PY) -m ops serve '$(MODEL)' --port $(PORT)

synth: setup ## bundle every model, synthesize every stack into cdk.out, print a summary
	npx cdk synth --quiet
	$(PY) -m ops summary cdk.out

test: setup serve-setup taskcat-setup checkov-setup ## run every test (serving needs .venv-serve, taskcat lint .venv-taskcat, checkov .venv-checkov)
	$(PY) -m pytest $(PARALLEL)

lint: setup ## ruff, format check, mypy and the architecture contracts (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py stacks bundler configs ops bench tests
	$(VENV)/bin/lint-imports --no-cache

# `make check`: the inner loop. Lint, and the unit and synth tiers of the tests: no TorchServe,
# Java, emulator or taskcat needed (tests/integration/ is what it leaves out); checkov (its own
# venv, made once) runs with the synth tier, ~10 s of CPU over every template. Lint runs beside
# the tests (it is one process; the tests take every core), its output printed after theirs.
# Prints its time. It runs Hypothesis' "dev" profile, a quarter of the examples `make test`
# runs (tests/unit/conftest.py).
# Its test files go to tmpfs where the machine has one it may write (/dev/shm): a run makes and
# removes ~17,000 of them (about 200 copies of configs/ and models/ among them), 5 to 11 s less
# of a run there (bench/RESULTS.md). One folder per checkout, which pytest empties as each run starts
# (--basetemp); a failing test's files stay in it until then. `make test` keeps pytest's own
# folder on disk: the integration tier writes gigabytes.
CHECK_BASETEMP = $(if $(shell test -w /dev/shm && echo yes),--basetemp=/dev/shm/make-check-$(shell id -u)-$(shell printf %s '$(CURDIR)' | cksum | cut -d' ' -f1))
check: export HYPOTHESIS_PROFILE := dev
check: setup checkov-setup ## lint + unit and synth tests with checkov (no serving stack, emulator or taskcat); prints its time
	@start=$$(date +%s); log=$$(mktemp); \
	$(MAKE) --no-print-directory lint >"$$log" 2>&1 & lint=$$!; \
	tests=0; $(PY) -m pytest tests/unit tests/synth -q $(PARALLEL) $(CHECK_BASETEMP) || tests=$$?; \
	linted=0; wait $$lint || linted=$$?; cat "$$log"; rm -f "$$log"; \
	echo "make check: $$(( $$(date +%s) - start )) s (lint exit $$linted, tests exit $$tests)"; \
	exit $$(( linted || tests ))

format: setup ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schemas: setup ## regenerate configs/schema/*.json from the typed config models
	$(PY) -m configs.schema_gen

bench: setup ## bundling, cdk synth at 1-50 models, the CDK baselines, the scale scenarios, .ci/run on a fresh clone (tables, PASS/FAIL)
	$(PY) -m bench

lock: ## re-resolve constraints.txt from pyproject.toml in a throw-away environment
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

# `make diff BASE=<ref>`: the base ref is synthesized from a git worktree with this checkout's
# environments, so the diff shows what the working tree changes. DIFF_OUTPUT=<file> writes the
# Markdown to a file; DIFF_ARGS passes options (e.g. --fail-on-destructive) to `python -m ops diff`.
# Each model whose bundle changed is evaluated (.venv-serve) on its evaluation set; a model below
# its quality bar or behind the base fails the target (`python -m ops diff` exits 4). The run
# behind each side's weights is looked up in TRACKING_URI (the store `make train` records into).
# Both sides are synthesized at once, and when only models/<folder>/ files changed, only the
# stacks that read those folders (`python -m ops diff-synth`; the comment says which).
BASE ?= origin/main
DIFF_DIR := .cache/diff
DIFF_OUTPUT ?=
DIFF_ARGS ?=

diff: setup serve-setup ## Markdown of what the working tree changes against BASE, models evaluated (make diff BASE=<ref>)
	rm -rf $(DIFF_DIR)
	git worktree prune
	git worktree add --quiet --detach $(DIFF_DIR)/src '$(BASE)'
	$(PY) -m ops diff-synth --base $(DIFF_DIR)/src --head . --changed-since '$(BASE)' \
		--base-out $(DIFF_DIR)/base.out --head-out $(DIFF_DIR)/head.out \
		--scope $(DIFF_DIR)/scope.json --bundle-cache .cache/bundles \
		--cdk $(CURDIR)/node_modules/.bin/cdk
	cd $(DIFF_DIR)/src && find models -mindepth 2 -maxdepth 2 -name config.yaml \
		-exec install -D -m 644 {} $(CURDIR)/$(DIFF_DIR)/base-src/{} \;
	git worktree remove --force $(DIFF_DIR)/src
	$(PY) -m ops diff --base $(DIFF_DIR)/base.out --head $(DIFF_DIR)/head.out \
		--scope $(DIFF_DIR)/scope.json \
		--project . --base-project $(DIFF_DIR)/base-src --fail-on-regression \
		$(if $(TRACKING_URI),--tracking-uri '$(TRACKING_URI)') \
		--evaluation-cache .cache/evaluations \
		--base-label '$(BASE)' --head-label "$$(git rev-parse --short HEAD)+working tree" \
		$(if $(DIFF_OUTPUT),--output $(DIFF_OUTPUT)) $(DIFF_ARGS)

# Deploying: the workflows and a laptop call the same targets with whatever AWS credentials are
# in the environment (OIDC role in Actions, a profile on a laptop). STACKS is a cdk pattern.
STACKS ?= Staging-*
SUMMARY_FILE := $(if $(GITHUB_STEP_SUMMARY),--summary $(GITHUB_STEP_SUMMARY))

deploy: setup ## deploy STACKS (default 'Staging-*') with the current AWS credentials
	npx cdk deploy '$(STACKS)' --require-approval never --progress events

verify: setup ## check STACKS' endpoints are InService on their declared config, smoke-test them
	$(PY) -m ops verify --assembly cdk.out --stacks '$(STACKS)' --smoke $(SUMMARY_FILE)

live-diff: setup ## cdk diff of every stack against what is deployed (needs AWS credentials)
	npx cdk diff 'Staging-*' 'Prod-*' 2>&1 | tee cdk-live-diff.txt
	$(if $(GITHUB_STEP_SUMMARY),{ echo '```'; cat cdk-live-diff.txt; echo '```'; } >> $(GITHUB_STEP_SUMMARY))

orphans: setup ## list deployed STACKS whose model folder is gone (needs cdk.out)
	@$(PY) -m ops retire --assembly cdk.out --stacks '$(STACKS)'

retire: setup ## delete those stacks; buckets and log groups are retained
	$(PY) -m ops retire --assembly cdk.out --stacks '$(STACKS)' --execute

lint-workflows: setup ## actionlint and zizmor on .github/workflows
	$(VENV)/bin/actionlint
	$(VENV)/bin/zizmor --offline --min-severity low .github/workflows

clean: ## remove build outputs and caches (keeps the environments)
	rm -rf cdk.out .cache .pytest_cache .mypy_cache .ruff_cache .taskcat
