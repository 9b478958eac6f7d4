#!/usr/bin/env bash
# Builds the C greeter (examples/modules/greeter) into each module folder of this demo.
# Needs clang, wasm-ld and wasm-tools (.ci/install-wasm-toolchain).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/../modules/greeter/build.sh" "$here/greeter/module.wasm"
for module in hello welcome; do
    cp "$here/greeter/module.wasm" "$here/$module/module.wasm"
done
