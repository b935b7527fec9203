# patchbay — the two entry points: `make run` (gateway on its built-in sandbox) and `make test`
# (the whole suite, exactly what CI runs). Both install what the build needs when it is missing.

SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= gateway.toml

.PHONY: run test deps test-deps schemathesis-deps sdk-deps build fmt-check clippy deploy-check unit-and-integration

run: deps
	$(CARGO) run --release --bin patchbay -- serve -c $(CONFIG)

test: deps test-deps schemathesis-deps sdk-deps fmt-check clippy deploy-check unit-and-integration

# System packages: Pingora's TLS stack builds C code with cmake and a C compiler.
deps:
	@missing=""; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v cc >/dev/null || missing="$$missing build-essential"; \
	command -v clang >/dev/null || missing="$$missing clang"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# What the tests need besides the build: promtool and a Prometheus server (tests/ops.rs scrapes
# the gateway with both; scripts/check-deploy.sh validates deploy/ with promtool), Python's
# venv (check-deploy.sh installs its validators into one) and `redis-server` (tests/cluster.rs
# starts its own on loopback). Debian's `prometheus` and `redis-server` packages would start
# their daemons on install: a temporary policy-rc.d (only when none exists) prevents that.
test-deps:
	@missing=""; \
	{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || missing="$$missing prometheus"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		policy=/usr/sbin/policy-rc.d; created=""; \
		if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy && chmod 755 $$policy && created=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		rc=$$?; \
		if [ -n "$$created" ]; then rm -f $$policy; fi; \
		exit $$rc; \
	fi

# Schemathesis (PyPI, pinned) for tests/openapi.rs, which runs it against a live gateway.
schemathesis-deps: test-deps
	bash scripts/schemathesis.sh --install-only

# The published Help Scout SDKs (PyPI and npm, pinned) for tests/sdks.rs, which drives each one
# through a live gateway; installs Node.js/npm from Debian when missing.
sdk-deps: test-deps
	bash scripts/sdks.sh --install-only

# Every file in deploy/ (and bench/) with real validators; installs them when missing. The
# `patchbay check` steps use the debug binary the tests use.
deploy-check: deps test-deps
	$(CARGO) build --bin patchbay
	PATCHBAY_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/patchbay" bash scripts/check-deploy.sh

build: deps
	$(CARGO) build --release --bin patchbay

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

unit-and-integration:
	$(CARGO) test --all-targets
