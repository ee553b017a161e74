# Tributary build and test entry points. See README.md.
GO        ?= go
BIN       := bin
# VERSION is what `tributary version` prints: the nearest tag, or the commit.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Every package with concurrency runs its tests under the race detector; cmd/
# tests drive separate processes and run without it.
RACE_PKGS   = $(shell $(GO) list ./... | grep -v '/cmd/')
NORACE_PKGS = $(shell $(GO) list ./cmd/...)
# Fuzz targets run briefly in `make test` as regression tests (seed corpus plus
# FUZZTIME executions; a count, not a duration, so a loaded machine cannot time
# the fuzz coordinator out); `make fuzz FUZZTIME=1m` runs them longer.
FUZZTIME  ?= 20000x

.PHONY: all build run cluster cluster-stop test test-unit fuzz bench lint deps clean proto console-screenshots

all: build

build:
	@mkdir -p $(BIN)/plugins
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/tributary ./cmd/tributary
	@# Every main package under connectors/ is a plugin binary named after its folder.
	@set -e; for dir in connectors/*/; do \
	  name=$$(basename $$dir); \
	  if [ "$$($(GO) list -f '{{.Name}}' ./$$dir 2>/dev/null)" = main ]; then \
	    echo "$(GO) build -o $(BIN)/plugins/$$name ./$$dir"; \
	    $(GO) build -o $(BIN)/plugins/$$name ./$$dir; \
	  fi; \
	done

# `make run` serves one node with the embedded defaults (Kafka localhost:9092,
# HTTP :8080) on DATA; TRIBUTARY_* environment variables override the defaults
# (cmd/tributary's TestMakeRun runs it on free ports and a temporary DATA).
DATA ?= ./data

run: build
	$(BIN)/tributary serve --data-dir $(DATA)

# Three nodes on loopback: Kafka ports 9092/9094/9096 (raft 9093/9095/9097,
# HTTP 8080-8082), data and logs in ./data/node-N, pid files beside them.
# Do not mix with `make run`, which uses ./data itself. See deploy/README.md.
cluster: build
	@BIN=$(BIN)/tributary ./deploy/local/cluster.sh start

cluster-stop:
	@BIN=$(BIN)/tributary ./deploy/local/cluster.sh stop

deps:
	@./.ci/install-deps.sh

test: deps lint
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 15m $(NORACE_PKGS)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# Every Fuzz* target in the module, each for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || { echo "FAIL fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg | tail -30; exit 1; }; \
	  done; \
	done

# The benchmark table (README "Performance"): the broker as a separate process
# on loopback, produce/consume/end-to-end via platform/perf, the limits of this
# machine measured in the same run, three nodes with RF=3, a topic-to-topic
# pipeline (`tributary pipeline run`), streams word count with exactly-once on
# and off (streams' BenchmarkWordCount, WCBENCHTIME runs of 500,000 words each)
# and the broker/log storage benchmarks.
# PROFILE=1 also saves the broker's pprof CPU and allocation profiles in bench-out/.
PROFILE     ?=
BENCHTIME   ?= 1s
WCBENCHTIME ?= 3x
bench: build
	@mkdir -p bench-out
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 1 ./broker/log/ > bench-out/log.txt
	TRIBUTARY_TEST_BIN=$(abspath $(BIN))/tributary $(GO) test -run '^$$' -bench '^BenchmarkWordCount$$' -benchtime $(WCBENCHTIME) -count 1 ./streams/ > bench-out/streams.txt
	$(GO) run ./platform/perf/bench --bin $(BIN)/tributary --out bench-out --storage bench-out/log.txt --streams bench-out/streams.txt $(if $(PROFILE),--profile)

# PNGs of every web console page (README), taken by headless Chromium from
# a node with topics, a group, a connector and a pipeline (platform/console_test.go).
console-screenshots: deps
	@mkdir -p bench-out/console
	CONSOLE_SCREENSHOTS=$(CURDIR)/bench-out/console $(GO) test -count=1 -run '^TestConsole$$' ./platform/
	@ls bench-out/console

lint:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
