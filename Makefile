# Kefu's tasks. `make test` is the test command README.md names.
GO ?= go
PG_URL := postgres://postgres@127.0.0.1:5432/test
# Use the local PostgreSQL when one answers, so every storage test runs on
# both engines; without one the PostgreSQL half is skipped (CI requires it).
KEFU_TEST_POSTGRES_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo $(PG_URL))
export KEFU_TEST_POSTGRES_URL

.PHONY: run test lint bench build e2e corpus fuzz generate

run:
	$(GO) run ./cmd/kefu demo

test:
	$(GO) test -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Benchmarks, including the 1,000,000-ticket store (built once and cached
# under the system temp directory). Figures: docs/benchmarks.md.
bench:
	KEFU_BENCH_LARGE=1 $(GO) test -run='^$$' -bench=. -benchtime=2s ./...

build:
	$(GO) build -o bin/kefu ./cmd/kefu

# Regenerates the console's templ code with go.mod's templ version; the
# *_templ.go files are committed (a test fails when they are stale).
generate:
	$(GO) run github.com/a-h/templ/cmd/templ@$$($(GO) list -m -f '{{.Version}}' github.com/a-h/templ) generate -path internal/web

# Browser tests of the console (e2e/): Debian's chromium driven by
# playwright-core under node:test, against the real binary on a demo store.
# Installs chromium (and CJK fonts for the screenshots) when missing;
# never downloads a browser build of its own.
e2e:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@fc-list 2>/dev/null | grep -qi 'CJK' || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 || echo "e2e: no CJK fonts; screenshots show boxes for Chinese"
	@[ -d e2e/node_modules ] || (cd e2e && npm ci --no-audit --no-fund)
	cd e2e && node --test --test-concurrency=1

# Parses every message of the shared real-world corpus with the real
# binary; any crash, hang or non-zero exit fails.
CORPUS ?= ../shared/testdata/email
corpus: build
	@n=0; for f in $$(find $(CORPUS) -type f ! -name '*.md' ! -name 'LICENSE*'); do \
		n=$$((n+1)); timeout 10 ./bin/kefu mail parse "$$f" >/dev/null || { echo "kefu mail parse failed on $$f"; exit 1; }; \
	done; echo "corpus: $$n messages parsed"

# Short, bounded fuzzing of every parser that reads untrusted input.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=20s ./internal/email/
	$(GO) test -run='^$$' -fuzz='^FuzzSkeleton$$' -fuzztime=15s ./internal/email/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=10s ./internal/calendar/
	$(GO) test -run='^$$' -fuzz='^FuzzAPIDecoding$$' -fuzztime=20s ./cmd/kefu/
	$(GO) test -run='^$$' -fuzz='^FuzzReadOrders$$' -fuzztime=10s ./internal/shop/
