# tinystack: `make up` runs a cloud on this machine, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STATE_DIR ?= $(HOME)/.local/share/tinystack

.PHONY: up test lint typecheck host-deps clean bench-identity bench-network

$(BIN)/python:
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || $(MAKE) host-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# pip already retries each request; the loop rides out a registry outage of a few minutes.
PIP_INSTALL = for try in 1 2 3 4; do $(BIN)/pip install -q $(1) && exit 0; \
	echo "pip install failed (try $$try), retrying in 30 s" >&2; sleep 30; done; exit 1

## Glance's metadata definition files: the image service loads them at bootstrap from the
## installed `glance` distribution (its data files only; --no-deps, nothing of it is imported).
METADEFS = glance==33.0.0
## The extras (a comma would split $(call ...)'s arguments, hence variables)
RUN_EXTRAS = .[clients,dashboard]
TEST_EXTRAS = .[test,clients,dashboard,horizon]
## `make up HORIZON=1` also installs upstream Horizon (tinystack[horizon]); `tinystack up`
## serves it when installed ([dashboard] horizon_port, 8001)
HORIZON ?=

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@($(call PIP_INSTALL,-e '$(RUN_EXTRAS)'))
	@($(call PIP_INSTALL,--no-deps $(METADEFS)))
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@($(call PIP_INSTALL,-e '$(TEST_EXTRAS)'))
	@($(call PIP_INSTALL,--no-deps $(METADEFS)))
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-horizon: pyproject.toml | $(VENV)/.installed
	@($(call PIP_INSTALL,-e '.[horizon]'))
	@touch $@

## Packages a fresh Debian/Ubuntu needs: as root, the missing ones are installed (the
## real data plane, QEMU, the test image's inputs); otherwise nothing is (emulated mode).
HOST_PACKAGES = python3 python3-venv python3-dev gcc iproute2 iptables nftables dnsmasq-base \
	radvd iputils-arping iputils-ping linux-image-cloud-amd64 busybox-static dropbear-bin \
	grub-pc-bin grub-common xorriso mtools qemu-utils qemu-system-x86 qemu-block-extra novnc
## and what the suite's browser tests drive (playwright with Debian's chromium, no download)
test: HOST_PACKAGES += chromium

host-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=""; \
		for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
				|| echo "warning: could not install:$$missing" >&2; \
		fi; \
	elif ! $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then \
		echo "not root: install python3-venv yourself (or run: sudo make host-deps)"; \
	fi

## Start the whole cloud in one process (Ctrl-C stops it; state persists in STATE_DIR).
## As root with QEMU: real guests from the test image (built on first use) and the Linux
## data plane; otherwise the fake driver and the emulated network (the log says which).
up: host-deps $(VENV)/.installed $(if $(HORIZON),$(VENV)/.installed-horizon)
	@$(BIN)/tinystack image build-test --state-dir $(STATE_DIR) \
		|| echo "test image not built: servers need an image you upload yourself"
	$(BIN)/tinystack up --state-dir $(STATE_DIR)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check tinystack tests benchmarks tools examples
	$(BIN)/ruff format --check tinystack tests benchmarks tools examples
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

## The whole suite on 4 xdist workers (tests/conftest.py says which modules share a worker;
## PYTEST_WORKERS=0 runs it in one process); pytest's "no tests collected" (exit 5) is a failure.
## A test that outlives TINYSTACK_TEST_TIMEOUT is interrupted with its stacks printed, and a run
## that outlives TINYSTACK_SUITE_DEADLINE stops with its summary (tests/watchdog.py).
PYTEST_WORKERS ?= 4
TINYSTACK_TEST_TIMEOUT ?= 600
TINYSTACK_SUITE_DEADLINE ?= 4200
test: host-deps lint typecheck
	@TINYSTACK_TEST_TIMEOUT=$(TINYSTACK_TEST_TIMEOUT) TINYSTACK_SUITE_DEADLINE=$(TINYSTACK_SUITE_DEADLINE) \
		$(BIN)/python -m pytest -p no:cacheprovider \
		$(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder) \
		$(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench-identity: $(VENV)/.installed
	$(BIN)/python benchmarks/identity.py --os-cloud tinystack-admin

bench-network: $(VENV)/.installed
	$(BIN)/python benchmarks/network.py --os-cloud tinystack-admin

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
