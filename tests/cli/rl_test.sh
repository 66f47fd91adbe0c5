#!/usr/bin/env bash
# gwsim rl end to end (issue 16): a report and its summary, the same bytes twice, --set reaching the
# RL file and its parts, one-line errors with exit 2 and no partial report, the placement comparison.
set -u
gwsim=$1; root=$2
source "$(dirname "$0")/test_lib.sh"
rl=$root/tests/sim/rl/rl.json
check ok 0 'tail idle' -- rl "$rl" --out "$tmp/a.json"
"$gwsim" rl "$rl" --out "$tmp/b.json" --quiet
if cmp -s "$tmp/a.json" "$tmp/b.json" && grep -q '"gwsim.rl-report/1"' "$tmp/a.json"; then passes=$((passes+1)); else echo "FAIL rl reports differ or lack the schema"; fails=$((fails+1)); fi
check set-rl 0 'p90' -- rl "$rl" --set 'output_len={"distribution":"lognormal","mean":1024,"sigma":1,"max":4096}'
check set-part 0 'rl-test' -- rl "$rl" --set rollout.decode.batch_per_gpu=8
check misspelt 2 '$.prompt_lenn: unknown key' -- rl "$rl" --set prompt_lenn=5 --out "$tmp/c.json"
[ -e "$tmp/c.json" ] && { echo "FAIL rl wrote a partial report"; fails=$((fails+1)); }
check part-misspelt 2 'rollout.json: $.decode.kv_lenn: unknown key' -- rl "$rl" --set rollout.decode.kv_lenn=5
check bad-group 2 '$.algorithm.group_size' -- rl "$rl" --set algorithm.group_size=0
check bad-schema 2 '$.schema' -- rl "$root/scenarios/deepseek-v3-pretrain-2048xh800.json"
if [ "$(wc -l < <("$gwsim" rl "$rl" --set prompt_lenn=5 2>&1))" -eq 1 ]; then passes=$((passes+1)); else echo "FAIL rl error is not one line"; fails=$((fails+1)); fi
check compare 0 'disaggregated' -- rl "$rl" --set placement.gpus=32 --compare-placements --out "$tmp/cmp.json"
grep -q '"gwsim.rl-comparison/1"' "$tmp/cmp.json" && passes=$((passes+1)) || { echo "FAIL comparison report"; fails=$((fails+1)); }
echo "gwsim rl checks: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
