# patchbay — the two entry points: `make run` (gateway on its built-in sandbox) and `make test`
# (the whole suite, exactly what CI runs). Both install what the build needs when it is missing.

SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= gateway.toml

.PHONY: run test deps build fmt-check clippy unit-and-integration check-configs

run: deps
	$(CARGO) run --release --bin patchbay -- serve -c $(CONFIG)

test: deps fmt-check clippy unit-and-integration

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

build: deps
	$(CARGO) build --release --bin patchbay

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

unit-and-integration:
	$(CARGO) test --all-targets
