#!/usr/bin/env bash
# Build clnn if needed, then train: tools/train.sh [clnn train options...]
# Without options it trains the reference network on Fashion-MNIST with the
# CLI's defaults; see `build/src/cli/clnn train --help`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/bootstrap.sh"
# Not run from the repository root, so relative paths in the options
# (--save model.safetensors) stay relative to the caller's directory.
exec "$root/build/src/cli/clnn" train "$@"
