# Jobber: `make demo` runs the main job on the embedded defaults; `make test` runs every test.
# Both create .venv (and install what they need) themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint typecheck pytest pg pg-if-root netlab netlab-if-root emulate-deps emulate \
	demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check src tests benchmarks

typecheck: venv
	$(BIN)/mypy

# A private PostgreSQL for the store's tests (scripts/postgres.sh; `scripts/postgres.sh stop` ends it).
pg: venv
	scripts/postgres.sh > $(VENV)/pg.url.tmp && mv $(VENV)/pg.url.tmp $(VENV)/pg.url
	@cat $(VENV)/pg.url

# Root can start PostgreSQL itself; others export JOBBER_TEST_PG_URL or the PostgreSQL tests skip.
pg-if-root: venv
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory pg > /dev/null; \
	else echo "not root: PostgreSQL store tests need JOBBER_TEST_PG_URL (or make pg as root)"; fi

# What the OpenFlow integration tests need (Open vSwitch, ping, ip, nft); they start their own
# private OVS with scripts/ovs.sh. Root installs them; others skip those tests (with a reason).
NETLAB_PACKAGES := openvswitch-switch iputils-ping iproute2 nftables
# ... and what `jobber emulate` (and its integration test) adds: traffic, honest SSH, the
# security stack's log daemon. Installing a Debian package here never starts its service.
EMULATE_PACKAGES := $(NETLAB_PACKAGES) iperf3 openssh-server openssh-client ulogd2
netlab:
	@missing=""; for p in $(NETLAB_PACKAGES); do \
		dpkg -s $$p > /dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; fi

netlab-if-root:
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory netlab emulate-deps; \
	else echo "not root: OpenFlow and emulation tests (Open vSwitch, namespaces) will skip"; fi

# Everything `jobber emulate` needs (root): apt-get update only when an install needs it.
emulate-deps:
	@missing=""; for p in $(EMULATE_PACKAGES); do \
		dpkg -s $$p > /dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; fi

# The emulated data center (root): namespaces, Open vSwitch, security stack, real Jobber servers.
emulate: venv emulate-deps
	$(BIN)/jobber emulate default

pytest: venv pg-if-root netlab-if-root
	if [ -z "$${JOBBER_TEST_PG_URL:-}" ] && [ -s $(VENV)/pg.url ]; then \
		JOBBER_TEST_PG_URL=$$(cat $(VENV)/pg.url); export JOBBER_TEST_PG_URL; fi; \
	$(BIN)/pytest -q

test: lint typecheck pytest

demo: venv
	$(BIN)/jobber demo

bench: venv
	$(BIN)/python benchmarks/trust_core.py --quick
	$(BIN)/python benchmarks/simulator.py --quick

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
