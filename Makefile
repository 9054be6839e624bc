# provgraph — run `make help` for the targets.
#
# Quick start on a fresh machine:  make run   (local Neo4j + service; prints a link that signs in to the console)
#                                  make test  (all tests against a real Neo4j)

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/provgraph
ADDR      ?= $(or $(PROVGRAPH_ADDR),127.0.0.1:8080)
# The local Neo4j started by scripts/neo4j.sh when NEO4J_URI is unset.
LOCAL_NEO4J_URI := bolt://$(or $(NEO4J_BOLT_ADDR),127.0.0.1:7687)
GO_TEST_FLAGS ?= -race -count=1 -timeout 15m

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "; printf "Targets:\n"} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@printf "\nNEO4J_URI set: run and test use that Neo4j; unset: they start the local one (.data/).\n"

# The local admin token make run keeps (created on first run, reused after; git-ignored).
ADMIN_TOKEN_FILE := .data/admin-token
# The key that signs the local audit log's checkpoints (made on first run, reused after; git-ignored).
AUDIT_KEY_FILE := .data/audit.key
# The key-encryption key that seals the local access keys' secrets (SageMaker API, SigV4;
# made on first run, reused after; git-ignored): provgraph token create --aws --key-encryption-key $(KEK_FILE).
KEK_FILE := .data/access-keys.kek

.PHONY: run
run: build ## start the local Neo4j (when NEO4J_URI is unset) and serve provgraph on PROVGRAPH_ADDR (127.0.0.1:8080); prints the console's sign-in link with a local admin token
ifeq ($(strip $(NEO4J_URI)),)
	@scripts/neo4j.sh start
	@$(MAKE) --no-print-directory $(AUDIT_KEY_FILE) $(KEK_FILE)
	@echo "provgraph: starting on http://$(ADDR)/; once it serves it prints a link that signs you in  (Ctrl-C stops provgraph; 'make neo4j-stop' stops Neo4j)"
	NEO4J_URI=$(LOCAL_NEO4J_URI) PROVGRAPH_ADDR=$(ADDR) $(BIN) serve --bootstrap-admin-token-file $(ADMIN_TOKEN_FILE) --audit-key $(AUDIT_KEY_FILE) --key-encryption-key $(KEK_FILE)
else
	@$(MAKE) --no-print-directory $(AUDIT_KEY_FILE) $(KEK_FILE)
	@echo "provgraph: starting on http://$(ADDR)/ (Neo4j at $(NEO4J_URI)); once it serves it prints a link that signs you in"
	PROVGRAPH_ADDR=$(ADDR) $(BIN) serve --bootstrap-admin-token-file $(ADMIN_TOKEN_FILE) --audit-key $(AUDIT_KEY_FILE) --key-encryption-key $(KEK_FILE)
endif

# The Python virtualenv with the real MLflow and OpenLineage clients the ingest tests
# drive (tools/clients/requirements.txt); rebuilt when the requirements change.
VENV        := .data/venv
VENV_STAMP  := $(VENV)/.installed
CLIENT_REQS := tools/clients/requirements.txt

$(VENV_STAMP): $(CLIENT_REQS)
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(CLIENT_REQS)
	@touch $@

.PHONY: venv
venv: $(VENV_STAMP) ## create .data/venv with the pinned mlflow, openlineage-python and ml-metadata clients

# The stock SageMaker SDK, 2.x and 3.x (sagemaker-core), each with boto3, in virtualenvs of
# their own (both install the `sagemaker` package): the SageMaker API's client tests drive
# them (tools/clients/sagemaker*-requirements.txt).
SM_VENVS := .data/venv-sagemaker2 .data/venv-sagemaker3

.data/venv-sagemaker%/.installed: tools/clients/sagemaker%-requirements.txt
	python3 -m venv $(dir $@)
	$(dir $@)bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

.PHONY: venv-sagemaker
venv-sagemaker: $(addsuffix /.installed,$(SM_VENVS)) ## create .data/venv-sagemaker2 and -3 with the pinned sagemaker SDK (2.x; 3.x's sagemaker-core) and boto3

# The peers the benchmark compares with, in one venv: the full mlflow package (its
# tracking server) and ml-metadata (driven in-process by tools/bench/mlmd_peer.py).
BENCH_VENV       := .data/bench-venv
BENCH_VENV_STAMP := $(BENCH_VENV)/.installed
BENCH_REQS       := tools/clients/bench-requirements.txt

$(BENCH_VENV_STAMP): $(BENCH_REQS)
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(BENCH_REQS)
	@touch $@

.PHONY: test
test: venv venv-sagemaker web ## run all tests (-race) against a real Neo4j: NEO4J_URI, else the local one
ifeq ($(strip $(NEO4J_URI)),)
	@scripts/neo4j.sh start
	NEO4J_URI=$(LOCAL_NEO4J_URI) $(GO) test $(GO_TEST_FLAGS) ./...
	@echo "provgraph: the local Neo4j keeps running for the next run; 'make neo4j-stop' stops it"
else
	$(GO) test $(GO_TEST_FLAGS) ./...
endif

# The key that signs the local service's audit checkpoints, made once; its verifier key
# is in $(AUDIT_KEY_FILE).pub (docs/audit.md).
$(AUDIT_KEY_FILE): # made with $(BIN), which make run builds first
	@mkdir -p $(dir $(AUDIT_KEY_FILE))
	@$(BIN) audit keygen --out $(AUDIT_KEY_FILE) > /dev/null
	@echo "provgraph: made the audit checkpoint key $(AUDIT_KEY_FILE); auditors check checkpoints with $(AUDIT_KEY_FILE).pub"

# The key-encryption key of the local service's access keys, made once (docs/ingest-sagemaker.md).
$(KEK_FILE): # made with $(BIN), which make run builds first
	@mkdir -p $(dir $(KEK_FILE))
	@$(BIN) token keygen --out $(KEK_FILE) > /dev/null
	@echo "provgraph: made the access-key encryption key $(KEK_FILE); create SageMaker API keys with: $(BIN) token create --aws --name NAME --role writer --key-encryption-key $(KEK_FILE)"

# Without NEO4J_URI, make bench and make loadtest measure on a Neo4j of their own, created
# fresh for each run (an empty data folder, .data/neo4j-bench, on BENCH_NEO4J_BOLT_ADDR) and
# stopped afterwards, so that two runs compare and the local database of make run and
# make test never holds the benchmark's graphs. With NEO4J_URI they use that Neo4j as it is.
# The folder is emptied with rm -rf, so it cannot be set from outside (override).
override BENCH_NEO4J_HOME := .data/neo4j-bench
BENCH_NEO4J_ADDR := $(or $(BENCH_NEO4J_BOLT_ADDR),127.0.0.1:7697)
BENCH_NEO4J := NEO4J_HOME_DIR=$(BENCH_NEO4J_HOME) NEO4J_BOLT_ADDR=$(BENCH_NEO4J_ADDR)
# on-fresh-bench-neo4j stops the benchmark's Neo4j if it runs, empties its data folder,
# starts it, runs the command given against it and stops it, whatever the start's or the
# command's outcome, failing when either failed.
on-fresh-bench-neo4j = $(BENCH_NEO4J) scripts/neo4j.sh stop > /dev/null 2>&1 || true; \
	rm -rf $(BENCH_NEO4J_HOME) && $(BENCH_NEO4J) scripts/neo4j.sh start && NEO4J_URI=bolt://$(BENCH_NEO4J_ADDR) $(1); \
	rc=$$?; $(BENCH_NEO4J) scripts/neo4j.sh stop; exit $$rc

BENCH_ARGS = --nodes $(or $(BENCH_NODES),1000000) --mlflow-python $(BENCH_VENV)/bin/python --mlmd-python $(BENCH_VENV)/bin/python --sagemaker-python .data/venv-sagemaker2/bin/python

.PHONY: bench
bench: $(BENCH_VENV_STAMP) venv-sagemaker web ## on a Neo4j created fresh (unless NEO4J_URI): seed the graphs (BENCH_NODES), measure lineage, the ML Metadata and MLflow comparisons, tracking and the console (headless Chromium), write BENCHMARKS.md
ifeq ($(strip $(NEO4J_URI)),)
	$(call on-fresh-bench-neo4j,$(GO) run ./internal/bench $(BENCH_ARGS))
else
	$(GO) run ./internal/bench $(BENCH_ARGS)
endif

.PHONY: loadtest
loadtest: build ## on a Neo4j created fresh (unless NEO4J_URI): mixed traffic (70% lineage/audit, 20% metric batches, 10% OpenLineage) from 64 clients for 2 minutes against the seeded graph; writes BENCHMARKS.md's Load test section with where the time goes, read from /metrics (LOADTEST_FLAGS: --replicas N, --duration, --clients)
ifeq ($(strip $(NEO4J_URI)),)
	$(call on-fresh-bench-neo4j,$(GO) run ./internal/loadtest --nodes $(or $(BENCH_NODES),1000000) --bin $(BIN) $(LOADTEST_FLAGS))
else
	$(GO) run ./internal/loadtest --nodes $(or $(BENCH_NODES),1000000) --bin $(BIN) $(LOADTEST_FLAGS)
endif

.PHONY: screenshots
screenshots: web ## refresh docs/screenshots/*.png (the console's browser tests take them, in Debian's chromium)
ifeq ($(strip $(NEO4J_URI)),)
	@scripts/neo4j.sh start
	PROVGRAPH_SCREENSHOTS=$(CURDIR)/docs/screenshots NEO4J_URI=$(LOCAL_NEO4J_URI) $(GO) test -count=1 -run '^TestConsole(FindTraceAudit|RunsAndComparison)$$' ./web/
else
	PROVGRAPH_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestConsole(FindTraceAudit|RunsAndComparison)$$' ./web/
endif

.PHONY: build
build: web ## build bin/provgraph, with the console (make web) embedded
	$(GO) build -o $(BIN) ./cmd/provgraph

# The console and GraphiQL (web/, TypeScript): npm packages from the lockfile, then a Vite
# build into web/dist/console, which the binary embeds. Rebuilt only when a source changed.
WEB_DEPS  := web/node_modules/.installed
WEB_BUILD := web/dist/console/index.html
WEB_SRC   := $(shell find web/src -type f 2>/dev/null) web/index.html web/graphiql.html web/package.json \
             web/vite.config.ts web/tsconfig.json web/scripts/check-queries.mjs schema.graphqls

$(WEB_DEPS): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run --silent build -- --logLevel warn
	@touch $@

.PHONY: web
web: $(WEB_BUILD) ## build the console and GraphiQL into web/dist/console (npm ci on first use)

.PHONY: generate
generate: ## regenerate graph/ from schema.graphqls and gqlgen.yml
	$(GO) generate ./...

.PHONY: check-generate
check-generate: generate ## fail when generated code is not up to date with the schema
	@git diff --exit-code -- graph resolvers go.mod go.sum || \
	  { echo "generated code is stale: run 'make generate' and commit the result"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- graph resolvers); \
	  if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked"; exit 1; fi

# staticcheck at a pinned version, built from the Go module proxy by go run (cached after
# the first run): staticcheck 2026.2.2, which reads Go 1.26 code.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: lint
lint: ## gofmt, go vet, staticcheck, the dependency line (the store imports no surface; ingest formats import no other) and a store API without format names
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@mod=$$($(GO) list -m); \
	  bad=$$($(GO) list -deps ./store | grep -E "^$$mod/(ingest|graph|resolvers|server|web)(/|$$)"); \
	  if [ -n "$$bad" ]; then echo "the store must not depend on a surface, yet it imports: $$bad"; exit 1; fi; \
	  for p in $$($(GO) list ./ingest/...); do \
	    bad=$$($(GO) list -deps $$p | grep "^$$mod/ingest/" | grep -vx "$$p"); \
	    if [ -n "$$bad" ]; then echo "$$p must not import another ingest format: $$bad"; exit 1; fi; \
	  done
	@# The store speaks the domain: no format in its API (MLflow's logged models are a
	@# domain node and keep their name) or in its file names.
	@formats=$$($(GO) doc -short ./store | grep -iE 'sagemaker|openlineage|mlflow' | grep -viE 'loggedmodel'); \
	  if [ -n "$$formats" ]; then echo "the store's API must name the domain, not a source format: $$formats"; exit 1; fi; \
	  names=$$($(GO) doc -all ./store | grep -oiE '\b\w*(sagemaker|openlineage|mlflow)\w*\b' | grep -vixE 'sagemaker|openlineage|mlflow' | grep -viE 'loggedmodel' | sort -u); \
	  if [ -n "$$names" ]; then echo "the store's exported names must name the domain, not a source format: $$names"; exit 1; fi; \
	  files=$$(ls store | grep -iE 'sagemaker|openlineage|mlflow'); \
	  if [ -n "$$files" ]; then echo "store files must be named after the domain, not a source format: $$files"; exit 1; fi

.PHONY: long-funcs
long-funcs: ## list functions over 100 lines (no tests, no generated code), longest first: each needs a comment saying why
	@$(GO) run ./internal/funclen -min 100 .

.PHONY: fuzz
fuzz: ## run every fuzz target (decoders, parsers, IDs, cursors, tokens, the audit log's canonical form) for FUZZTIME each (default 30s)
	$(GO) test ./store -run '^$$' -fuzz '^FuzzKindsOfID$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./store -run '^$$' -fuzz '^FuzzDecodeCursor$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./store -run '^$$' -fuzz '^FuzzDecodeConeCursor$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./store -run '^$$' -fuzz '^FuzzCanonicalForm$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./runfilter -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/openlineage -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/sagemaker -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/mlflow -run '^$$' -fuzz '^FuzzRequestBody$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/mlmd -run '^$$' -fuzz '^FuzzParseMapping$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./auth -run '^$$' -fuzz '^FuzzParseToken$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./auth -run '^$$' -fuzz '^FuzzParseSigV4$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/sagemakerapi -run '^$$' -fuzz '^FuzzSearchExpression$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/sagemakerapi -run '^$$' -fuzz '^FuzzLineageARN$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./ingest/sagemakerapi -run '^$$' -fuzz '^FuzzQueryToken$$' -fuzztime $(or $(FUZZTIME),30s)

.PHONY: neo4j-start
neo4j-start: ## start the local Neo4j 5.26 (fetched from Maven Central once) and wait for Bolt
	@scripts/neo4j.sh start

.PHONY: neo4j-stop
neo4j-stop: ## stop the local Neo4j cleanly
	@scripts/neo4j.sh stop

.PHONY: neo4j-status
neo4j-status: ## say whether the local Neo4j runs (exit 0), is stopped (3) or crashed (1)
	@scripts/neo4j.sh status

.PHONY: neo4j-logs
neo4j-logs: ## show the end of the local Neo4j's log
	@scripts/neo4j.sh logs

.PHONY: clean
clean: ## remove build output (keeps the local Neo4j's data)
	rm -rf bin

.PHONY: clean-data
clean-data: neo4j-stop ## stop the local Neo4j and delete its data and launcher build (.data/)
	rm -rf .data
