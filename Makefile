# distkit's entry points. `make demo` and `make test` do all the set-up on a fresh
# Debian machine (tools/scripts/install-deps.sh installs the Debian packages they need).
#
#   make test              every test, including those that start real Redis servers
#   make test CONFIG=ci    the same with -Werror (what .ci/run does)
#   make sanitizers        the test suites under ASan+UBSan (one build) and TSan (both
#                          run; the failures of each are reported at the end)
#   make demo              the main simulated scenario (no Redis needed)
#   make bench             the benchmark suites (optimised build)
#   make fmt               clang-format every C++ file
#   make ci-under-load     CI on a clean clone of HEAD with the CPUs busy and the
#                          suites that start real servers repeated (tools/scripts/ci-under-load.sh)
#
# TEST_FLAGS adds `bazel test` flags, e.g. TEST_FLAGS=--runs_per_test=3.
BAZEL ?= bazel
CONFIG ?=
CONFIG_FLAGS := $(if $(CONFIG),--config=$(CONFIG))
TEST_FLAGS ?=
# ASan and UBSan instrument one build together (they combine, as LLVM documents), which
# saves a full rebuild per CI run; each config still works alone (--config=asan).
SANITIZERS := asan,ubsan tsan


.PHONY: deps build test test-core test-consumer sanitizers ci-under-load demo bench fmt clean

deps:
	@tools/scripts/install-deps.sh

build: deps
	$(BAZEL) build $(CONFIG_FLAGS) //...

test: test-core test-consumer

test-core: deps
	$(BAZEL) test $(CONFIG_FLAGS) $(TEST_FLAGS) //...

# Proves distkit is usable as a Bazel dependency: a separate workspace builds and
# runs a program and a test against it.
test-consumer: deps
	cd examples/consumer && $(BAZEL) test $(CONFIG_FLAGS) $(TEST_FLAGS) //... && \
	  $(BAZEL) run $(CONFIG_FLAGS) //:hello -- 250

# Every configuration runs even when an earlier one failed (an ASan failure must not
# hide whether TSan passes); the summary names each failed one, and the exit is 1.
# Only test targets are built (--build_tests_only): binaries and benchmarks are
# already compiled by `make test`.
sanitizers: deps
	@failed=""; \
	for san in $(SANITIZERS); do \
	  echo "== sanitizers: $$san"; \
	  configs=$$(echo $$san | sed 's/\([^,]*\)/--config=\1/g; s/,/ /g'); \
	  $(BAZEL) test $(CONFIG_FLAGS) $$configs --build_tests_only $(TEST_FLAGS) //... || failed="$$failed $$san"; \
	done; \
	if [ -n "$$failed" ]; then echo "== sanitizers failed:$$failed"; exit 1; fi; \
	echo "== sanitizers: $(SANITIZERS) passed"

ci-under-load:
	tools/scripts/ci-under-load.sh

# The scenario runner's default scenario: 5 instances of a lax counter and of a GCRA
# limiter, 5 simulated minutes each under partitions and clock skew, 3 seeds; prints
# the summary and writes distkit-sim-report.html here. No Redis needed.
demo: deps
	$(BAZEL) run $(CONFIG_FLAGS) //tools/sim:distkit-sim -- --primitive lax-counter,gcra \
	  --instances 5 --faults partitions,clock-skew --duration 5m --seeds 3 \
	  --report distkit-sim-report.html

bench: deps
	tools/bench/run-benchmarks.sh

fmt:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	$(BAZEL) clean
	cd examples/consumer && $(BAZEL) clean
