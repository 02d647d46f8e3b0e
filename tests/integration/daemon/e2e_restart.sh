#!/usr/bin/env bash
# qmd killed with SIGKILL while three VMs run, then started again: every VM is still running
# with the same QEMU (adopted by pidfile + the uuid in /proc/PID/cmdline), its agent answers
# again, and each can be paused, resumed and stopped. A fourth VM whose QEMU died meanwhile
# and whose pidfile now names an unrelated process is not adopted, and that process is left
# alone.
source "$(dirname "$0")/lib.sh"
e2e_setup

# One guest with an agent (is the agent re-opened?), two firmware-only QEMUs (cheap on TCG).
qm create -f "$(spec r1 Manual guest)" >/dev/null || fail "create r1"
for vm in r2 r3 r4; do
  qm create -f "$(spec $vm Manual firmware)" >/dev/null || fail "create $vm"
done
declare -A pids
for vm in r1 r2 r3 r4; do
  qm start "$vm" >/dev/null || fail "start $vm"
  pids[$vm]=$(vm_pid $vm)
done
wait_agent r1 90
qm pause r3 >/dev/null || fail "pause r3"  # a paused VM is adopted paused

log "SIGKILL qmd"
kill_qmd
for vm in r1 r2 r3 r4; do
  alive "${pids[$vm]}" || fail "QEMU of $vm died with qmd"
done
# r4: its QEMU dies while qmd is down, and its pid now belongs to someone else.
kill -KILL "${pids[r4]}"
sleep 600 &
stranger=$!
EXTRA_PIDS+=("$stranger")
echo "$stranger" >"$T/run/vms/r4/qemu.pid"

log "start qmd again"
start_qmd
want=(r1:running r2:running r3:paused)
for entry in "${want[@]}"; do
  vm=${entry%%:*}
  [[ "$(vm_state $vm)" == "${entry#*:}" ]] || fail "$vm is $(vm_state $vm) after restart, not ${entry#*:}"
  [[ "$(vm_pid $vm)" == "${pids[$vm]}" ]] || fail "$vm has pid $(vm_pid $vm), not ${pids[$vm]}"
done
state4=$(vm_state r4)
[[ "$state4" == stopped || "$state4" == crashed ]] || fail "r4 is $state4"
[[ -z "$(vm_pid r4)" ]] || fail "r4 adopted pid $(vm_pid r4)"
alive $stranger || fail "the unrelated process $stranger was killed"
[[ "$(tr '\0' ' ' </proc/$stranger/cmdline)" == "sleep 600 " ]] || fail "stranger changed"
qm -o json events r4 | grep_q '"type":"Adoption"' || fail "no Adoption event for r4"
wait_agent r1 30

log "adopted VMs are fully controllable"
qm resume r3 >/dev/null || fail "resume adopted r3"
[[ "$(vm_state r3)" == running ]] || fail "r3 not running after resume"
for vm in r1 r2 r3; do
  qm pause "$vm" >/dev/null || fail "pause adopted $vm"
  [[ "$(vm_state $vm)" == paused ]] || fail "$vm not paused"
  qm resume "$vm" >/dev/null || fail "resume adopted $vm"
  [[ "$(vm_state $vm)" == running ]] || fail "$vm not running"
done
# r1 powers off through its agent; the firmware-only ones ignore ACPI, so a short grace.
qm stop r1 --grace 60 >/dev/null || fail "stop adopted r1"
qm -o json events r1 | grep_q '"type":"StopEscalated"' && fail "r1's agent did not stop it"
for vm in r2 r3; do
  qm stop "$vm" --grace 1 >/dev/null || fail "stop adopted $vm"
done
for vm in r1 r2 r3; do
  [[ "$(vm_state $vm)" == stopped ]] || fail "$vm is $(vm_state $vm) after stop"
  ! alive "${pids[$vm]}" || fail "adopted QEMU of $vm alive after stop"
  [[ -z "$(find "$T/run/vms/$vm" -type s)" ]] || fail "$vm left sockets"
done
# They start again under the new qmd.
qm start r2 >/dev/null || fail "start r2 under the new qmd"
qm kill r2 >/dev/null || fail "kill r2"
alive $stranger || fail "the unrelated process $stranger was killed"
kill "$stranger"
echo "PASS restart"
