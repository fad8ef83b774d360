#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies, builds, runs
# every unit and integration test (ctest), then the unit tests and the
# concurrency-heavy integration tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the transfer engine's tests (threads: the
# curl loop and the hashing worker) under ThreadSanitizer.
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

echo "== transfer engine under ThreadSanitizer"
cmake -S "$here" -B "$here/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELCACHE_TSAN=ON >/dev/null
ninja -C "$here/build-tsan" -j"$(nproc)" unit_transfer unit_util
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
build-tsan/tests/unit_util
build-tsan/tests/unit_transfer
