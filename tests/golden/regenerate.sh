#!/usr/bin/env bash
# Rewrites the expected summaries under tests/golden/ from the current build, after a change to the
# numbers that is intended (review the diff: `git diff tests/golden/`).
#   tests/golden/regenerate.sh [GWSIM]   (default: build/cli/gwsim of this checkout)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
gwsim=${1:-$root/build/cli/gwsim}
[ -x "$gwsim" ] || { echo "regenerate.sh: $gwsim is not an executable: build first (./build.sh)" >&2; exit 2; }
# The data of this checkout, as the test reads it.
export GWSIM_DATA_DIR=$root
exec "$root/tests/golden/golden.sh" regenerate "$gwsim" "$root"
