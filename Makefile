# Tributary build and test entry points. See README.md.
GO        ?= go
BIN       := bin
PKGS      := ./...
# Packages whose tests exercise concurrency run under the race detector.
RACE_PKGS := ./broker/...
# Fuzz targets run briefly in `make test` as regression tests; `make fuzz FUZZTIME=1m` runs them longer.
FUZZTIME  ?= 3s

.PHONY: all build run test test-unit fuzz bench lint deps clean

all: build

build:
	@mkdir -p $(BIN)/plugins
	$(GO) build -o $(BIN)/tributary ./cmd/tributary

run: build
	./$(BIN)/tributary serve --data-dir ./data

deps:
	@./.ci/install-deps.sh

test: deps lint
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -v '/broker/')
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

# Storage benchmarks beside the raw-file limit of the same disk, as one table.
bench:
	@mkdir -p bench-out
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./broker/log/ | tee bench-out/log.txt
	@echo
	@awk -f .ci/benchtable.awk bench-out/log.txt

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; find . -name '*.go' -newer go.mod 2>/dev/null) | sort -u); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
