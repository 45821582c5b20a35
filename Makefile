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

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@($(call PIP_INSTALL,-e .))
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@($(call PIP_INSTALL,-e '.[test]'))
	@touch $@ $(VENV)/.installed

## Packages a fresh Debian/Ubuntu needs (run as root; `sudo make host-deps` otherwise).
host-deps:
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			python3 python3-venv python3-dev gcc iproute2 iptables nftables dnsmasq-base radvd \
			iputils-arping iputils-ping linux-image-cloud-amd64 busybox-static dropbear-bin grub-pc-bin \
			grub-common xorriso mtools qemu-utils qemu-system-x86 >/dev/null; \
	else echo "not root: install python3-venv yourself (or run: sudo make host-deps)"; fi

## Start the whole cloud in one process (Ctrl-C stops it; state persists in STATE_DIR).
## As root with QEMU: real guests from the test image (built on first use) and the Linux
## data plane; otherwise the fake driver and the emulated network (the log says which).
up: $(VENV)/.installed
	@$(BIN)/tinystack image build-test --state-dir $(STATE_DIR) \
		|| echo "test image not built: servers need an image you upload yourself"
	$(BIN)/tinystack up --state-dir $(STATE_DIR)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check tinystack tests benchmarks tools
	$(BIN)/ruff format --check tinystack tests benchmarks tools

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

## The whole suite; pytest's "no tests collected" (exit 5) is a failure.
test: lint typecheck
	@$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench-identity: $(VENV)/.installed
	$(BIN)/python benchmarks/identity.py --os-cloud tinystack-admin

bench-network: $(VENV)/.installed
	$(BIN)/python benchmarks/network.py --os-cloud tinystack-admin

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
