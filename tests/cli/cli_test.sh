#!/usr/bin/env bash
# gwsim's contract with users and scripts: bad input -> one line naming file and JSON path, exit 2,
# no report written; good input -> exit 0 and a report; same input -> same bytes.
set -u
gwsim=$1; root=$2
source "$(dirname "$0")/test_lib.sh"
sc=$root/scenarios/deepseek-v3-pretrain-2048xh800.json

check misspelt-key 2 '$.parallelism.tpp: unknown key' -- run "$sc" --set parallelism.tpp=2 --out "$tmp/r1.json"
[ -e "$tmp/r1.json" ] && { echo "FAIL misspelt-key wrote a partial report"; fails=$((fails+1)); }
printf '{"schema": "gwsim.scenario/1", "name": "x",\n "model": }' > "$tmp/bad.json"
check malformed 2 "bad.json: $.model: malformed JSON at line 2" -- run "$tmp/bad.json"
check unknown-gpu 2 '$.cluster.gpu' -- run "$sc" --set cluster.gpu=H900
check impossible-parallelism 2 'off by' -- run "$sc" --set parallelism.dp=100
check does-not-fit 2 'does not fit' -- run "$sc" --set parallelism.pp=4 --set parallelism.dp=512
check missing-file 2 "none.json: $: cannot read the file" -- run "$tmp/none.json"
check ok 0 'step time' -- run "$sc" --out "$tmp/a.json"
"$gwsim" run "$sc" --out "$tmp/b.json" --quiet
if cmp -s "$tmp/a.json" "$tmp/b.json"; then passes=$((passes+1)); else echo "FAIL reports differ between two runs"; fails=$((fails+1)); fi
if [ "$(wc -l < <("$gwsim" run "$sc" --set parallelism.tpp=2 2>&1))" -eq 1 ]; then passes=$((passes+1)); else echo "FAIL error is not one line"; fails=$((fails+1)); fi
# Seeded failure injection (goodput.injected): on by --set, refused when malformed, same seed same bytes.
llama=$root/scenarios/llama3-405b-16384xh100.json
inject=(--set reliability.inject_failures=true --set reliability.injection_trials=5)
check injected 0 'injected failures' -- run "$llama" "${inject[@]}" --out "$tmp/i1.json"
"$gwsim" run "$llama" "${inject[@]}" --out "$tmp/i2.json" --quiet
if grep -q '"injected"' "$tmp/i1.json" && cmp -s "$tmp/i1.json" "$tmp/i2.json"; then passes=$((passes+1)); else echo "FAIL injected section missing or reports differ"; fails=$((fails+1)); fi
check injected-bad-trials 2 '$.reliability.injection_trials' -- run "$llama" --set reliability.injection_trials=0
check injected-bad-flag 2 '$.reliability.inject_failures' -- run "$llama" --set reliability.inject_failures=yes
# Decode serving: a report, the same bytes twice, and a batch that does not fit refused without a report.
serve=$root/scenarios/serving/deepseek-v3-serving-h800.json
check serve-ok 0 'output tokens/s per GPU' -- serve "$serve" --out "$tmp/s1.json"
"$gwsim" serve "$serve" --out "$tmp/s2.json" --quiet
if cmp -s "$tmp/s1.json" "$tmp/s2.json"; then passes=$((passes+1)); else echo "FAIL serving reports differ between two runs"; fails=$((fails+1)); fi
sed 's/"batch_per_gpu": "max"/"batch_per_gpu": 500/' "$serve" > "$tmp/big.json"
check serve-does-not-fit 2 '$.decode.batch_per_gpu: 500 sequences per GPU do not fit' -- serve "$tmp/big.json" --out "$tmp/s3.json"
[ -e "$tmp/s3.json" ] && { echo "FAIL serve wrote a partial report"; fails=$((fails+1)); }
check serve-other-chip 0 'profile h20-published' -- serve "$serve" --set cluster.gpu=H20
check serve-misspelt-set 2 '$.decode.kv_lenn: unknown key' -- serve "$serve" --set decode.kv_lenn=100
# Request-level simulation (issue 15): report, per-request CSV and trace together, same bytes twice,
# bad input refused with its path and nothing written.
sim=$root/scenarios/serving/deepseek-r1-reasoning-requests-256xh200.json
check simulate-ok 0 'request-level simulation' -- serve "$sim" --simulate --set requests.max_requests=3000 \
  --out "$tmp/q1.json" --requests-csv "$tmp/q1.csv" --trace "$tmp/q1.trace.json"
"$gwsim" serve "$sim" --simulate --set requests.max_requests=3000 --out "$tmp/q2.json" --quiet
if cmp -s "$tmp/q1.json" "$tmp/q2.json" && [ "$(wc -l < "$tmp/q1.csv")" -eq 3001 ] && [ -s "$tmp/q1.trace.json" ]; then
  passes=$((passes+1))
else
  echo "FAIL simulate: reports differ, or the CSV / trace is missing"; fails=$((fails+1))
fi
check simulate-bad-key 2 '$.requests.arrivals.rate: unknown key' -- serve "$sim" --simulate \
  --set requests.arrivals.rate=3 --out "$tmp/q3.json" --requests-csv "$tmp/q3.csv"
[ -e "$tmp/q3.json" ] || [ -e "$tmp/q3.csv" ] && { echo "FAIL simulate wrote partial output"; fails=$((fails+1)); }
check simulate-no-section 2 '$.requests: expected a "requests" section' -- serve "$serve" --simulate
check simulate-csv-needs-flag 2 'expected --simulate' -- serve "$sim" --requests-csv "$tmp/q4.csv"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
