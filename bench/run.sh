#!/usr/bin/env bash
# modelcache benchmark: cold pull of a 2 GiB model and warm pull of a pinned
# 100-file snapshot, beside curl, aria2c and @huggingface/hub, with the machine's
# limits (parallel curl, dd O_DIRECT) measured in the same run.
# Prints a markdown table and writes bench/results/latest.md (+ latest.json).
#
#   bash bench/run.sh                      # default: 4 x 512 MiB + 50 small, 3 rounds
#   BENCH_BIG_FILES=2 BENCH_BIG_MIB=64 BENCH_ROUNDS=1 bash bench/run.sh   # quick
#
# Environment (all optional): BENCH_MODELCACHE (binary, default build/modelcache),
# BENCH_BIG_FILES, BENCH_BIG_MIB, BENCH_SMALL_FILES, BENCH_WARM_FILES, BENCH_ROUNDS,
# BENCH_CURL_RANGES, BENCH_DD_COUNT (x 16 MiB), BENCH_WARM_RUNS, BENCH_HF_WARM_RUNS,
# BENCH_DATA (data folder, default bench/data). See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

missing=()
for tool in nginx curl aria2c node dd openssl /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
done
[[ -d bench/node_modules/@huggingface/hub ]] || missing+=("bench/node_modules/@huggingface/hub (npm ci --prefix bench)")
if ((${#missing[@]})); then
  echo "bench: missing: ${missing[*]} (bash scripts/install-deps.sh installs them)" >&2
  exit 2
fi
command -v hyperfine >/dev/null || echo "bench: hyperfine not found, warm runs use a plain loop" >&2

bin="${BENCH_MODELCACHE:-$root/build/modelcache}"
if [[ ! -x "$bin" ]]; then
  echo "bench: $bin not found; build it first (bash scripts/build.sh) or set BENCH_MODELCACHE" >&2
  exit 2
fi
newer="$(find src include CMakeLists.txt -newer "$bin" -type f 2>/dev/null | head -3 || true)"
if [[ -n "$newer" ]]; then
  echo "bench: warning: $bin is older than $(echo "$newer" | tr '\n' ' ')- rebuild for current figures" >&2
fi
export BENCH_MODELCACHE="$bin"

cmd="bash bench/run.sh"
for v in $(env | grep -o '^BENCH_[A-Z_]*' | sort); do
  [[ "$v" == BENCH_COMMAND ]] || cmd="$v=${!v} $cmd"
done
export BENCH_COMMAND="$cmd"

data="${BENCH_DATA:-$here/data}"
pid=""
cleanup() {
  # bench.py stops its servers itself; this is the backstop if it was killed hard.
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -f "$data/run/server.pids" ]]; then
    while read -r p; do
      kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null || true
    done <"$data/run/server.pids"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

/usr/bin/python3 "$here/bench.py" &
pid=$!
status=0
wait "$pid" || status=$?
pid=""
exit "$status"
