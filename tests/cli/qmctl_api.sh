#!/bin/bash
# qmctl's daemon commands without a daemon: every command's --help, usage errors (exit 2),
# and a clear "cannot reach qmd" (exit 1) when the socket is missing. The lifecycle against
# a real qmd lives with the daemon's tests. Usage: qmctl_api.sh PATH/TO/qmctl
set -u
qmctl=${1:?usage: $0 PATH/TO/qmctl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
missing=$tmp/no-qmd.sock

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# check NAME WANT_EXIT WANT_TEXT ARGS...: run qmctl, compare exit code, grep its output.
check() {
  local name=$1 want_rc=$2 want_text=$3
  shift 3
  local out rc
  out=$("$qmctl" "$@" 2>&1 </dev/null)
  rc=$?
  echo "check: $name: qmctl $* -> $rc"
  if [[ $rc -ne $want_rc ]]; then
    echo "$out" | head -n 8 | sed 's/^/  | /'
    fail "$name: exit $rc, want $want_rc"
  fi
  if [[ -n $want_text ]] && ! grep -qF -- "$want_text" <<<"$out"; then
    echo "$out" | head -n 8 | sed 's/^/  | /'
    fail "$name: output lacks: $want_text"
  fi
}

echo 'metadata: {name: web1}' >"$tmp/vm.yaml"
commands=(host list show create apply delete start stop kill pause resume reset reboot argv
  console events logs)
with_name=(show delete start stop kill pause resume reset reboot argv console logs)

for c in "${commands[@]}"; do
  check "$c --help" 0 "usage: qmctl $c" "$c" --help
  check "$c -h (global, before)" 0 "usage: qmctl $c" -h "$c"
done
check "qmctl --help" 0 "Commands that talk to qmd" --help
check "no command" 2 "usage: qmctl" 
check "unknown command" 2 'unknown command "frobnicate"' frobnicate
check "unknown flag" 2 "unknown flag --bogus" list --bogus
check "-o yaml" 2 "-o takes json" -o yaml list
check "create without -f" 2 "missing -f FILE" create
check "apply without -f" 2 "missing -f FILE" apply
check "stop --grace x" 2 "--grace takes a number" stop web1 --grace soon
check "logs --lines x" 2 "--lines takes a number" logs web1 --lines many
check "list extra" 2 'unexpected argument "x"' list x
for c in "${with_name[@]}"; do
  check "$c without NAME" 2 "missing NAME" "$c"
done

# Guest agent and hotplug commands share the same parser (daemon/qmctl/args.cpp).
for c in guest exec guest-ping set-password freeze thaw sync-time attach-disk detach-disk \
  attach-interface detach-interface set-cpus set-memory balloon; do
  check "$c --help" 0 "usage: qmctl $c" "$c" --help
  check "$c without NAME" 2 "missing NAME" "$c"
  check "$c unknown flag" 2 "unknown flag --bogus" "$c" web1 --bogus
done
check "exec --timeout 0" 2 "--timeout takes a number of seconds" exec web1 --timeout 0 -- true
check "freeze --timeout=x" 2 "--timeout takes a number of seconds" freeze web1 --timeout=x
check "exec --timeout, no value" 2 "--timeout needs a value" exec web1 --timeout
check "set-password --crypted=1" 2 "--crypted takes no value" set-password web1 root --crypted=1
check "set-password, no USER" 2 "missing arguments" set-password web1
check "attach-disk without --name" 2 "missing --name" attach-disk web1 --path /x
check "attach-disk without --path" 2 "missing --path" attach-disk web1 --name d
check "detach-disk extra" 2 'unexpected argument "x"' detach-disk web1 d x
check "set-cpus, not a number" 2 '"x" is not a number of vCPUs' set-cpus web1 x -s "$missing"

reach="cannot reach qmd at $missing"
check "-ojson" 1 "$reach" list -ojson -s "$missing"
check "exec: flags before --, guest command after" 1 "$reach" exec web1 -s "$missing" -- ls -l
check "hotplug: -- ends the flags" 1 "$reach" set-cpus -s "$missing" -- web1 2
check "attach-disk, missing socket" 1 "$reach" attach-disk web1 --name=d --path=/x --readonly -s "$missing"
check "freeze, missing socket" 1 "$reach" freeze web1 --timeout 10 -s "$missing"
check "list, missing socket (-s)" 1 "$reach" -s "$missing" list
check "show, missing socket (-s after)" 1 "$reach" show web1 --socket "$missing"
check "stop, missing socket" 1 "$reach" stop web1 --grace 5 -s "$missing"
check "create, missing socket" 1 "$reach" create -f "$tmp/vm.yaml" --start -s "$missing"
check "apply, missing socket" 1 "$reach" apply -f "$tmp/vm.yaml" -s "$missing"
check "events, missing socket" 1 "$reach" events web1 --follow -s "$missing"
check "logs, missing socket" 1 "$reach" logs web1 -n 5 -s "$missing"
check "console, missing socket" 1 "$reach" console web1 -s "$missing"
check "host, missing socket" 1 "$reach" -o json host -s "$missing"

QMD_SOCKET=$missing check "QMD_SOCKET chooses the socket" 1 "$reach" list
export QMD_SOCKET=$missing
check "QMD_SOCKET chooses the socket" 1 "$reach" kill web1
unset QMD_SOCKET
check "hint" 1 "is qmd running? -s PATH or QMD_SOCKET" -s "$missing" list
check "create: unreadable file" 1 "cannot read $tmp/none.yaml" create -f "$tmp/none.yaml" -s "$missing"
check "host --offline needs no daemon" 0 "" host --offline --fake-host "kvm=yes" -s "$missing"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all qmctl API usage checks passed"
