#!/usr/bin/env bash
# Golden outputs: the printed summary of every shipped scenario, stored under tests/golden/ and
# compared byte for byte, so that any unintended change to a number fails the test suite.
#   scenarios/*.json          -> gwsim run SCENARIO   (analytical backend, the default) -> run/NAME.txt
#   scenarios/serving/*.json  -> gwsim serve SCENARIO                                   -> serve/NAME.txt
#   those with a "requests" section, also
#                             -> gwsim serve SCENARIO --simulate --set requests.max_requests=100000
#                                                                                       -> simulate/NAME.txt
#      (the first 100,000 requests: the Day-6 day is 8.4M requests and 25 s; docs/serving.md has its numbers)
#   scenarios/rl/*.json       -> gwsim rl SCENARIO (analytical update backend)          -> rl/NAME.txt
#   scenarios/plans/*.json    -> gwsim plan PLAN (serving plans: gwsim.serving-plan/1)  -> plan/NAME.txt
#
#   golden.sh check      GWSIM ROOT   diff each summary against its stored file (ctest golden_outputs)
#   golden.sh regenerate GWSIM ROOT   rewrite the stored files (after an intended change: regenerate.sh)
set -u
mode=$1; gwsim=$2; root=$3
golden=$root/tests/golden
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checked=0

# compare KIND COMMAND SCENARIO [ARGS...]: KIND is the folder under tests/golden (run, serve, simulate or rl).
compare() {
  local kind=$1 command=$2 scenario=$3
  shift 3
  local name expected rc
  name=$(basename "$scenario" .json)
  expected=$golden/$kind/$name.txt
  "$gwsim" "$command" "$scenario" "$@" > "$tmp/out.txt" 2> "$tmp/err.txt"; rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAIL gwsim $command $scenario: exit $rc: $(cat "$tmp/err.txt")"; fails=$((fails+1)); return
  fi
  # The summary must not depend on the run: a second run gives the same bytes.
  "$gwsim" "$command" "$scenario" "$@" > "$tmp/again.txt" 2>/dev/null
  if ! cmp -s "$tmp/out.txt" "$tmp/again.txt"; then
    echo "FAIL gwsim $command $scenario: two runs print different summaries"; fails=$((fails+1)); return
  fi
  checked=$((checked+1))
  if [ "$mode" = regenerate ]; then
    mkdir -p "$golden/$kind"; cp "$tmp/out.txt" "$expected"; return
  fi
  if [ ! -f "$expected" ]; then
    echo "FAIL $kind/$name.txt: no expected summary for $scenario (run tests/golden/regenerate.sh)"; fails=$((fails+1)); return
  fi
  if ! diff -u --label "expected $kind/$name.txt" --label "gwsim $command $name.json" "$expected" "$tmp/out.txt"; then
    fails=$((fails+1))
  fi
}

case "$mode" in check | regenerate) ;; *) echo "usage: golden.sh check|regenerate GWSIM ROOT" >&2; exit 2 ;; esac
[ "$mode" = regenerate ] && rm -f "$golden"/run/*.txt "$golden"/serve/*.txt "$golden"/simulate/*.txt "$golden"/rl/*.txt "$golden"/plan/*.txt
for s in "$root"/scenarios/*.json; do compare run run "$s"; done
for s in "$root"/scenarios/serving/*.json; do compare serve serve "$s"; done
for s in "$root"/scenarios/serving/*.json; do
  grep -q '"requests"' "$s" && compare simulate serve "$s" --simulate --set requests.max_requests=100000
done
for s in "$root"/scenarios/rl/*.json; do compare rl rl "$s"; done
for s in "$root"/scenarios/plans/*.json; do compare plan plan "$s" --threads 2; done
# A stored summary whose scenario is gone is stale.
for f in "$golden"/run/*.txt "$golden"/serve/*.txt "$golden"/simulate/*.txt "$golden"/rl/*.txt "$golden"/plan/*.txt; do
  [ -e "$f" ] || continue
  kind=$(basename "$(dirname "$f")"); name=$(basename "$f" .txt)
  scenario=$root/scenarios/$name.json
  case "$kind" in
    serve|simulate) scenario=$root/scenarios/serving/$name.json ;;
    rl) scenario=$root/scenarios/rl/$name.json ;;
    plan) scenario=$root/scenarios/plans/$name.json ;;
  esac
  [ -f "$scenario" ] || { echo "FAIL $kind/$name.txt: its scenario is gone (run tests/golden/regenerate.sh)"; fails=$((fails+1)); }
done

if [ "$mode" = regenerate ]; then
  echo "wrote $checked expected summaries under tests/golden/ ($fails failed)"
else
  echo "golden outputs: $checked scenarios, $fails failed"
  [ "$fails" -eq 0 ] || echo "if the change is intended: tests/golden/regenerate.sh, and say why in the commit"
fi
[ "$fails" -eq 0 ]
