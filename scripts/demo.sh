#!/usr/bin/env bash
# The main job on a self-contained origin: a local server speaking the Hugging
# Face Hub protocol (tests/fixtures/hf_fixture.py, LFS files behind a redirect to
# a second host) serves a small model; modelcache pulls it cold, then warm, then
# verifies the cache. Nothing leaves 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$here/build/modelcache"
work="$here/build/demo"
rm -rf "$work"
mkdir -p "$work/hub/demo-org/tiny-model"
repo="$work/hub/demo-org/tiny-model"
echo '{"architectures": ["TinyModel"], "hidden_size": 64}' > "$repo/config.json"
echo '{"version": "1.0", "model": {"type": "BPE"}}' > "$repo/tokenizer.json"
head -c $((96 << 20)) /dev/urandom > "$repo/model.safetensors"
head -c $((8 << 20)) /dev/urandom > "$repo/model.onnx"

/usr/bin/python3 "$here/tests/fixtures/hf_fixture.py" --root "$work/hub" > "$work/fixture.out" 2> "$work/fixture.err" &
fixture=$!
trap 'kill $fixture 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^PORT ' "$work/fixture.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/^PORT /{print $2}' "$work/fixture.out")
export HF_ENDPOINT="http://127.0.0.1:$port" MODELCACHE_HOME="$work/cache"

echo "== cold pull of hf://demo-org/tiny-model from the local Hub at $HF_ENDPOINT"
"$bin" pull hf://demo-org/tiny-model --json | /usr/bin/python3 -c '
import json, sys
o = json.load(sys.stdin)
n, mib, secs = len(o["files"]), o["bytes_downloaded"] / 2**20, o["seconds"]
print("   %d files, %.1f MiB downloaded in %.2f s -> %s" % (n, mib, secs, o["path"]))'
echo "== warm pull (nothing downloaded, no request)"
start=$(date +%s%N)
snapshot=$("$bin" pull hf://demo-org/tiny-model)
echo "   $(( ($(date +%s%N) - start) / 1000000 )) ms -> $snapshot"
echo "== the snapshot: read-only links into content-addressed blobs"
ls -l "$snapshot" | sed 's/^/   /'
echo "== modelcache ls"
"$bin" ls | sed 's/^/   /'
echo "== modelcache verify"
"$bin" verify | sed 's/^/   /'
echo "demo ok (cache in $MODELCACHE_HOME)"
