#!/usr/bin/env bash
# Full-report snapshot for refactoring (issue 13: reports byte-identical before and after each
# refactoring commit). Writes, under OUTDIR, the JSON report of every shipped training scenario with
# the analytical and des backends (des also its Chrome trace), every serving report, the validation
# rows (analytical and des) and a few compare/campus/collective outputs. Diff two snapshots with
# `diff -r BEFORE AFTER`; any difference is a changed number (or text) that the commit must explain.
#   tests/golden/snapshot_reports.sh OUTDIR [GWSIM]   (default: build/cli/gwsim of this checkout)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1; gwsim=${2:-$root/build/cli/gwsim}
[ -x "$gwsim" ] || { echo "snapshot_reports.sh: $gwsim is not an executable: build first" >&2; exit 2; }
export GWSIM_DATA_DIR=$root
mkdir -p "$out"; out=$(cd "$out" && pwd); cd "$out"  # reports name their own path: write relative ones
fails=0
run() {  # run NAME ARGS...: stdout+stderr and exit code into OUTDIR/NAME.txt
  local name=$1; shift
  { "$gwsim" "$@" 2>&1; echo "exit $?"; } > "$out/$name.txt"
}
for s in "$root"/scenarios/*.json; do
  n=$(basename "$s" .json)
  run "run-$n-analytical" run "$s" --quiet --out "$out/$n.analytical.json"
  run "run-$n-des" run "$s" --quiet --backend des --out "$out/$n.des.json" --trace "$out/$n.des.trace.json"
done
for s in "$root"/scenarios/serving/*.json; do
  n=$(basename "$s" .json)
  run "serve-$n" serve "$s" --out "serve-$n.json"
done
run validate-analytical validate --json "$out/validate-analytical.json"
run validate-des validate --backend des --json "$out/validate-des.json"
run simgrid-sc21-1p7b run "$root/scenarios/megatron-sc21-1p7b-32xa100.json" --quiet --backend simgrid --out "$out/sc21-1p7b.simgrid.json"
run compare-dsv3 compare "$root/scenarios/deepseek-v3-pretrain-2048xh800.json" --gpus H800-SXM,H20,H100-SXM@2022-10:interconnect --json
run campus-100mw campus --power-mw 100 --gpu H100-SXM
run collective-ag collective --op all_gather --bytes 1e9 --gpus 64
echo "snapshot written to $out ($(ls "$out" | wc -l) files)"
