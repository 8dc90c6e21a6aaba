#!/usr/bin/env bash
# `make bench`: starts one local redis-server, runs every benchmark binary of //bench
# (tag "benchmark", optimised) against it with JSON output, runs the npm peer
# (rate-limiter-flexible with ioredis, bench/peer) against the same server, and writes
# bench-results/report.md (with SVG plots): every ratio to its baseline from this run,
# the peer comparison, and the machine's description.
# Extra arguments go to every benchmark binary (e.g. --benchmark_filter=Gcra).
set -euo pipefail
cd "$(dirname "$0")/../.."
BAZEL=${BAZEL:-bazel}
out=bench-results
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.svg "$out"/report.md

targets=$("$BAZEL" query 'attr(tags, "\bbenchmark\b", kind(cc_binary, //bench/...))' 2>/dev/null)
if [[ -z "$targets" ]]; then
  echo "run-benchmarks: no benchmark targets in //bench" >&2
  exit 1
fi
"$BAZEL" build --config=opt $targets
bin=$("$BAZEL" info --config=opt bazel-bin 2>/dev/null)

# One server for the suites and the peer, on a free loopback port, stopped on exit.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis_dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" \
  --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log"
stop_redis() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$redis_dir"
}
trap stop_redis EXIT
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
export DISTKIT_BENCH_REDIS_PORT=$port
echo "run-benchmarks: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on port $port"

for target in $targets; do
  name=${target##*:}
  path="$bin/${target#//}"
  path=${path/://}
  echo "== $target"
  "$path" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
done

# What one redis-server can execute, whatever the client: the GCRA script (as
# BM_GcraLimiter_RedisCheck sends it) and an empty script, 16-deep pipelined from 4
# redis-benchmark connections. Bounds every one-script-per-check limiter on this machine.
ceiling() {
  local sha
  sha=$(redis-cli -p "$port" SCRIPT LOAD "$1")
  shift
  redis-benchmark -p "$port" -q --csv -n 200000 -P 16 -c 4 -r 64 EVALSHA "$sha" "$@" |
    python3 -c 'import csv, sys; rows = list(csv.reader(sys.stdin)); print(rows[-1][1])'
}
echo "== redis-server ceiling (redis-benchmark)"
if command -v redis-benchmark >/dev/null; then
  empty=$(ceiling "return 1" 0)
  gcra=$(ceiling "$(cat core/lua/gcra.lua)" 1 '{bench:__rand_int__}:gcra' '' 1 \
    1000000/1000000 1000000 1000000 1000)
  echo "  EVALSHA of an empty script: $empty/s; of the GCRA script: $gcra/s"
  printf '{"empty_script_per_second": %s, "gcra_script_per_second": %s}\n' "$empty" "$gcra" \
    >"$out/redis_ceiling.json"
else
  echo "run-benchmarks: redis-benchmark not found: the server ceiling is not measured" >&2
fi

# The npm peer needs Node.js >= 18 and npm: Debian 12's nodejs and npm packages are
# enough, and are installed here (only for the benchmarks) when missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "run-benchmarks: installing Debian's nodejs and npm for the peer"
  sudo=()
  [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && sudo=(sudo)
  if ! { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
      --no-install-recommends nodejs npm >/dev/null; }; then
    echo "run-benchmarks: could not install nodejs and npm" >&2
  fi
fi
if command -v node >/dev/null && command -v npm >/dev/null &&
  node -e 'process.exit(parseInt(process.versions.node) >= 18 ? 0 : 1)'; then
  echo "== npm peer: rate-limiter-flexible + ioredis"
  (cd bench/peer && npm ci --silent --no-audit --no-fund)
  node bench/peer/rate_limiter_flexible_bench.js --port "$port" --out "$out/peer.json"
else
  echo "run-benchmarks: Node.js >= 18 and npm not found: the peer comparison is skipped" >&2
fi

tools/bench/bench-report.py --dir "$out"
echo "run-benchmarks: results and report in $out/ (report.md)"
