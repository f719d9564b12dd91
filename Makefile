# Vigil — every target installs what it needs; `make setup` is idempotent.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
VIGIL := $(VENV)/bin/vigil
PYTEST_ARGS ?=

.PHONY: setup test unit lint eval eval-networks bench bench-scale demo deploy-check stack-up stack-down clean

setup:
	bash deploy/local/setup.sh

test: setup lint eval
	bash deploy/local/run-tests.sh $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest -m "not integration and not tor and not browser" $(PYTEST_ARGS)

# extraction precision/recall on the project's labelled sets and the DIG oracle (docs/extraction.md),
# network pair precision/recall on the synthetic networks (docs/networks.md)
eval: setup eval-networks
	PYTHONPATH=$(CURDIR) $(PY) tests/eval/harness.py

lint: setup
	$(VENV)/bin/ruff check vigil crawlers pipelines scheduler tests bench eval deploy
	$(VENV)/bin/lint-imports

# the default corpus (P >= 0.95, R >= 0.8), a harder one (other seed, more stock phrases shared by
# unrelated ads, more phone changes, more sites; P >= 0.95, R >= 0.8), then real DIG ads (printed only)
eval-networks: setup
	$(PY) -m eval.networks $(NETWORKS_EVAL_ARGS)
	$(PY) -m eval.networks --seed 13 --unrelated 800 --stock-phrases 8 --phone-change 0.5 --extra-sites 12 --edit-rate 0.05 $(NETWORKS_EVAL_ARGS)
	$(PY) -m eval.dig_networks

bench: setup
	$(VIGIL) stack up
	$(VIGIL) init
	@summary=$$(mktemp); trap 'rm -f $$summary' EXIT; \
	for script in bench/*.py; do \
	  case $$script in bench/targets.py|bench/scale.py) continue;; esac; \
	  echo "== $$script"; BENCH_SUMMARY=$$summary $(PY) $$script || exit 1; \
	done; echo "== targets"; cat $$summary

# growth: 10k/50k/200k synthetic ads (long; see docs/performance.md)
bench-scale: setup
	$(VIGIL) stack up
	$(VIGIL) init
	$(PY) bench/scale.py $(SCALE_ARGS)

demo: setup
	$(VIGIL) demo --once

deploy-check: setup
	bash deploy/check.sh

stack-up: setup
	$(VIGIL) stack up

stack-down:
	$(VIGIL) stack down

clean:
	-$(VIGIL) stack down
	rm -rf .pytest_cache .ruff_cache
