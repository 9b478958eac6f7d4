#!/usr/bin/env bash
# Builds module.wasm from module.c: a core module with clang (target wasm32, no libc), then
# a component with wasm-tools. Needs clang, wasm-ld and wasm-tools; in the Symphra
# repository, .ci/install-wasm-toolchain installs them.
# Usage: ./build.sh [OUTPUT]   (default: module.wasm next to this script)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/module.wasm}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

clang --target=wasm32 -nostdlib -O2 -Wall -Wextra \
    -Wl,--no-entry -Wl,--strip-all \
    -o "$tmp/core.wasm" "$here/module.c"
wasm-tools component embed "$here/wit" --world module "$tmp/core.wasm" -o "$tmp/embedded.wasm"
wasm-tools component new "$tmp/embedded.wasm" -o "$out"
wasm-tools validate --features component-model "$out"
echo "built $out ($(wc -c <"$out") bytes)"
