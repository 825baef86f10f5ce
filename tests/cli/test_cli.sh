#!/usr/bin/env bash
# Every subcommand answers --help with exit 0; bad usage exits 2 with a message.
set -u
V=$1
pass=0; fail=0
check() { # name, expected exit, command...
  local name=$1 want=$2; shift 2
  "$@" >/tmp/vrobin_cli_out.$$ 2>&1; local rc=$?
  if [ "$rc" = "$want" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $name: exit $rc, want $want"; cat /tmp/vrobin_cli_out.$$; fi
}
check "top help" 0 "$V" --help
check "version" 0 "$V" --version
check "no args" 2 "$V"
check "unknown command" 2 "$V" frobnicate
for c in doctor config data inspect train plot export generate; do check "$c --help" 0 "$V" "$c" --help; done
check "inspect missing file" 1 "$V" inspect /nonexistent.safetensors
"$V" frobnicate 2>&1 | grep -q "unknown command 'frobnicate'" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: message"; }
rm -f /tmp/vrobin_cli_out.$$
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
