# The two commands a newcomer needs are `make demo` and `make test`; both do
# their own set-up on a fresh machine.

SHELL := /bin/bash
# Build outside the clone so CI's fresh clones and every worktree share one
# warm cache; override to build elsewhere.
CARGO_TARGET_DIR ?= $(HOME)/.cache/terraform-provider-privatelink/target
export CARGO_TARGET_DIR
CARGO ?= cargo

.PHONY: setup build test demo docs bench release fuzz fmt lint

setup:
	@scripts/setup.sh

# Built through the test profile's dependency set: `cargo build` alone would
# resolve the AWS SDK crates with other features and compile them all again.
build:
	$(CARGO) test --no-run --quiet

## Every test: unit, property, protocol and end-to-end through Terraform.
PINNED_TERRAFORM := $(CURDIR)/.tools/terraform-1.0.3

test: setup lint
	.tools/venv/bin/python -m pytest tests/emulators -q -p no:cacheprovider
	# UPDATE_DOCS would turn the docs freshness check into a rewrite.
	env -u UPDATE_DOCS $(CARGO) test --no-fail-fast
	# The end-to-end suites again under the oldest Terraform we support,
	# unless it is already the one setup chose.
	@if [ "$$(readlink -f .tools/bin/terraform)" != "$$(readlink -f $(PINNED_TERRAFORM))" ]; then \
	  echo "end-to-end suites under $(PINNED_TERRAFORM)"; \
	  TERRAFORM=$(PINNED_TERRAFORM) $(CARGO) test --no-fail-fast --test 'e2e_*' --test release_package; \
	fi

## Builds the provider and runs init/apply/plan/destroy on examples/demo.
demo: setup build
	@scripts/demo.sh

## Regenerates docs/ from the schema (a test fails when it is stale).
docs:
	UPDATE_DOCS=1 $(CARGO) test --quiet --test docs_fresh

## Start-up beside a Go SDK peer, then the scale benchmark; one report in
## reports/README.md (reports/ is not committed).
bench:
	$(CARGO) build --release --bins
	# The harness runs from the test profile, whose dependencies `make test`
	# already built: `cargo bench` would build them all a third time with the
	# dev-dependencies' features. What it measures is the release binary.
	# The Go SDK peer is measured in the same run, started the same way.
	PROVIDER_BIN=$(CARGO_TARGET_DIR)/release/terraform-provider-privatelink \
	  PEER_PROVIDER_BIN=$$(scripts/peer.sh) $(CARGO) test --quiet --bench handshake
	# Scale: N = 10, 100 and 500 resources applied, re-planned and destroyed
	# through Terraform against the emulators (setup installs both), then the
	# CPU floor under that workload (an empty RPC; an empty AWS call through
	# the release aws-call-floor); writes reports/scale.md, scale.json and
	# scale.png.
	@scripts/setup.sh
	PROVIDER_BIN=$(CARGO_TARGET_DIR)/release/terraform-provider-privatelink \
	  AWS_CALL_FLOOR_BIN=$(CARGO_TARGET_DIR)/release/aws-call-floor $(CARGO) test --quiet --bench scale
	scripts/plot_scale.py reports/scale.json reports/scale.png
	{ echo "# make bench, $$(date -u +%FT%TZ), $$(nproc) cores"; echo; cat reports/startup.md; \
	  echo; cat reports/scale.md; echo; echo '![scale](scale.png)'; } > reports/README.md
	@echo "report: reports/README.md"

## The registry's release files for this machine's platform, under dist/.
release:
	$(CARGO) build --release --bin terraform-provider-privatelink
	scripts/release.sh $(CARGO_TARGET_DIR)/release/terraform-provider-privatelink dist

## Runs the msgpack decoder's fuzz target for a bounded time.
fuzz:
	@scripts/fuzz.sh

fmt:
	$(CARGO) fmt --all

# Part of `make test`: on a fresh machine the check build costs ~8 minutes.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
