#!/usr/bin/env bash
# Set-up in one command: install dependencies, build, and run the demo.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/install-deps.sh"
bash "$here/scripts/build.sh" "$here/build"
bash "$here/scripts/demo.sh"
