# The two commands a fresh machine needs:
#   make plan STACK=dev   install what the plan needs, then run the offline plan (mocks + the real policy pack)
#   make test             install that and the test tools, then run the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# Two layers, each installed once per change of its pins: what the offline plan needs (the program's
# runtime and the policy pack's: requirements.txt + policies/requirements.txt), and on top of it the
# test and validator tools (requirements-dev.txt). `make plan` installs only the first.
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt policies/requirements.txt constraints.txt | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt | sha1sum | cut -c1-12)
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --progress-bar off

.PHONY: install runtime plan test docs bench clean validator-tools validate

$(RUNTIME_STAMP):
	@test -x $(PY) || { echo "==> creating the virtualenv $(VENV) ($(PYTHON) -m venv)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing what the plan needs into $(VENV): pulumi, the AWS/EKS/Kubernetes providers' SDKs and pulumi-policy (requirements.txt, policies/requirements.txt; pinned, locked by constraints.txt)"
	@echo "    first time only: about a minute from a warm pip cache, longer from PyPI"
	$(PIP) -r requirements.txt -r policies/requirements.txt -c constraints.txt
	@rm -f $(VENV)/.runtime-* && touch $@
	@echo "==> $(VENV) has the plan's runtime"

$(STAMP): | $(RUNTIME_STAMP)
	@echo "==> installing the test and validator tools into $(VENV) (requirements-dev.txt: pytest, hypothesis, Kubeflow models, check-jsonschema, kubernetes-validate)"
	$(PIP) -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

runtime: $(RUNTIME_STAMP)

install: $(STAMP)

plan: $(RUNTIME_STAMP)
	@echo "==> offline plan of stack $(STACK): the program under Pulumi's mocks, then the policy pack over gRPC (no cloud, no Pulumi CLI)"
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
