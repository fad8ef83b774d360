#!/usr/bin/env bash
# Requests per second and latency of POST /v1/infer for the test classifier
# (tests/fixtures/onnx_models.py: 32x32 input) under wrk with 16 connections:
# the daemon's whole request path (HTTP parse, base64 JSON, PNG decode,
# letterbox, OpenCV forward, softmax/top-k, JSON answer). Also prints the same
# image through `modelcache infer` once (a process that loads the model per call)
# for scale.
#
#   bash bench/infer.sh                       # 16 connections, 10 s
#   BENCH_INFER_SECONDS=30 BENCH_INFER_CONNECTIONS=64 bash bench/infer.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${BENCH_BUILD:-build}"
seconds="${BENCH_INFER_SECONDS:-10}"
conns="${BENCH_INFER_CONNECTIONS:-16}"
for tool in wrk curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "bench: missing $tool (bash scripts/install-deps.sh)" >&2; exit 2; }
done
cmake --build "$build" --target modelcache_cli -j "$(nproc)" >/dev/null
[[ -f "$build/libmodelcache_onnx.so" ]] || { echo "bench: no ONNX plugin (OpenCV missing?)" >&2; exit 2; }

work="$(mktemp -d)"
daemon=""
cleanup() { [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
/usr/bin/python3 tests/fixtures/onnx_models.py "$work/models" >/dev/null
/usr/bin/python3 - "$work" <<'PY'
import base64, json, struct, sys, zlib
work = sys.argv[1]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
w = h = 224  # a camera-sized image: decode and letterbox are part of the cost
rows = b"".join(b"\x00" + bytes((255, 0, 0)) * w for _ in range(h))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(f"{work}/red.png", "wb").write(png)
body = json.dumps({"image": base64.b64encode(png).decode()})
open(f"{work}/post.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n")
PY

export MODELCACHE_HOME="$work/cache"
model="file://$work/models/classifier"
id="$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$model")"
"$build/modelcache" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
daemon=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.05; done
url="$(sed -n 's/^listening on //p' "$work/serve.out")"
[[ -n "$url" ]] || { cat "$work/serve.log" >&2; exit 1; }
curl -sf -X POST "$url/v1/models/$id/load" >/dev/null
first="$(curl -s -X POST -H 'Content-Type: application/json' \
  -d "{\"image\": \"$(base64 -w0 "$work/red.png")\"}" "$url/v1/infer/$id")"
echo "$first" | grep -q '"top":"red"' || { echo "bench: unexpected answer: $first" >&2; exit 1; }

wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$work/post.lua" "$url/v1/infer/$id" >"$work/wrk.txt"
TIMEFORMAT=%R
cli_s="$( { time "$build/modelcache" infer "$model" --image "$work/red.png" >/dev/null; } 2>&1 | tail -1)"
/usr/bin/python3 - "$work/wrk.txt" "$cli_s" "$conns" "$seconds" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(label):
    m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"/v1/infer classifier, wrk {sys.argv[3]} connections, {sys.argv[4]} s")
print(f"  requests/s   {rps:.0f}")
print(f"  p50 latency  {ms(50):.2f} ms   p99 latency {ms(99):.2f} ms")
print(f"  non-2xx      {errors.group(1) if errors else 0}")
print(f"  for scale: one `modelcache infer` process (loads the model per call) {float(sys.argv[2]) * 1000:.0f} ms")
PY
