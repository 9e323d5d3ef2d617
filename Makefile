# ddconn — make targets. `make dev` runs ddconn locally; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
BIN         := $(CURDIR)/.bin
STATICCHECK := $(BIN)/staticcheck
RIE         := $(BIN)/aws-lambda-rie
STATICCHECK_VERSION := v0.8.2
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d

# The functions SAM builds, by logical id → folder under functions/.
FUNCTIONS := CreateFunction:create ValidateFunction:validate ManageFunction:manage RotateFunction:rotate

# How every Lambda binary is built (SAM's makefile builder calls build-<LogicalId>).
LAMBDA_GOOS   ?= linux
LAMBDA_GOARCH ?= arm64
LAMBDA_BUILD  = GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

# The tests' bootstraps: $(BOOTSTRAPS)/<GOARCH>/<LogicalId>/bootstrap, built
# by the build-<LogicalId> targets. The deploy tests inspect the arm64 ones
# (what ships); e2e runs the host ones under the RIE, which runs only
# binaries of its own architecture. The tests find the folder in
# DDCONN_BOOTSTRAPS (internal/testkit).
BOOTSTRAPS  := $(CURDIR)/build/bootstraps
HOST_GOARCH := $(shell $(GO) env GOARCH)

# go test's -timeout covers running a test binary, not compiling it.
UNIT_TIMEOUT ?= 20m
E2E_TIMEOUT  ?= 20m

.PHONY: help dev dev-reset cli test unit lint tools build bootstraps deploy e2e bench bench-scale clean

# One target at a time, even under -j: two cold builds for different targets
# at once need twice the memory (the Datadog client alone takes gigabytes).
.NOTPARALLEL:

help: ## List the targets.
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-12s %s\n", $$1, $$2}'

dev: cli ## Run ddconn locally: API :3000, Secrets Manager emulator :4566, Datadog simulator :4580.
	$(GO) build -o $(BIN)/ddconn-dev ./cmd/ddconn-dev
	exec $(BIN)/ddconn-dev $(DEV_FLAGS)

# The operators' CLI (docs/cli.md); it imports no Datadog client package,
# so it builds in seconds.
cli: ## Build the ddconn CLI into .bin/ddconn (make dev builds it too).
	$(GO) build -trimpath -o $(BIN)/ddconn ./cmd/ddconn

# DEV_DATA is where `make dev` keeps its data (ddconn-dev's -data-dir default).
DEV_DATA ?= .ddconn-dev

# dev-reset refuses while a dev stack serves DEV_DATA (its pid file names a
# live ddconn-dev): both stand-ins would keep what they hold in memory and
# write it back, out of step with each other.
dev-reset: ## Wipe the data `make dev` keeps between runs (stop `make dev` first).
	@pid=$$(cat $(DEV_DATA)/ddconn-dev.pid 2>/dev/null); \
	  if [ -n "$$pid" ] && ps -p "$$pid" -o comm= 2>/dev/null | grep -q ddconn-dev; then \
	    echo "make dev-reset: make dev is running (pid $$pid) on $(DEV_DATA)/: stop it with Ctrl-C, then run make dev-reset again" >&2; \
	    exit 1; \
	  fi
	rm -rf $(DEV_DATA)

test: lint unit e2e ## Every check CI runs: lint, go test -race, the binaries under the Lambda RIE.

unit: bootstraps-arm64 ## go test -race over the whole module, plus the checks too slow under -race.
	DDCONN_BOOTSTRAPS=$(BOOTSTRAPS) $(GO) test -race -count=1 -timeout $(UNIT_TIMEOUT) ./...
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) -run 'TestSpecSubsetMatchesFullDocument' ./internal/ddsim/
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) -run 'TestScaleReduced' ./internal/scale/

lint: $(STATICCHECK) ## gofmt, go vet, staticcheck.
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

tools: $(STATICCHECK) $(RIE) ## Fetch the pinned tools into .bin/ through the Go module proxy.

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(RIE):
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# build-<LogicalId>: one target per function, as SAM's makefile builder expects.
define build_function
.PHONY: build-$(1)
build-$(1):
	$$(if $$(ARTIFACTS_DIR),,$$(error ARTIFACTS_DIR is not set: SAM sets it; by hand use make build))
	$$(LAMBDA_BUILD) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call build_function,$(word 1,$(subst :, ,$(f))),$(word 2,$(subst :, ,$(f))))))

build: ## Build every function's bootstrap (linux/arm64) into build/<LogicalId>/.
	@for f in $(FUNCTIONS); do id=$${f%%:*}; \
	  echo "building $$id"; $(MAKE) --no-print-directory build-$$id ARTIFACTS_DIR=$(CURDIR)/build/$$id || exit 1; done

bootstraps: bootstraps-arm64 bootstraps-$(HOST_GOARCH) ## Build every function for linux/arm64 and for the host into build/bootstraps/ (the tests' copies).

# bootstraps-<GOARCH>: every function for linux/<GOARCH>, one at a time: a
# cold build of the Datadog client takes minutes and gigabytes per target.
# The go build cache makes a repeat run relink only.
bootstraps-%:
	@for f in $(FUNCTIONS); do id=$${f%%:*}; start=$$SECONDS; \
	  echo "bootstraps: building $$id for linux/$* into build/bootstraps/$*/$$id/ (a cold build takes minutes)"; \
	  $(MAKE) --no-print-directory build-$$id ARTIFACTS_DIR=$(BOOTSTRAPS)/$*/$$id LAMBDA_GOARCH=$* || exit 1; \
	  echo "bootstraps: $$id for linux/$* done in $$((SECONDS - start))s"; done

deploy: ## sam build && sam deploy (needs the SAM CLI and AWS credentials).
	sam build
	sam deploy

clean: ## Remove build outputs and tools.
	rm -rf build .bin .aws-sam

# --- e2e and bench ---
# Both run the binaries that ship, built by the build-<LogicalId> targets above
# for the host architecture, under the Lambda Runtime Interface Emulator.

e2e: $(RIE) bootstraps-$(HOST_GOARCH) ## End-to-end: the shipped binaries under the Lambda RIE against the stand-ins.
	DDCONN_BOOTSTRAPS=$(BOOTSTRAPS) $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v ./e2e/... -args -rie $(RIE)

bench: $(RIE) ## Sizes, cold starts, warm latency, peak RSS → docs/benchmarks.md.
	$(GO) run ./scripts/bench -out docs/benchmarks.md

# bench-scale runs in process (no RIE): 100, 1,000 and 10,000 secrets in the
# stand-ins with latency and rate limits (internal/scale). BENCH_SCALE_FLAGS
# passes -n, -datadog-latency, -secretsmanager-latency.
bench-scale: ## Sweeps, rotation bursts and list pages at 100/1,000/10,000 secrets → docs/scale.md.
	$(GO) run ./scripts/benchscale -out docs/scale.md $(BENCH_SCALE_FLAGS)
# --- end e2e and bench ---
