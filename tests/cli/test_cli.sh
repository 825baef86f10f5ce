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
# every command the top help lists (so a new one is covered without editing this list)
cmds=$("$V" --help | awk '/^  [a-z]/ {print $1}')
[ "$(echo "$cmds" | wc -w)" -ge 15 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: top help lists: $cmds"; }
for c in $cmds; do check "$c --help" 0 "$V" "$c" --help; done
check "validate without arguments" 2 "$V" validate
check "inspect missing file" 1 "$V" inspect /nonexistent.safetensors
"$V" frobnicate 2>&1 | grep -q "unknown command 'frobnicate'" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: message"; }
rm -f /tmp/vrobin_cli_out.$$
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
