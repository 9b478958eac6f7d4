#!/usr/bin/env bash
# Builds module.wasm from app.py with componentize-py (`pip install componentize-py`).
# Usage: ./build.sh [OUTPUT]   (default: module.wasm next to this script)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/module.wasm}"
cd "$here"
componentize-py -d wit -w module componentize app -o "$out"
echo "built $out ($(wc -c <"$out") bytes)"
