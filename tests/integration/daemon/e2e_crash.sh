#!/usr/bin/env bash
# A QEMU killed behind qmd's back (SIGKILL): the VM is crashed, its swtpm
# sidecar is gone with it, and runStrategy decides what follows — RerunOnFailure starts it
# again (a new QEMU, running), Manual leaves it crashed.
source "$(dirname "$0")/lib.sh"
e2e_setup

# kill_and_see_crash NAME PID: kills QEMU and waits for the crashed state in the VM's events
# (a RerunOnFailure VM may be running again before a poll of its state would see it). How long
# detection took is printed, not asserted: tests never judge wall-clock speed.
crashes_seen() { state_changes "$1" | grep -c '^crashed$' || true; }
kill_and_see_crash() {
  local name=$1 pid=$2 t0 before
  before=$(crashes_seen "$name")
  t0=$(now_ms)
  kill -KILL "$pid"
  crashed_again() { (($(crashes_seen "$name") > before)); }
  wait_for 30 "$name to be crashed after SIGKILL of QEMU $pid" crashed_again
  log "$name crashed, seen after $(($(now_ms) - t0)) ms"
}

log "RerunOnFailure with a TPM"
vm=rerun1
qm create -f "$(spec $vm RerunOnFailure tpm)" >/dev/null || fail "create $vm"
qm start "$vm" >/dev/null || fail "start $vm"
pid=$(vm_pid $vm)
swtpm_pid=$(cat "$T/run/vms/$vm/swtpm.pid")
alive $swtpm_pid || fail "no swtpm $swtpm_pid"
grep -q swtpm "/proc/$swtpm_pid/cmdline" || fail "swtpm.pid names a non-swtpm process"
kill_and_see_crash "$vm" "$pid"
swtpm_gone() { ! alive $swtpm_pid; }
wait_for 5 "swtpm $swtpm_pid to be gone" swtpm_gone
qm -o json events "$vm" | grep_q '"state":"crashed","message":"QEMU killed by signal 9' ||
  fail "the crash event does not say how QEMU died"

restarted() {
  local p
  p=$(vm_pid "$vm" 2>/dev/null)
  [[ "$(vm_state $vm)" == running && -n "$p" && "$p" != "$pid" ]]
}
wait_for 30 "$vm to be restarted by RerunOnFailure" restarted
pid2=$(vm_pid $vm)
alive $pid2 || fail "restarted QEMU $pid2 not alive"
swtpm2=$(cat "$T/run/vms/$vm/swtpm.pid")
[[ "$swtpm2" != "$swtpm_pid" ]] && alive $swtpm2 || fail "no new swtpm after the restart"
qm -o json events "$vm" | grep_q '"type":"Restarting"' || fail "no Restarting event"
# The restarted guest still boots to a working agent.
wait_agent "$vm" 90
got=$(state_changes "$vm" | tr '\n' ' ')
[[ "$got" == "starting running crashed starting running " ]] || fail "StateChanged: $got"
# A stop on request is not a failure: no restart afterwards.
qm kill "$vm" >/dev/null || fail "kill $vm"
sleep 2.5  # longer than the first backoff step (1 s) plus a start
[[ "$(vm_state $vm)" == stopped ]] || fail "$vm restarted after a requested kill"

log "Manual stays crashed"
vm=manual1
qm create -f "$(spec $vm Manual firmware)" >/dev/null || fail "create $vm"
qm start "$vm" >/dev/null || fail "start $vm"
pid=$(vm_pid $vm)
kill_and_see_crash "$vm" "$pid"
sleep 2.5  # RerunOnFailure would have restarted it by now (backoff 1 s)
[[ "$(vm_state $vm)" == crashed ]] || fail "$vm left crashed: $(vm_state $vm)"
[[ -z "$(vm_pid $vm)" ]] || fail "$vm has a pid while crashed"
[[ -z "$(procs_of_vm $vm)" ]] || fail "processes of a crashed VM: $(procs_of_vm $vm)"
[[ -z "$(find "$T/run/vms/$vm" -type s)" ]] || fail "sockets left by the crash"
# And it starts again by hand.
qm start "$vm" >/dev/null || fail "start after crash"
qm kill "$vm" >/dev/null || fail "kill $vm"
echo "PASS crash"
