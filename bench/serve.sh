#!/usr/bin/env bash
# Daemon benchmark: `modelcache serve` vs nginx on the same cached file, and
# @huggingface/hub snapshotDownload through the daemon vs from the Hub fixture.
# Prints a markdown report, also written to bench/results/serve-latest.md.
#
#   bash bench/serve.sh                                   # 1 GiB file, 5 rounds
#   BENCH_SERVE_MIB=64 BENCH_SERVE_ROUNDS=1 BENCH_SERVE_WARM_CALLS=3 bash bench/serve.sh   # quick
#
# Environment (optional): BENCH_MODELCACHE (binary, default build/modelcache),
# BENCH_SERVE_MIB, BENCH_SERVE_SMALL (small files), BENCH_SERVE_ROUNDS,
# BENCH_SERVE_RANGES (parallel curl ranges), BENCH_SERVE_WARM_CALLS, BENCH_DATA.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$(dirname "$here")"
missing=()
for tool in nginx curl node openssl sha256sum /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
done
[[ -d bench/node_modules/@huggingface/hub ]] || missing+=("bench/node_modules/@huggingface/hub (npm ci --prefix bench)")
if ((${#missing[@]})); then
  echo "bench: missing: ${missing[*]} (bash scripts/install-deps.sh installs them)" >&2
  exit 2
fi
export BENCH_MODELCACHE="${BENCH_MODELCACHE:-$PWD/build/modelcache}"
if [[ ! -x "$BENCH_MODELCACHE" ]]; then
  echo "bench: $BENCH_MODELCACHE not found; build it first (bash scripts/build.sh)" >&2
  exit 2
fi
exec /usr/bin/python3 "$here/serve.py"
