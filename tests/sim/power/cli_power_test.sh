#!/bin/sh
# gwsim compare / campus / run: nonsense budgets and caps exit 2 with the option or JSON path named.
G="$1"; SRC="$2"; fail=0
expect() {  # expect EXIT PATTERN -- ARGS...
  code="$1"; pat="$2"; shift 3
  err=$("$G" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" != "$code" ] || ! printf '%s' "$err" | grep -q -- "$pat"; then
    echo "FAIL: gwsim $* -> exit $rc, '$err' (expected $code and '$pat')"; fail=1
  fi
}
S="$SRC/scenarios/deepseek-v3-pretrain-2048xh800.json"
expect 2 "\-\-power-mw" -- campus --power-mw -5 --gpu GB200
expect 2 "\-\-power-mw" -- campus --power-mw 0 --gpu GB200
expect 2 "\-\-gpu" -- campus --power-mw 100 --gpu NoSuchChip
expect 2 "\-\-oversubscription" -- campus --power-mw 100 --gpu H100 --oversubscription 0.5
expect 2 "\-\-budget" -- compare "$S" --gpus H100-SXM --budget same_money
expect 2 "\-\-gpus" -- compare "$S" --gpus H100-SXM@2022-10
expect 2 "1999-01" -- compare "$S" --gpus H100-SXM@1999-01:interconnect
expect 2 "cluster.gpus" -- compare "$S" --gpus H100-SXM --set cluster.gpus=0
expect 2 "gpu_variant.rule" -- run "$S" --set 'cluster.gpu_variant={"rule":"1999-01","cap":"interconnect"}'
expect 2 "above" -- run "$S" --set 'cluster.gpu_variant={"caps":{"interconnect":5000}}'
expect 2 "caps.hbm" -- run "$S" --set 'cluster.gpu_variant={"caps":{"hbm":-1}}'
# The good paths print.
"$G" compare "$S" --gpus H800-SXM,H100-SXM,H20 --budget same_power --json >/dev/null || { echo "FAIL: compare"; fail=1; }
"$G" campus --power-mw 1000 --gpu GB200 --json >/dev/null || { echo "FAIL: campus"; fail=1; }
exit $fail
