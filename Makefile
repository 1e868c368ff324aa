# Pexia build, test and demo entry points. Every target installs what it
# needs; run as root (or with sudo available) on a fresh Debian machine.

SHELL := /bin/bash
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)
BIN := bin
DEVNET_DIR ?= $(CURDIR)/.devnet
APT_PACKAGES := nodejs npm gcc
# Tools the end-to-end tests and benchmarks drive (network namespaces,
# firewall listing, ordinary clients).
APT_TOOLS := curl iproute2 nftables dnsutils iputils-ping
# The desktop app (cmd/pexia-gui, Fyne) builds with cgo against OpenGL and
# X11; its test runs it on xvfb, clicks with xdotool and grabs frames with
# xwd (x11-apps).
APT_GUI := gcc pkg-config libgl1-mesa-dev xorg-dev xvfb xdotool x11-apps
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build generate check-generated test unit e2e soak fuzz bench bench-check demo lint staticcheck package clean

all: build

# deps installs system packages (when missing) and the pinned Solidity compiler.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if ! command -v node >/dev/null || ! command -v npm >/dev/null || ! command -v gcc >/dev/null; then \
	  if [ -n "$$missing" ]; then echo "installing:$$missing"; $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
	@missing=""; for p in $(APT_TOOLS) $(APT_GUI); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@cd contracts && [ -d node_modules/solc ] || npm ci --no-audit --no-fund --loglevel=error
	$(GO) mod download

build: deps
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

# generate recompiles the contracts with the pinned solc and regenerates the
# Go bindings in place.
generate: deps
	contracts/gen.sh

# check-generated fails when the committed artifacts or bindings differ from
# what the committed sources compile to.
check-generated: deps
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	contracts/gen.sh $$tmp >/dev/null 2>&1 || { contracts/gen.sh $$tmp; exit 1; }; \
	status=0; \
	diff -r $$tmp/build contracts/build || status=1; \
	for p in lottery directory registry curator testtoken chaintest/reentranttoken; do diff -u $$tmp/$$p/$${p##*/}.go contracts/$$p/$${p##*/}.go || status=1; done; \
	if [ $$status != 0 ]; then echo "contracts: committed artifacts or bindings are stale; run 'make generate' and commit"; exit 1; fi; \
	echo "contracts: artifacts and bindings match the sources"

# lint checks formatting, that go.mod and go.sum are tidy, vet (with the e2e
# and soak tags, which add files and drop none), the dependency rules of the
# architecture (internal/deptest; also part of unit), that the portable
# packages (CROSS_PKGS) build and vet for the CROSS_GOOS systems, and
# staticcheck.
CROSS_GOOS := windows darwin
CROSS_PKGS := ./cmd/pexia ./api/... ./rules/... ./wallet/...
lint: deps staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; exit 1; }
	$(GO) vet -tags e2e,soak ./...
	$(GO) test -count=1 ./internal/deptest
	@for os in $(CROSS_GOOS); do echo "GOOS=$$os go build and vet $(CROSS_PKGS)"; \
	  GOOS=$$os $(GO) build $(CROSS_PKGS) && GOOS=$$os $(GO) vet $(CROSS_PKGS) || { echo "$(CROSS_PKGS) must build on $$os"; exit 1; }; done

# staticcheck runs staticcheck v0.8.2 with staticcheck.conf (and
# contracts/staticcheck.conf). It is pinned in its own tools/staticcheck.mod
# so its requirements don't move the versions the product builds with.
staticcheck: deps
	$(GO) tool -modfile=tools/staticcheck.mod staticcheck -tags e2e,soak ./...

# unit runs every Go test with the race detector.
unit: deps
	$(GO) test -race -count=1 -timeout 30m ./...

# e2e runs the end-to-end tests: real binaries as separate processes.
e2e: deps
	$(GO) test -count=1 -timeout 30m -tags e2e -v ./e2e/...

# soak runs pexiad and the nodes in the namespace world for SOAK_DURATION
# (as root): flows over a 3-hop circuit all the time, a relay of the
# circuit restarted every few minutes, disconnects and connects; it fails
# on a stuck flow, on growing RSS or goroutines (sampled each minute) and
# on routes, rules or firewall tables left behind. Not part of test. The
# curves go to SOAK_OUT.
SOAK_DURATION ?= 20m
SOAK_OUT ?= $(CURDIR)/e2e/soak-results.json
soak: deps
	$(GO) test -count=1 -timeout 90m -tags e2e,soak -run '^TestSoak(Rules)?$$' -v ./e2e/ \
	  -soak.duration=$(SOAK_DURATION) -soak.out=$(SOAK_OUT)

# fuzz runs each decoder fuzz target for FUZZTIME (bounded, for CI).
FUZZTIME ?= 15s
FUZZ_TARGETS := hop/onion:FuzzDecodeCell hop/onion:FuzzHandshake hop/onion:FuzzOpen hop/onion:FuzzDatagram hop/stream:FuzzDeliver hop/stream:FuzzDatagrams relay:FuzzParseExitPolicy
fuzz: deps
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; done

test: deps check-generated lint unit e2e fuzz

# bench runs every benchmark (as root) and replaces bench/results.json with
# the run's metrics, stamped with the commit, date, CPU and kernel.
bench: deps
	$(GO) run ./bench -out bench/results.json

# bench-check fails when bench/results.json does not recompute (a ratio
# that is not its inputs' quotient, a metric without a stamped run) or a
# figure README.md or docs/*.md takes from it differs.
bench-check:
	$(GO) run ./bench -check -out bench/results.json

# demo starts the local world: a go-ethereum chain with the contracts
# deployed and funded test accounts, and the local nodes staked on it.
demo: build
	BIN=$(BIN) DEVNET_DIR=$(DEVNET_DIR) scripts/demo.sh

package: build
	@mkdir -p dist
	tar -C $(BIN) -czf dist/pexia-linux-$$($(GO) env GOARCH).tar.gz .
	@echo "dist/pexia-linux-$$($(GO) env GOARCH).tar.gz"

clean:
	rm -rf $(BIN) dist
