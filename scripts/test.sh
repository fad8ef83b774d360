#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies, builds, runs
# every unit and integration test (ctest), then the unit tests and the
# concurrency-heavy integration tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

bash scripts/install-deps.sh
command -v ninja >/dev/null || { echo "ninja missing" >&2; exit 1; }

echo "== build (RelWithDebInfo)"
bash scripts/build.sh "$here/build"
echo "== tests"
(cd build && ctest --output-on-failure --timeout 900 -j2)

echo "== build (ASan + UBSan)"
bash scripts/build.sh "$here/build-asan" -DMODELCACHE_SANITIZE=ON
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure --timeout 900 -j2 -L unit)
(cd build-asan && ctest --output-on-failure --timeout 900 -R 'integration\.(test_faults|test_concurrent|test_pull_hf)')
