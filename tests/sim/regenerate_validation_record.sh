#!/usr/bin/env bash
# Rewrites sim/data/validation_record.json from the current model, for both backends, when a model
# change is meant to move validation rows. Only the numbers (and each row's kind, region and speed
# sense) are refreshed; in_sample, reason and cause are kept. It lists what needs a person: a new
# row (decide in_sample, write the reason), a row that now misses by more than 10% without a cause,
# a cause on a row that no longer misses, a dropped row. Review `git diff sim/data/validation_record.json`
# and name the rows that moved in the commit message.
# Usage (from anywhere in the checkout): tests/sim/regenerate_validation_record.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
cmake --build "$build" --target gwsim
GWSIM_DATA_DIR=$root "$build/cli/gwsim" validate --backend des --update-record --record "$root/sim/data/validation_record.json"
