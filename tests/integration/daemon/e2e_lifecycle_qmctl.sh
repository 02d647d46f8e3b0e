#!/usr/bin/env bash
# The whole life of one VM through qmctl, against a real qmd, QEMU (TCG) and the test guest:
# create, start, the agent answers, pause, resume, reboot (the guest really resets and its
# agent comes back), graceful stop (the guest powers itself off through the agent), start
# again, kill, delete. The event stream, live (`events --follow`) and as history, shows every
# StateChanged in order. QEMU runs under seccomp with no_new_privs, as the QEMU user when root.
# After delete nothing of the VM is left: no process, no socket.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=life1
file=$(spec "$vm" Manual)
run_dir=$T/run/vms/$vm

# The live stream, from before the VM exists: it must see every change as it happens.
qm -o json events "$vm" --follow >"$T/follow.ndjson" 2>"$T/follow.err" &
follow_pid=$!
EXTRA_PIDS+=("$follow_pid")

log "create + start"
qm create -f "$file" >/dev/null || fail "qmctl create"
[[ "$(vm_state $vm)" == stopped ]] || fail "a new VM is not stopped"
qm start "$vm" >/dev/null || fail "qmctl start"
[[ "$(vm_state $vm)" == running ]] || fail "not running after start returned"
pid=$(vm_pid $vm)
[[ -n "$pid" ]] && alive $pid || fail "no live QEMU pid in show: '$pid'"
[[ "$(cat "$run_dir/qemu.pid")" == "$pid" ]] || fail "qemu.pid does not hold $pid"

log "QEMU $pid: seccomp, no_new_privs, user"
[[ "$(proc_status "$pid" Seccomp)" == 2 ]] || fail "QEMU Seccomp is not 2 (filter mode)"
[[ "$(proc_status "$pid" NoNewPrivs)" == 1 ]] || fail "QEMU NoNewPrivs is not 1"
if [[ $(id -u) -eq 0 ]]; then
  own=$(vm_uid "$vm")  # a uid of the VM's own (qemuUids), the gid the same number
  [[ -n "$own" && "$own" != "$(id -u nobody)" ]] || fail "the VM has no uid of its own: '$own'"
  uids=$(proc_status "$pid" Uid) gids=$(proc_status "$pid" Gid)
  [[ "$uids" == "$own"$'\t'"$own"$'\t'"$own"$'\t'"$own" && "$gids" == "$uids" ]] ||
    fail "QEMU runs with Uid '$uids', Gid '$gids', not the VM's own $own in all four"
fi

log "agent"
wait_agent "$vm" 90

log "console: a command typed over a pipe runs in the guest's serial shell"
# The arithmetic is done by the guest's shell, so the answer cannot be our own echo.
console_out=$(console_until "$vm" $'\necho CONSOLE-$((6*7))\n' CONSOLE-42) ||
  fail "qmctl console exited $?: $console_out"
grep_q "CONSOLE-42" <<<"$console_out" || fail "no CONSOLE-42 from the guest's console: $console_out"
[[ -n "$(show_field $vm 'd["agent"]["version"]')" ]] || fail "no agent version in show"

log "pause / resume"
qm pause "$vm" >/dev/null || fail "qmctl pause"
[[ "$(vm_state $vm)" == paused ]] || fail "not paused"
qm pause "$vm" >/dev/null || fail "pausing a paused VM is not a no-op"
qm resume "$vm" >/dev/null || fail "qmctl resume"
[[ "$(vm_state $vm)" == running ]] || fail "not running after resume"

log "reboot (through the agent)"
reboot_at=$(utc_now)
qm reboot "$vm" >/dev/null || fail "qmctl reboot"
reset_at=
reset_seen() {
  reset_at=$(qm -o json events "$vm" | python3 -c '
import json, sys
since = sys.argv[1]
times = [e["time"] for e in map(json.loads, filter(str.strip, sys.stdin))
         if e["type"] == "Reset" and e["time"] >= since]
print(times[-1] if times else "")' "$reboot_at")
  [[ -n "$reset_at" ]]
}
wait_for 30 "QEMU's RESET event after the agent reboot" reset_seen
# The agent answers again after the reset: a ping newer than the reset, while still running.
agent_back() {
  local seen
  seen=$(show_field "$vm" 'd["agent"].get("lastSeen", "")')
  [[ "$(vm_state $vm)" == running && -n "$seen" && "$seen" > "$reset_at" ]] && agent_up "$vm"
}
wait_for 90 "the agent after the reboot" agent_back
[[ "$(vm_pid $vm)" == "$pid" ]] || fail "a reboot changed the QEMU pid"

log "graceful stop"
t0=$(now_ms)
qm stop "$vm" --grace 60 >/dev/null || fail "qmctl stop"
[[ "$(vm_state $vm)" == stopped ]] || fail "not stopped after stop returned"
! alive $pid || fail "QEMU $pid still alive after stop"
events=$(qm -o json events "$vm")
grep -q '"type":"StopEscalated"' <<<"$events" && fail "the guest did not power off by itself: $events"
grep -q '"type":"ShutdownRequested".*guest agent' <<<"$events" || fail "stop did not ask the agent: $events"
grep -q '"type":"Shutdown".*(guest-shutdown)' <<<"$events" || fail "the guest did not power off: $events"
log "stopped in $(($(now_ms) - t0)) ms"
[[ -z "$(procs_of_vm $vm)" ]] || fail "processes left after stop: $(procs_of_vm $vm)"

log "start again, kill"
qm start "$vm" >/dev/null || fail "second start"
pid2=$(vm_pid $vm)
[[ -n "$pid2" && "$pid2" != "$pid" ]] || fail "second start has no new pid ($pid2)"
qm kill "$vm" >/dev/null || fail "qmctl kill"
[[ "$(vm_state $vm)" == stopped ]] || fail "not stopped after kill"
! alive $pid2 || fail "QEMU $pid2 alive after kill"
qm logs "$vm" | grep_q -- "--- qmd: start $vm" || fail "qmctl logs lacks the start header"
qm argv "$vm" | grep_q -- "-sandbox" || fail "qmctl argv lacks -sandbox"

log "events, in order"
want=$'starting\nrunning\npaused\nrunning\nshuttingdown\nstopped\nstarting\nrunning\nstopped'
got=$(qm -o json events "$vm" | python3 -c '
import json, sys
for e in map(json.loads, filter(str.strip, sys.stdin)):
    if e["type"] == "StateChanged": print(e["state"])')
[[ "$got" == "$want" ]] || fail "StateChanged history:"$'\n'"$got"$'\n'"expected:"$'\n'"$want"
qm events "$vm" | grep_q "StateChanged" || fail "qmctl events (table) shows no StateChanged"

log "delete"
qm delete "$vm" >/dev/null || fail "qmctl delete"
qm show "$vm" >/dev/null 2>&1 && fail "show still finds a deleted VM"
[[ -z "$(procs_of_vm $vm)" ]] || fail "processes left after delete: $(procs_of_vm $vm)"
if [[ -d "$run_dir" ]]; then
  sockets=$(find "$run_dir" -type s)
  [[ -z "$sockets" ]] || fail "sockets left after delete: $sockets"
fi
[[ ! -d "$T/state/vms/$vm" ]] || fail "state dir left after delete: $(ls -la "$T/state/vms/$vm")"

# The live stream saw the same transitions, then Deleted.
deleted_seen() { grep -q '"type":"Deleted"' "$T/follow.ndjson"; }
wait_for 10 "Deleted on the live stream" deleted_seen
live=$(python3 -c '
import json, sys
for e in map(json.loads, filter(str.strip, open(sys.argv[1]))):
    if e["type"] == "StateChanged": print(e["state"])' "$T/follow.ndjson")
[[ "$live" == "$want" ]] || fail "events --follow saw:"$'\n'"$live"
kill "$follow_pid" 2>/dev/null || true
echo "PASS lifecycle-qmctl"
