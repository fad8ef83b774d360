#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of modelcache from Debian
# packages (and @huggingface/hub from npm for the benchmark's peer client).
# Idempotent: re-running it on a ready machine only checks.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libpugixml-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev
  nginx-light aria2 hyperfine curl wrk
  python3 python3-pytest
  # The ONNX plugin (OpenCV DNN) and the ONNX test models (run with /usr/bin/python3).
  libopencv-dnn-dev libopencv-imgcodecs-dev libopencv-imgproc-dev python3-onnx
)
# Node.js (for the benchmark's @huggingface/hub peer): any install that brings
# npm will do (Debian's nodejs+npm, or NodeSource's nodejs which bundles npm).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nginx-light's package enables a default site on :80; our tests start their own
# nginx with their own config, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi

# The benchmark compares against Hugging Face's own JS client.
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -d "$here/bench/node_modules/@huggingface/hub" ]; then
  (cd "$here/bench" && npm install --silent --no-audit --no-fund >/dev/null 2>&1) \
    || echo "install-deps: npm install of @huggingface/hub failed; the benchmark will skip that peer" >&2
fi
# The integration tests' real peers: Azurite and Microsoft's client (Azure tests),
# @huggingface/hub (HF cache interop, the mirror); versions pinned in
# tests/peers/package-lock.json.
peers_ok=1
for m in azurite @azure/storage-blob @huggingface/hub; do
  [ -d "$here/tests/peers/node_modules/$m" ] || peers_ok=0
done
if [ "$peers_ok" = 0 ]; then
  (cd "$here/tests/peers" && npm install --silent --no-audit --no-fund >/dev/null 2>&1) \
    || echo "install-deps: npm install in tests/peers failed; the tests that use these peers will fail" >&2
fi
echo "install-deps: ok" >&2
