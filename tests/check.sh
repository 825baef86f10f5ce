# check.sh — the assertions of vrobin's shell tests (sourced; POSIX sh), the shell side of check.h:
#   check 'CONDITION' "what failed"   counts a pass, or a failure printed as "FAIL: what failed"
#   ok / bad "message"                count one directly
# A test ends with: echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
