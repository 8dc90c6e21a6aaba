#!/usr/bin/env bash
# The check that no test depends on how fast the machine runs: CI (.ci/run) on a
# clean clone of HEAD, with every core kept busy by CPU-bound burners, test results
# never taken from Bazel's cache, and the suites that start real Redis servers run
# several times each.
#
#   tools/scripts/ci-under-load.sh [--rounds K] [--runs N] [--burners B] [--keep]
#
#   --rounds K   run CI K times in a row on the same clone, stopping at the first red
#                one (default 1)
#   --runs N     runs of each suite that starts real servers, per configuration
#                (default 3)
#   --burners B  busy loops beside CI (default: one per core)
#   --keep       keep the clone (under $TMPDIR) afterwards
#
# Prints each round's closing line ("N passed, M failed") and its time; exits 0 only
# if every round was green.
set -uo pipefail

rounds=1 runs=3 burners=$(nproc) keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --burners) burners=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "ci-under-load: unknown argument $1" >&2; exit 2 ;;
  esac
done
for n in "$rounds" "$runs" "$burners"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "ci-under-load: not a count: $n" >&2; exit 2; }
done

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel) || exit 2
clone=$(mktemp -d "${TMPDIR:-/tmp}/distkit-ci-under-load.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [[ $keep -eq 0 ]]; then
    (cd "$clone" && bazel shutdown >/dev/null 2>&1; cd examples/consumer 2>/dev/null && bazel shutdown >/dev/null 2>&1)
    rm -rf "$clone"
  fi
}
trap cleanup EXIT

git clone -q "$repo" "$clone" || exit 2
echo "ci-under-load: $(git -C "$clone" log -1 --format='%h %s' | cut -c1-100)"
echo "ci-under-load: clone $clone, $burners burners, real-server suites x$runs, $rounds round(s)"

# The suites that start real servers: the test targets that depend on the fixture.
make -C "$clone" deps >/dev/null || exit 2
targets=$(cd "$clone" && bazel query --noshow_progress \
  'kind(cc_test, rdeps(//tests/..., //tests/support:redis_fixture))' 2>/dev/null) || exit 2
# Bazel's filter list: comma-separated, each a regex matched against the label (no
# characters that a shell or make would read).
filter=$(echo "$targets" | paste -sd',')
echo "ci-under-load: $(echo "$targets" | wc -l) suites start real servers"

for ((i = 0; i < burners; i++)); do
  (while :; do :; done) &
  pids+=($!)
done

export TEST_FLAGS="--nocache_test_results --runs_per_test=$filter@$runs"
status=0
for ((round = 1; round <= rounds; round++)); do
  start=$(date +%s)
  log=$(mktemp)
  (cd "$clone" && CI=true bash .ci/run </dev/null >"$log" 2>&1)
  rc=$?
  summary=$(tail -n 1 "$log")
  echo "ci-under-load: round $round: $summary, exit $rc, $(( $(date +%s) - start )) s"
  if [[ $rc -ne 0 ]]; then
    grep -E '^//[^ ]+ +(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$log" | sort -u
    echo "ci-under-load: the whole log: $log"
    status=1
    break
  fi
  rm -f "$log"
done
exit $status
