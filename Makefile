# Switchboard. `make serve` runs the server with the demo province; `make test`
# runs every check and test (CI runs exactly this through .ci/run).
GO ?= go

.PHONY: all build serve test vet fmt-check gen gen-check services bench fuzz clean

all: build

build:
	$(GO) build -o bin/switchboard ./cmd/switchboard

serve: build
	bin/switchboard serve --demo

# Every check and test. PostgreSQL tests need the server at 127.0.0.1:5432
# (scripts/services.sh starts it when it is installed); they skip elsewhere
# unless CI=true, where they are mandatory.
test: services fmt-check vet gen-check
	$(GO) test -race -count=1 -timeout 20m ./...

services:
	@scripts/services.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Regenerate api/ from the protos (offline; see scripts/gen-proto.sh).
gen:
	scripts/gen-proto.sh

# Regenerate into the work tree and fail if anything changed.
gen-check:
	@scripts/gen-check.sh

bench: build
	bin/switchboard bench intake

# A longer fuzz run of the parsers of untrusted input.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=30s ./taxonomy/
	$(GO) test -run='^$$' -fuzz=FuzzParseEntries -fuzztime=30s ./kb/
	$(GO) test -run='^$$' -fuzz=FuzzSearch -fuzztime=30s ./kb/
	$(GO) test -run='^$$' -fuzz=FuzzText -fuzztime=60s ./related/
	$(GO) test -run='^$$' -fuzz=FuzzExtract -fuzztime=60s ./entity/
	$(GO) test -run='^$$' -fuzz=FuzzRESTIntake -fuzztime=60s ./gateway/server/
	$(GO) test -run='^$$' -fuzz=FuzzNormalize -fuzztime=60s ./gateway/intake/
	$(GO) test -run='^$$' -fuzz=FuzzLoadCalendar -fuzztime=30s ./gateway/deadline/

clean:
	rm -rf bin .cache
