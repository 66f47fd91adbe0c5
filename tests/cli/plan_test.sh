#!/usr/bin/env bash
# gwsim plan end to end: a plan file and the flag form give reports; bad input is one line with the
# file and JSON path, exit 2 and no file written; --emit writes scenarios `gwsim run` reproduces;
# the report is the same bytes for 1 and 2 threads.
set -u
gwsim=$1; root=$2
source "$(dirname "$0")/test_lib.sh"
cat > "$tmp/plan.json" <<JSON
{"schema": "gwsim.plan/1", "scenario": "$root/scenarios/megatron-sc21-1p7b-32xa100.json",
 "search": {"gpus": [16, 32], "pp": [1, 2], "cp": [1, 2], "micro_batch_seqs": [1, 2]},
 "constraints": {"memory_headroom": 0.1}, "objectives": ["time", "cost"], "top_k": 5}
JSON
check plan-file 0 'layouts:' -- plan "$tmp/plan.json" --json "$tmp/r1.json" --csv "$tmp/r1.csv" --emit "$tmp/emit" --threads 1
"$gwsim" plan "$tmp/plan.json" --json "$tmp/r2.json" --threads 2 --quiet
ok cmp -s "$tmp/r1.json" "$tmp/r2.json"
ok grep -q '"schema": "gwsim.plan-report/1"' "$tmp/r1.json"
ok test "$(wc -l < "$tmp/r1.csv")" -eq 6
# The emitted rank 1 runs to the step time the plan reported.
want=$(python3 -c "import json;print(json.load(open('$tmp/r1.json'))['top'][0]['step_time_s'])")
got=$("$gwsim" run "$tmp/emit/rank-01.json" --quiet --out "$tmp/run1.json" && python3 -c "import json;print(json.load(open('$tmp/run1.json'))['training']['step_time_s'])")
ok test "$want" = "$got"
# Bad input: one line, file and JSON path, exit 2, nothing written.
sed 's/"pp": \[1, 2\]/"pp": [1, "two"]/' "$tmp/plan.json" > "$tmp/bad.json"
check bad-type 2 'bad.json: $.search.pp[1]: expected an integer' -- plan "$tmp/bad.json" --json "$tmp/bad-out.json"
ok test ! -e "$tmp/bad-out.json"
sed 's/"search"/"serch"/' "$tmp/plan.json" > "$tmp/bad2.json"
check bad-key 2 'bad2.json: $.serch: unknown key' -- plan "$tmp/bad2.json"
printf '{"schema": "gwsim.plan/1", "scenario": }' > "$tmp/bad3.json"
check malformed 2 'bad3.json: $.scenario: malformed JSON' -- plan "$tmp/bad3.json"
check bad-flag 2 '--gpus' -- plan --model llama3-8b --gpu H100-SXM --tokens 1e12 --gpus 64:x
check both 2 'not both' -- plan "$tmp/plan.json" --model llama3-8b
if [ "$("$gwsim" plan "$tmp/bad.json" 2>&1 | wc -l)" -eq 1 ]; then passes=$((passes+1)); else echo "FAIL error is not one line"; fails=$((fails+1)); fi
# The flag form of the issue's question, on a small range.
check flags 0 'objective gpus' -- plan --model llama3-8b --tokens 1e12 --gpu H100-SXM,H20 --gpus 64:256 --deadline-days 40 --objective gpus --json "$tmp/f.json"

# The serving planner (--serving, or a gwsim.serving-plan/1 file given as the plan): a report, the
# emitted rank 1 simulates to the P99s the plan reported, bad input exits 2 with the path.
cat > "$tmp/serving-plan.json" <<JSON
{"schema": "gwsim.serving-plan/1", "scenario": "$root/scenarios/serving/llama3-70b-chat-requests-h100.json",
 "search": {"decode_gpus": [4, 8], "batch_fractions": [1], "max_requests": 2000}, "top_k": 2}
JSON
check serving-plan 0 'serving plan for llama3-70b-chat-requests-h100' -- plan "$tmp/serving-plan.json" --json "$tmp/sp.json" --emit "$tmp/sp-emit" --threads 2
ok grep -q '"schema": "gwsim.serving-plan-report/1"' "$tmp/sp.json"
want=$(python3 -c "import json;print(json.load(open('$tmp/sp.json'))['ranked'][0]['p99_tpot_ms'])")
got=$("$gwsim" serve "$tmp/sp-emit/rank-01.json" --simulate --quiet --out "$tmp/sp-run.json" && python3 -c "import json;print(round(json.load(open('$tmp/sp-run.json'))['latency_ms']['tpot']['p99'], 3))")
ok python3 -c "import sys; sys.exit(0 if abs($want - $got) < 1e-3 else 1)"
check serving-flags 0 'objective gpus' -- plan --serving "$tmp/serving-plan.json" --objective gpus --gpu H100-SXM --json "$tmp/sp2.json"
ok grep -q '"objective": "gpus"' "$tmp/sp2.json"
sed 's/"decode_gpus"/"decode_gpu"/' "$tmp/serving-plan.json" > "$tmp/sp-bad.json"
check serving-bad-key 2 'sp-bad.json: $.search.decode_gpu: unknown key' -- plan "$tmp/sp-bad.json" --json "$tmp/sp-bad-out.json"
ok test ! -e "$tmp/sp-bad-out.json"
check serving-training-flag 2 'expected only --gpu' -- plan --serving "$tmp/serving-plan.json" --csv "$tmp/x.csv"
check serving-objective 2 '--objective' -- plan --serving "$tmp/serving-plan.json" --objective time
check serving-no-requests 2 '$: expected a serving scenario with a "requests" section' -- plan --serving "$root/scenarios/plans/../serving/llama3-70b-serving-h100.json"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
