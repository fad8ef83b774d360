#!/usr/bin/env bash
# Safetensors table load vs memcpy (bench/safetensors_load.cpp). Builds the
# bench_safetensors target (not built by scripts/build.sh or the tests) and runs it.
#
#   bash bench/safetensors_load.sh                    # 2 GiB file in bench/data/
#   BENCH_ST_MIB=256 bash bench/safetensors_load.sh   # quick check
#
# Environment: BENCH_ST_MIB (data size, default 2048), BENCH_ST_ROUNDS (default 3),
# BENCH_BUILD (build folder, default build), BENCH_DATA (default bench/data).
# Needs about 3x the file size in free memory (page cache + two memcpy buffers).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${BENCH_BUILD:-build}"
[[ -f "$build/build.ninja" || -f "$build/Makefile" ]] ||
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELCACHE_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_safetensors -j "$(nproc)" >/dev/null
exec "$build/bench/bench_safetensors" --mib "${BENCH_ST_MIB:-2048}" --rounds "${BENCH_ST_ROUNDS:-3}" \
  --file "${BENCH_DATA:-bench/data}/safetensors_load.safetensors"
