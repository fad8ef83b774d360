#!/usr/bin/env bash
# The whole test suite, from a fresh clone, within CI's 30 minutes on 2 cores:
# - the release build (RelWithDebInfo) of the binary and examples runs every
#   end-to-end test against real peers (nginx, moto, Azurite, the fixtures);
# - an AddressSanitizer + UndefinedBehaviorSanitizer build runs every unit test
#   and the concurrency-heavy end-to-end tests;
# - a ThreadSanitizer build runs the unit tests of the threaded parts (the
#   transfer engine, util, and the cache with its background prefetch).
# Sanitizer builds use -O1 -g1 (about half the compile time of -O2 -g) and CMake's
# unity build (16 sources per compiler run, so the heavy headers such as gtest,
# nlohmann/json and fmt are parsed and instantiated once per batch, not per file):
# names local to a .cpp must therefore be unique within their module.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

bash scripts/install-deps.sh
command -v ninja >/dev/null || { echo "ninja missing" >&2; exit 1; }
jobs="$(nproc)"
sanitizer_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)

echo "== build (RelWithDebInfo): modelcache and the examples"
cmake -S "$here" -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$jobs" modelcache_cli example_pull example_prefetch_overlap example_hold
echo "== end-to-end tests"
(cd build && ctest --output-on-failure --timeout 900 -j2 -L integration)

echo "== build (ASan + UBSan)"
bash scripts/build.sh "$here/build-asan" -DMODELCACHE_SANITIZE=ON "${sanitizer_flags[@]}"
echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure --timeout 900 -j2 -L unit)
(cd build-asan && ctest --output-on-failure --timeout 900 -R 'integration\.(test_faults|test_pull_hf|test_manage|test_serve)')

echo "== threaded parts under ThreadSanitizer"
cmake -S "$here" -B "$here/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELCACHE_TSAN=ON \
  "${sanitizer_flags[@]}" >/dev/null
ninja -C "$here/build-tsan" -j"$jobs" unit_transfer unit_util unit_cache
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
build-tsan/tests/unit_util
build-tsan/tests/unit_transfer
build-tsan/tests/unit_cache
