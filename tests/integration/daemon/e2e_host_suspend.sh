#!/bin/bash
# hostShutdown.action suspend, the sequence systemd runs, driven by hand: `qmctl
# shutdown-guests` saves a running guest (the test guest with a TPM) to a root-only file in its
# state dir and QEMU quits; a VM that cannot be saved (a disk hot-plugged in this run) is
# powered off instead, with the reason in the report. A saved VM's definition cannot change
# under it. The next qmd ("boot") restores the saved VM though its runStrategy is Manual: the
# guest's RAM-only file and its boot id are still there, and the file is gone. A second save
# is then discarded with `qmctl discard-saved`, and the next start boots afresh.
source "$(dirname "$0")/lib.sh"

TIMEOUT=20  # hostShutdown.timeout, s

report_of() {  # report_of VM: its entry of the last report
  json_get "[v for v in d['vms'] if v['name']=='$1'][0]" <"$T/report.json"
}

setup() {
  e2e_dir
  printf 'hostShutdown:\n  action: suspend\n  timeout: %ss\n' "$TIMEOUT" >"$T/qmd.yaml"
  QMD_ARGS=(--config "$T/qmd.yaml")
  e2e_setup
  qm create -f "$(spec g1 Manual tpm)" >/dev/null || fail "create g1"
  qm create -f "$(spec h1 Manual firmware)" >/dev/null || fail "create h1"
  qm start g1 >/dev/null || fail "start g1"
  qm start h1 >/dev/null || fail "start h1"
  wait_agent g1 180
  wait_state h1 running 30
}

scenario_suspend() {
  local mark="qmd-suspend-$RANDOM" boot pid
  guest_sh g1 "echo $mark >/dev/shm/mark" >/dev/null || fail "g1's shell"
  boot=$(guest_sh g1 "cat /proc/sys/kernel/random/boot_id") || fail "g1's boot id"
  echo "$mark $boot" >"$T/g1.facts"
  truncate -s 1M "$S/hot.img"
  qm attach-disk h1 --name hot --path "$S/hot.img" >/dev/null || fail "attach a disk to h1"
  pid=$(vm_pid g1)

  qm -o json shutdown-guests >"$T/report.json" || fail "shutdown-guests: $(cat "$T/report.json")"
  log "report: $(cat "$T/report.json")"
  [[ "$(json_get 'd["action"]' <"$T/report.json")" == suspend ]] || fail "not a suspend"
  [[ "$(report_of g1 | json_get 'd["outcome"]')" == suspended ]] || fail "g1: $(report_of g1)"
  report_of g1 | json_get 'd["detail"]' | grep_q "/vms/g1/saved-state" ||
    fail "g1's detail does not say where: $(report_of g1)"
  [[ "$(report_of h1 | json_get 'd["outcome"]')" == killed ]] || fail "h1: $(report_of h1)"
  report_of h1 | json_get 'd["detail"]' | grep_q "devices changed by hotplug" ||
    fail "h1's detail does not say why it was not saved: $(report_of h1)"
  wait_for 10 "g1's QEMU to end" eval '! alive "$pid"'
  [[ -z "$(procs_of_tmp)" ]] || fail "left running: $(procs_of_tmp)"
  local saved="$T/state/vms/g1/saved-state"
  [[ "$(stat -c '%U %a' "$saved")" == "root 600" ]] || fail "$saved: $(stat -c '%U %a' "$saved")"
  [[ "$(show_field g1 'd["savedState"]["path"]')" == "$saved" ]] || fail "show lacks savedState"
  [[ ! -e "$T/state/vms/h1/saved-state" ]] || fail "h1 has a saved state"
}

# The definition a saved state belongs to cannot change: the restore renders from it.
scenario_definition_kept() {
  api PUT /v1/vms/g1 -H 'Content-Type: application/yaml' --data-binary "@$T/g1.yaml"
  [[ "$STATUS" == 409 ]] || fail "update of a saved VM: HTTP $STATUS: $BODY"
  grep_q "qmctl discard-saved g1" <<<"$BODY" || fail "the 409 does not say what to do: $BODY"
}

# The next boot: g1 (Manual) comes back as it was; h1 (Manual, powered off) stays stopped.
scenario_boot_restores() {
  stop_qmd
  start_qmd
  wait_state g1 running 120
  local mark boot
  read -r mark boot <"$T/g1.facts"
  guest_wait 60 "g1's RAM-only file after the restore" g1 "cat /dev/shm/mark" "$mark"
  [[ "$(guest_sh g1 "cat /proc/sys/kernel/random/boot_id")" == "$boot" ]] ||
    fail "g1 booted afresh instead of being restored"
  [[ ! -e "$T/state/vms/g1/saved-state" ]] || fail "the saved state was not removed"
  [[ "$(show_field g1 '"savedState" in d')" == false ]] || fail "show still has savedState"
  curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=g1" |
    grep_q '"type":"Restored"' || fail "no Restored event"
  [[ "$(vm_state h1)" == stopped ]] || fail "h1 is $(vm_state h1)"
  wait_agent g1 60
}

# Saved again, then discarded: the next start boots afresh; a second discard is a 404.
scenario_discard() {
  qm -o json shutdown-guests >"$T/report.json" || fail "shutdown-guests: $(cat "$T/report.json")"
  [[ "$(report_of g1 | json_get 'd["outcome"]')" == suspended ]] || fail "g1: $(report_of g1)"
  qm discard-saved g1 >/dev/null || fail "discard-saved g1"
  [[ ! -e "$T/state/vms/g1/saved-state" ]] || fail "the saved state is still there"
  expect_status 404 POST /v1/vms/g1/discard-saved
  qm start g1 >/dev/null || fail "start g1"
  wait_agent g1 180
  local mark boot
  read -r mark boot <"$T/g1.facts"
  [[ "$(guest_sh g1 "cat /proc/sys/kernel/random/boot_id")" != "$boot" ]] ||
    fail "g1 did not boot afresh"
  curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=g1" |
    grep_q '"type":"SavedStateDiscarded"' || fail "no SavedStateDiscarded event"
}

setup
# Each scenario needs the one before: after a failure the later ones fail too.
run_scenarios host-suspend scenario_suspend scenario_definition_kept scenario_boot_restores \
  scenario_discard
