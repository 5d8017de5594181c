# mmap-lab: thin entry points. `make experiments` runs the lab, `make test`
# runs the tests. Both build in release mode (one build serves both).
CARGO ?= cargo
MMLAB := target/release/mmlab
OUT ?= results/latest

.PHONY: all build experiments plots report test test-deps kernels-deps test-unprivileged flake-check check check-aarch64 clean help

all: experiments

help:
	@echo "make experiments  build, run every experiment (quick profile), render plots and the report into $(OUT)"
	@echo "make test         install what the tests need (root + apt only), then run every test;"
	@echo "                  checks this machine cannot do are listed as SKIPPED with the reason"
	@echo "                  (MMLAB_REQUIRE=root,tracefs,... makes those skips failures, as in CI)"
	@echo "make test-unprivileged  (root) run the test binaries again as an unprivileged user"
	@echo "make flake-check  run the kernel-facing test binaries ROUNDS times (20) under CPU load"
	@echo "make report       render the figures and the report of $(OUT) again (make plots: figures only)"
	@echo "make check        cargo fmt --check and clippy -D warnings"
	@echo "make check-aarch64  cross-build for aarch64 and run prot-flags' exec cases under qemu (x86_64 + root/apt)"
	@echo "make kernels-deps (root + apt) install what \`mmlab kernels\` needs: qemu-system-x86, busybox-static, cpio, kmod"
	@echo "make clean        remove build output and results/latest"

build:
	$(CARGO) build --release --locked --bin mmlab

# Runs every experiment, then renders the figures and the report of what
# was written, even when an experiment failed (the report shows the others;
# the exit status still says it failed). The last line is the report's path.
experiments: build
	@status=0; \
	$(MMLAB) run all --profile quick --out $(OUT) || status=$$?; \
	if [ $$status -ne 0 ]; then echo "make experiments: an experiment failed (see above); rendering the report of the others" >&2; fi; \
	$(MMLAB) report $(OUT) || exit $$?; \
	exit $$status

plots: build
	$(MMLAB) plot $(OUT)

report: build
	$(MMLAB) report $(OUT)

test-deps:
	bash scripts/install-test-deps.sh

# `mmlab kernels` boots other kernels under qemu; never run by `make experiments`.
kernels-deps:
	bash scripts/install-kernels-deps.sh

# Every skipped check prints a SKIPPED line as it happens and is listed
# again at the end (MMLAB_SKIP_LOG); the exit status is cargo test's.
SKIP_LOG := target/mmlab-skips.log
test: test-deps
	@mkdir -p target; : > $(SKIP_LOG); status=0; \
	MMLAB_SKIP_LOG=$(CURDIR)/$(SKIP_LOG) $(CARGO) test --workspace --release --locked || status=$$?; \
	if [ -s $(SKIP_LOG) ]; then \
	  echo "make test: $$(wc -l < $(SKIP_LOG)) check(s) skipped on this machine:"; sort $(SKIP_LOG); \
	else echo "make test: no check skipped"; fi; \
	exit $$status

test-unprivileged:
	bash scripts/test-unprivileged.sh

flake-check:
	bash scripts/flake-check.sh

check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release --locked -- -D warnings

check-aarch64:
	bash scripts/check-aarch64.sh

clean:
	$(CARGO) clean
	rm -rf results/latest results/data
