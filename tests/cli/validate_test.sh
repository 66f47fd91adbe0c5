#!/usr/bin/env bash
# `gwsim validate` and the error band, end to end: rows marked in/out-of-sample with per-group
# statistics; a cases file with a field missing or a figure unreadable stops with the file and JSON
# path (exit 2, one line, nothing written); a training report carries its error band.
set -u
gwsim=$1; root=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { passes=$((passes+1)); }

out=$("$gwsim" validate --json "$tmp/v.json" 2>&1); rc=$?
[ "$rc" -eq 0 ] || fail "validate: rc=$rc: $out"
grep -qE '^analytical +in_sample +n=[0-9]+ +median \|error\|' <<<"$out" && ok || fail "validate: no in_sample group line"
grep -qE '^analytical +out_of_sample +n=[0-9]+ ' <<<"$out" && ok || fail "validate: no out_of_sample group line"
grep -qE '^spec-h100-sxm +bf16_dense_tflops .* in$' <<<"$out" && ok || fail "validate: spec row not marked in-sample"
grep -qE '^megatron-sc21-weak-scaling 1.7B .* out$' <<<"$out" && ok || fail "validate: SC21 row not marked out-of-sample"
# Every row decided in the JSON, and the two groups add up to the rows.
rows=$(grep -c '"case": ' "$tmp/v.json")
decided=$(grep -cE '"in_sample": (true|false),?$' "$tmp/v.json")
grouped=$(sed -nE 's/^analytical +(in_sample|out_of_sample) +n=([0-9]+) .*/\2/p' <<<"$out" | paste -sd+)
grouped=$((grouped))
if [ "$rows" -gt 100 ] && [ "$decided" -eq "$rows" ] && [ "$grouped" -eq "$rows" ] && grep -q '"median_abs_error_pct"' "$tmp/v.json"; then
  ok; else fail "validate --json: $rows rows, $decided decided, $grouped in the groups"; fi

# A copy of the shared cases with Llama 3's published TFLOP/s removed, then made unreadable.
mkdir -p "$tmp/shared/validation"
cases=$root/../shared/validation/published_cases.json
[ -n "${GWSIM_SHARED_DIR:-}" ] && cases=$GWSIM_SHARED_DIR/validation/published_cases.json
sed '/"TFLOPs_per_GPU": 430,/d' "$cases" > "$tmp/shared/validation/published_cases.json"
out=$(GWSIM_SHARED_DIR=$tmp/shared "$gwsim" validate --json "$tmp/bad.json" 2>&1); rc=$?
want="gwsim: $tmp/shared/validation/published_cases.json: \$.cases[10].measured.TFLOPs_per_GPU: missing required field"
if [ "$rc" -eq 2 ] && [ "$out" = "$want" ] && [ ! -e "$tmp/bad.json" ]; then ok; else fail "missing figure: rc=$rc, output: $out"; fi
sed 's/"TFLOPs_per_GPU": 430,/"TFLOPs_per_GPU": "unconfirmed",/' "$cases" > "$tmp/shared/validation/published_cases.json"
out=$(GWSIM_SHARED_DIR=$tmp/shared "$gwsim" validate 2>&1); rc=$?
if [ "$rc" -eq 2 ] && grep -qF '$.cases[10].measured.TFLOPs_per_GPU: expected a positive published figure' <<<"$out" \
   && [ "$(wc -l <<<"$out")" -eq 1 ]; then ok; else fail "unreadable figure: rc=$rc, output: $out"; fi

# The error band: in the summary and the report of a shipped scenario, and "outside" on Blackwell.
out=$("$gwsim" run "$root/scenarios/deepseek-v3-pretrain-2048xh800.json" --out "$tmp/r.json" 2>&1)
grep -qF 'similar validated runs: ' <<<"$out" && ok || fail "run: no error band in the summary"
grep -qF '"similar_runs": 2' "$tmp/r.json" && grep -qF '"outside": false' "$tmp/r.json" && ok || fail "run: error_band n != 2"
out=$("$gwsim" run "$root/scenarios/gigawatt-gb200-nvl72.json" 2>&1)
grep -qF 'outside every validated region (Blackwell' <<<"$out" && ok || fail "run: Blackwell scenario not outside: $out"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
