# Keyplane: the two commands that matter are `make run` and `make test`.
CARGO ?= cargo

.PHONY: run test test-sqlite test-postgres lint fmt bench services build bin chart fuzz

## Run the server on the embedded default: SQLite under ./data, in-process cache.
run:
	$(CARGO) run -p keyplane-server --bin keyplane -- serve

build:
	$(CARGO) build --workspace --locked

## Run the whole suite twice: SQLite + in-process cache, then PostgreSQL + Redis.
## Starts (or installs) PostgreSQL and Redis first when they are not running.
test: services bin test-sqlite test-postgres

## The binary itself: the shutdown test runs it as a real process.
bin:
	$(CARGO) build -p keyplane-server --bin keyplane --locked

services:
	bash .ci/services

test-sqlite:
	TEST_DATABASE=sqlite TEST_CACHE=memory $(CARGO) test --workspace --locked

test-postgres:
	TEST_DATABASE=postgres TEST_CACHE=redis $(CARGO) test --workspace --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Load test against a release server (needs wrk; installs it when absent).
bench:
	bash benches/load.sh

## Lint and render the Helm chart (charts/keyplane) and check the manifests.
chart:
	bash .ci/chart-check

## Fuzz every parser that takes untrusted input for FUZZ_SECONDS each
## (tests/fuzz, docs/fuzzing.md); fails if any target crashes. Installs
## cargo-fuzz when absent. `make fuzz FUZZ_SECONDS=600` is the long run.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh
