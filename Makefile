# The two commands a fresh machine needs:
#   make plan STACK=dev   set everything up, then run the offline plan (mocks + the real policy pack)
#   make test             set everything up, then run the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt | sha1sum | cut -c1-12)

.PHONY: install plan test docs bench clean validator-tools validate

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

plan: $(STAMP)
	$(PY) -m automation plan --stack $(STACK)

test: $(STAMP)
	$(PY) -m pytest

docs: $(STAMP)
	$(PY) -m tools.gen_docs

# Outside validators (validators/, README "Outside validators"): the offline plan of each stack into a
# temp dir, then kubernetes-validate (strict), Kubeflow's models, the vendored upstream CRDs (schema, CEL),
# the Trainer/Kueue admission checks, Helm values against the pinned charts, checkov and parliament.
# checkov and parliament pin old shared packages: they get their own venvs under .tools/, rebuilt from
# validators/{requirements,constraints}-<tool>.txt whenever those change.
# Every stack present (Pulumi.<stack>.yaml), not only dev and prod.
VALIDATE_STACKS ?= $(sort $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml)))

validator-tools: $(STAMP)
	$(PY) -m validators.envs ensure

validate: validator-tools
	$(PY) -m validators $(addprefix --stack ,$(VALIDATE_STACKS))

# Plan time/memory and scaling, deploy critical path, monthly cost -> BENCHMARKS.md (not part of .ci/run).
bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .tools .pytest_cache .hypothesis
