#!/usr/bin/env bash
# The serial console kept while nobody is attached: the test guest's kernel boot messages are
# in `qmctl console NAME --log` (and GET /v1/vms/NAME/console/log) without any session ever
# attached; an interactive session still works and what it shows is kept too; the log
# outlives the run, holds at most its last 1 MiB when the guest writes more, and answers 404
# for an unknown VM; an attach to a stopped VM is a 409 pointing at --log. A kernel panic in
# the guest (sysrq c) reaches qmd through the pvpanic device: the VM is crashed, the event
# says the guest panicked, and the panic message is in the log.
source "$(dirname "$0")/lib.sh"
e2e_setup

# The test guest's spec without `quiet`: the kernel prints its boot messages on ttyS0.
loud_spec() {
  local f
  f=$(spec "$1")
  sed -i 's/ quiet / /' "$f"
  echo "$f"
}
console_log() { qm console "$1" --log 2>/dev/null | tr -d '\r'; }
log_has() { console_log "$1" | grep_q -F -- "$2"; }
log_bytes() { curl -sS --max-time 30 --unix-socket "$SOCK" "http://qmd/v1/vms/$1/console/log" | wc -c; }

scenario_boot_messages_kept_without_attach() {
  qm create -f "$(loud_spec cl1)" >/dev/null || fail "create cl1"
  qm start cl1 >/dev/null || fail "start cl1"
  wait_for 120 "the kernel's first line in the console log" log_has cl1 "Linux version"
  log_has cl1 "[qmd] VM cl1 started" || fail "no start banner: $(console_log cl1 | head -3)"
  wait_agent cl1
  # The log is root's, in qmd's memory: no file in the run dir (the QEMU user's) holds it.
  local holders
  holders=$(grep -rlsI --devices=skip "Linux version" "$T/run/vms/cl1" || true)
  [[ -z "$holders" ]] || fail "the console output is in a file in the run dir: $holders"
}

scenario_interactive_session_still_works() {
  local out
  out=$(guest_sh cl1 'echo TYPED-$((6*7))') || fail "the console session did not answer"
  [[ "$out" == TYPED-42 ]] || fail "the console session answered: $out"
  log_has cl1 "TYPED-42" || fail "what the session showed is not in the log"
  # Attaching shows what comes from then on, not the history (which would come before the
  # answer to a command typed after the attach).
  out=$(console_until cl1 $'\necho "=[$((40+2))"\n' '=[42') || fail "qmctl console exited $?: $out"
  grep_q -x '=\[42' <<<"$out" || fail "the console did not answer after the attach: $out"
  grep_q "Linux version" <<<"$out" && fail "an attach replayed the boot messages: $out"
  return 0
}

scenario_log_bounded_to_1MiB() {
  # 1.5 MiB of output in the guest, ending in a marker: the log keeps the last 1 MiB.
  qm exec cl1 --timeout 120 -- sh -c \
    'head -c 1572864 /dev/zero | tr "\0" "x" >/dev/ttyS0; echo END-OF-FLOOD >/dev/ttyS0' \
    >/dev/null || fail "the flood did not run in the guest"
  wait_for 60 "the flood's end in the log" log_has cl1 END-OF-FLOOD
  local bytes
  bytes=$(log_bytes cl1)
  ((bytes == 1048576)) || fail "the log holds $bytes bytes, not 1 MiB"
  log_has cl1 "Linux version" && fail "the boot messages were not pushed out by 1.5 MiB"
  return 0
}

# A kernel panic in the test guest (sysrq c) reaches QEMU through the pvpanic device qmd
# renders: GUEST_PANICKED, the VM crashed with the reason, and the panic's own lines kept in
# the console log after QEMU is gone.
scenario_panic_seen() {
  qm create -f "$(loud_spec pn1)" >/dev/null || fail "create pn1"
  qm argv pn1 | grep_q -x -- "pvpanic,id=pvpanic0" || fail "no pvpanic in the argv"
  qm start pn1 >/dev/null || fail "start pn1"
  wait_agent pn1
  [[ "$(qm exec pn1 -- sh -c 'ls /sys/bus/platform/drivers/ | grep -c pvpanic')" != 0 ]] ||
    fail "the guest has no pvpanic driver bound"
  # The agent never answers this exec: the guest is gone before it could.
  qm exec pn1 --timeout 5 -- sh -c 'echo c >/proc/sysrq-trigger' >/dev/null 2>&1 || true
  wait_state pn1 crashed 60
  api GET '/v1/events?vm=pn1'
  grep_q '"GuestPanicked"' <<<"$BODY" || fail "no GuestPanicked event: $BODY"
  grep_q 'the guest kernel panicked' <<<"$BODY" || fail "the event says not why: $BODY"
  qm -o json show pn1 | json_get 'd["lastError"]' | grep_q "the guest panicked" ||
    fail "lastError: $(qm -o json show pn1 | json_get 'd["lastError"]')"
  log_has pn1 "Kernel panic - not syncing" || fail "the panic is not in the console log"
  qm delete pn1 >/dev/null || fail "delete pn1"
}

scenario_log_outlives_the_run() {
  qm kill cl1 >/dev/null || fail "kill cl1"
  log_has cl1 END-OF-FLOOD || fail "the log is gone with the run"
  local out
  out=$("$QMCTL_BIN" -s "$SOCK" console cl1 </dev/null 2>&1) && fail "attached to a stopped VM"
  grep_q -- "--log" <<<"$out" || fail "the 409 does not point at --log: $out"
  expect_status 404 GET /v1/vms/nope/console/log
  grep_q "no VM named nope" <<<"$BODY" || fail "404 body: $BODY"
  qm delete cl1 >/dev/null || fail "delete cl1"
}

run_scenarios console-log scenario_boot_messages_kept_without_attach \
  scenario_interactive_session_still_works scenario_log_bounded_to_1MiB \
  scenario_log_outlives_the_run scenario_panic_seen
