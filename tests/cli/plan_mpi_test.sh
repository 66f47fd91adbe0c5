#!/usr/bin/env bash
# `mpirun -n N gwsim plan` (issue 14; --serving, issue 15): the search split over MPI ranks gives the same bytes as one
# process (report, CSV, the base layout's rank and the Pareto front included), rank 0 alone
# prints, and bad input is still the one-line error with exit 2, printed once.
set -u
gwsim=$1; root=$2
source "$(dirname "$0")/test_lib.sh"
# Root may launch (CI runs as root); more ranks than cores; no ptrace-based single copy (containers).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under tests/sanitize.sh: OpenMPI's plugins leak at exit and are unloaded before LeakSanitizer
# reports, so their frames cannot be named in a suppression; leak checking is off for the MPI runs
# only (address errors and undefined behaviour still abort). The same search code runs under
# LeakSanitizer without MPI in cli_plan and sim_plan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cat > "$tmp/plan.json" <<JSON
{"schema": "gwsim.plan/1", "scenario": "$root/scenarios/megatron-sc21-1p7b-32xa100.json",
 "search": {"gpus": [16, 32], "pp": [1, 2], "cp": [1, 2], "micro_batch_seqs": [1, 2]},
 "constraints": {"memory_headroom": 0.1}, "objectives": ["time", "cost"], "top_k": 5}
JSON
"$gwsim" plan "$tmp/plan.json" --json "$tmp/one.json" --csv "$tmp/one.csv" --threads 1 > "$tmp/one.txt"
ok test -s "$tmp/one.json"
for n in 2 3; do
  mpirun -n $n "$gwsim" plan "$tmp/plan.json" --json "$tmp/mpi$n.json" --csv "$tmp/mpi$n.csv" --threads 1 \
    > "$tmp/mpi$n.txt" 2> "$tmp/mpi$n.err"
  ok test $? -eq 0
  ok cmp -s "$tmp/one.json" "$tmp/mpi$n.json"
  ok cmp -s "$tmp/one.csv" "$tmp/mpi$n.csv"
  # The summary once (rank 0), the same as one process's apart from progress on stderr.
  ok cmp -s "$tmp/one.txt" "$tmp/mpi$n.txt"
done
# Every rank splits its share over threads too.
mpirun -n 2 "$gwsim" plan "$tmp/plan.json" --json "$tmp/mpi2t.json" --threads 2 --quiet
ok cmp -s "$tmp/one.json" "$tmp/mpi2t.json"
# Bad input: exit 2 and the one-line error printed by rank 0 alone.
sed 's/"search"/"serch"/' "$tmp/plan.json" > "$tmp/bad.json"
mpirun -n 2 "$gwsim" plan "$tmp/bad.json" --json "$tmp/bad-out.json" > "$tmp/bad.txt" 2>&1
ok test $? -eq 2
ok test "$(grep -c '^gwsim: .*bad.json: \$.serch: unknown key' "$tmp/bad.txt")" -eq 1
ok test ! -e "$tmp/bad-out.json"
# The serving planner splits its candidates over the ranks the same way (issue 15).
cat > "$tmp/serving.json" <<JSON
{"schema": "gwsim.serving-plan/1", "scenario": "$root/scenarios/serving/llama3-70b-chat-requests-h100.json",
 "search": {"decode_gpus": [2, 4, 8], "batch_fractions": [1], "max_requests": 1500}}
JSON
"$gwsim" plan --serving "$tmp/serving.json" --json "$tmp/s1.json" --threads 1 > "$tmp/s1.txt" 2>/dev/null
ok test -s "$tmp/s1.json"
mpirun -n 2 "$gwsim" plan --serving "$tmp/serving.json" --json "$tmp/s2.json" --threads 1 > "$tmp/s2.txt" 2>/dev/null
ok test $? -eq 0
ok cmp -s "$tmp/s1.json" "$tmp/s2.json"
ok cmp -s "$tmp/s1.txt" "$tmp/s2.txt"
echo "plan_mpi_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
