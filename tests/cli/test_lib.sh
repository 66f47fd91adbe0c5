# Shared by the CLI test scripts (sourced after `gwsim=$1; root=$2`): a scratch folder removed on
# exit, pass/fail counters, and the two checks.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
check() {  # check NAME EXPECTED_RC EXPECTED_TEXT -- args...
  local name=$1 want_rc=$2 want_text=$3; shift 4
  local out rc
  out=$("$gwsim" "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$want_text" <<<"$out"; then
    echo "FAIL $name: rc=$rc (want $want_rc), output: $out"; fails=$((fails+1))
  else
    passes=$((passes+1))
  fi
}
ok() { if "$@"; then passes=$((passes+1)); else echo "FAIL: $*"; fails=$((fails+1)); fi; }
