#!/usr/bin/env bash
# LRU swap cost of an ONNX model: OnnxLoader::load + eviction of a cached ~100 MB
# model (bench/onnx_swap.cpp) vs a bare OpenCV readNet of the same file
# (bench/onnx_readnet.cpp). Goal: ratio <= 1.2. Results: bench/onnx_swap.md.
#
#   bash bench/onnx_swap.sh                 # 100 MB model, 5 rounds
#   BENCH_ONNX_MB=10 bash bench/onnx_swap.sh
#
# Environment: BENCH_ONNX_MB (weights, default 100), BENCH_ONNX_ROUNDS (default 5),
# BENCH_BUILD (build folder, default build), BENCH_DATA (default bench/data).
# Needs OpenCV (libopencv-dnn-dev) and python3-onnx.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${BENCH_BUILD:-build}"
data="${BENCH_DATA:-bench/data}/onnx_swap"
mb="${BENCH_ONNX_MB:-100}"
rounds="${BENCH_ONNX_ROUNDS:-5}"
[[ -f "$build/build.ninja" || -f "$build/Makefile" ]] ||
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELCACHE_TESTS=OFF >/dev/null
cmake --build "$build" --target modelcache_cli bench_onnx_swap bench_onnx_readnet -j "$(nproc)" >/dev/null
if [[ ! -f "$data/big-$mb/model.onnx" ]]; then
  rm -rf "$data/tmp" && mkdir -p "$data"
  /usr/bin/python3 tests/fixtures/onnx_models.py "$data/tmp" --big "$mb" >/dev/null
  mv "$data/tmp/big" "$data/big-$mb" && rm -rf "$data/tmp"
fi
# Through the cache, as the manager does: pull it once, load the snapshot.
export MODELCACHE_HOME="$root/$data/cache"
snapshot="$("$build/modelcache" pull "$root/$data/big-$mb" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')"
file_bytes=$(stat -L -c %s "$snapshot/model.onnx")
cat "$snapshot/model.onnx" >/dev/null  # in the page cache, as a cached model would be
swap=$("$build/bench/bench_onnx_swap" "$snapshot" "$root/$build/libmodelcache_onnx.so" "$rounds")
bare=$("$build/bench/bench_onnx_readnet" "$snapshot/model.onnx" "$rounds")
/usr/bin/python3 - "$swap" "$bare" "$file_bytes" <<'PY'
import json, sys
swap, bare, size = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
print(f"model file        {size / 1e6:.1f} MB (bytes_held {swap['bytes_held'] / 1e6:.1f} MB)")
print(f"loader swap       median {swap['median_s'] * 1000:.1f} ms  min {swap['min_s'] * 1000:.1f} ms")
print(f"bare readNet      median {bare['median_s'] * 1000:.1f} ms  min {bare['min_s'] * 1000:.1f} ms")
ratio = swap['median_s'] / bare['median_s']
print(f"ratio             {ratio:.2f}x (goal <= 1.2x): {'ok' if ratio <= 1.2 else 'OVER'}")
PY
