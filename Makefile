# Tributary build and test entry points. See README.md.
GO        ?= go
BIN       := bin
PKGS      := ./...
# Packages whose tests exercise concurrency run under the race detector.
RACE_PKGS := ./broker/...
# Fuzz targets run briefly in `make test` as regression tests; `make fuzz FUZZTIME=1m` runs them longer.
FUZZTIME  ?= 3s

.PHONY: all build run test test-unit fuzz bench lint deps clean proto

all: build

build:
	@mkdir -p $(BIN)/plugins
	$(GO) build -o $(BIN)/tributary ./cmd/tributary
	@# Every main package under connectors/ is a plugin binary named after its folder.
	@set -e; for dir in connectors/*/; do \
	  name=$$(basename $$dir); \
	  if [ "$$($(GO) list -f '{{.Name}}' ./$$dir 2>/dev/null)" = main ]; then \
	    echo "$(GO) build -o $(BIN)/plugins/$$name ./$$dir"; \
	    $(GO) build -o $(BIN)/plugins/$$name ./$$dir; \
	  fi; \
	done

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

# Regenerates the plugin gRPC protocol. Needs protoc (Debian: protobuf-compiler) and
# protoc-gen-go / protoc-gen-go-grpc on PATH (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
# google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2). `make test` does not need it.
proto:
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" protoc -I plugins/pluginpb \
	  --go_out=plugins/pluginpb --go_opt=paths=source_relative \
	  --go-grpc_out=plugins/pluginpb --go-grpc_opt=paths=source_relative \
	  plugins/pluginpb/plugin.proto

clean:
	rm -rf $(BIN)
