#!/usr/bin/env bash
# Runs every test of limf from a clean checkout on Debian 12:
#   dependencies, Kafka jars, a normal build (all tests, against a real Kafka broker),
#   a sanitizer build (ASan+UBSan: unit tests and fuzz-corpus replays), and a short
#   libFuzzer run of every decoder (clang).
# Environment: LIMF_JOBS (parallel build jobs), LIMF_SKIP_DEPS=1 (packages already there),
# LIMF_FUZZ_SECONDS (per fuzzer, default 10; 0 skips the libFuzzer build), LIMF_REFERENCE_DIR
# (third-party reference material some tests read; they skip without it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${LIMF_JOBS:-$(nproc)}
fuzz_seconds=${LIMF_FUZZ_SECONDS:-10}

[ "${LIMF_SKIP_DEPS:-0}" = 1 ] || deploy/deps.sh
deploy/kafka.sh fetch

status=0
summary=()

# Tests that skipped, each with the reason it printed on its "SKIP:" line (CTest's own
# summary lists skipped tests without one).
skips() {
  awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 } /^SKIP: / { print "SKIP  " name ": " substr($0, 7) }' \
    "$1/Testing/Temporary/LastTest.log" 2>/dev/null || true
}

step() {
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then
    summary+=("PASS  $name")
  else
    summary+=("FAIL  $name")
    status=1
  fi
}

build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLIMF_REFERENCE_DIR="${LIMF_REFERENCE_DIR:-}" "$@" >/dev/null &&
    cmake --build "$dir" -j "$jobs"
}

# The test build decrypts its captures (tshark oracles) with TLS key logs; the
# sanitizer build is built as production is, and its unit tests see the setting refused.
step "build (normal)" build build -DLIMF_INSECURE_KEYLOG=ON
step "tests (normal: unit, fuzz replay, integration, e2e on real Kafka)" \
  ctest --test-dir build --output-on-failure -j 1 --timeout 900

mapfile -t -O "${#summary[@]}" summary < <(skips build)

# Show that the integration tests talked to the real broker, and which one.
grep -hE "^(broker: Apache Kafka|produced [0-9]+, consumed)" build/Testing/Temporary/LastTest.log \
  2>/dev/null || true

step "build (ASan+UBSan)" build build-san -DLIMF_SANITIZE=ON
step "tests (ASan+UBSan: unit, fuzz replay)" \
  env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-san --output-on-failure -j "$jobs" -L 'unit|fuzz'

if [ "$fuzz_seconds" != 0 ]; then
  step "build (libFuzzer, clang)" build build-fuzz -DCMAKE_C_COMPILER=clang -DLIMF_FUZZ=ON
  step "fuzz (${fuzz_seconds}s per decoder)" \
    env LIMF_FUZZ_SECONDS="$fuzz_seconds" ctest --test-dir build-fuzz --output-on-failure \
    -L fuzzrun
fi

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
