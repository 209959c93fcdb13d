# Kite's build entry points. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
FUZZTIME ?= 1m

.PHONY: test vet lint unit fuzz bench stress tools clean

## test: go vet, staticcheck, then go test -race ./... against MinIO, versitygw and
## fake-gcs-server started on loopback (scripts/test.sh; KITE_NO_SERVERS=1: none)
test: vet lint
	./scripts/test.sh

vet:
	$(GO) vet ./...

lint: $(STATICCHECK)
	$(STATICCHECK) ./...

# Pinned tools are built once into the git-ignored .bin and reused.
$(STATICCHECK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/staticcheck $@

tools: $(STATICCHECK)

## fuzz: each fuzz target for FUZZTIME (default 1m); the seed corpora in
## testdata/fuzz run as plain tests in every `make test`. Minimizing a new input is
## capped at 5s: the default (60s) stalled FuzzKeyPath for the whole minute
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzValidateKey$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./backend
	$(GO) test -run '^$$' -fuzz '^FuzzParseDocumentKey$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./backend
	$(GO) test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./backend
	$(GO) test -run '^$$' -fuzz '^FuzzRedactURL$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./backend
	$(GO) test -run '^$$' -fuzz '^FuzzKeyPath$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./local
	$(GO) test -run '^$$' -fuzz '^FuzzTrailer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./local
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/signurl
	$(GO) test -run '^$$' -fuzz '^FuzzMatchesMinioGo$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/sigv4

## stress: the long fault, crash, cluster and load tests (TestStress*, KITE_STRESS=1), under 10 minutes;
## -v, so that each test logs its figures (faults, kills, objects verified, ops/s)
stress:
	KITE_STRESS=1 ./scripts/test.sh -v -run 'Stress' -timeout 10m ./...

## bench: Kite's drivers against minio-go, aws-sdk-go-v2 and gocloud.dev/blob in one run (the
## bench/ module, issue 5) under scripts/servers.sh, MinIO's data on tmpfs (its drive timeout raised:
## a loaded machine made it take its one drive offline); prints the table and
## writes bench/results/latest.{md,json}. BENCHFLAGS=-quick: a short run. (go test -bench ./memory
## ./local: the drivers' own benchmarks.)
bench:
	cd bench && $(GO) build -o results/kite-bench . && \
		KITE_SERVERS_TMPDIR=$${KITE_SERVERS_TMPDIR:-/dev/shm} MINIO_DRIVE_MAX_TIMEOUT=$${MINIO_DRIVE_MAX_TIMEOUT:-2m} \
		../scripts/servers.sh ./results/kite-bench -out results $(BENCHFLAGS)

clean:
	rm -rf $(BIN)
