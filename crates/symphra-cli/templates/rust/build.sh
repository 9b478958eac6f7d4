#!/usr/bin/env bash
# Builds module.wasm from src/lib.rs. Needs Rust's wasm32-wasip2 target:
#   rustup target add wasm32-wasip2
# Usage: ./build.sh [OUTPUT]   (default: module.wasm next to this script)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/module.wasm}"
cd "$here"
cargo build --release --target wasm32-wasip2 --target-dir "$here/target"
cp "$here/target/wasm32-wasip2/release/{{crate}}.wasm" "$out"
echo "built $out ($(wc -c <"$out") bytes)"
