#!/usr/bin/env bash
# Installs the Debian packages distkit needs to build and test, and nothing else.
# Idempotent: packages already installed are skipped, and `apt-get update` runs at
# most once, only when something is missing. Uses sudo when not root.
set -euo pipefail

packages=(
  bazel-bootstrap        # Bazel 4.2.3 (WORKSPACE only, no bzlmod)
  bazel-rules-java       # rules_java for Bazel's own toolchain registration
  g++
  libboost1.81-dev       # header-only Boost.Asio, Boost.System result<T>
  libhiredis-dev         # RESP reader/encoder
  liblua5.1-0-dev        # Lua 5.1, as embedded by Redis
  librapidcheck-dev      # property tests
  libgtest-dev
  libbenchmark-dev
  libcli11-dev           # command-line parsing for tools/
  libssl-dev             # TLS (rediss://) through Asio's SSL stream
  openssl                # the TLS test makes its own certificate authority
  redis-server           # integration tests against a real server and cluster
  redis-tools            # redis-cli (cluster create), redis-benchmark
  clang-format
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and no sudo; install them as root, then rerun" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -qq; then
  echo "install-deps: 'apt-get update' failed: is the Debian archive reachable?" >&2
  exit 1
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "install-deps: 'apt-get install ${missing[*]}' failed" >&2
  exit 1
fi
echo "install-deps: done"
