#!/usr/bin/env bash
# Builds every benchmark binary of //bench (tag "benchmark") optimised and runs each.
# Every suite reports ratios to a baseline measured in the same process, so the
# numbers compare across noisy machines. JSON results go to bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
BAZEL=${BAZEL:-bazel}
out=bench-results
mkdir -p "$out"

targets=$("$BAZEL" query 'attr(tags, "\bbenchmark\b", kind(cc_binary, //bench/...))' 2>/dev/null)
if [[ -z "$targets" ]]; then
  echo "run-benchmarks: no benchmark targets in //bench" >&2
  exit 1
fi
"$BAZEL" build --config=opt $targets
bin=$("$BAZEL" info --config=opt bazel-bin 2>/dev/null)
for target in $targets; do
  name=${target##*:}
  path="$bin/${target#//}"
  path=${path/://}
  echo "== $target"
  "$path" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
done
echo "run-benchmarks: results in $out/"
