#!/usr/bin/env bash
# A uid per VM (qemuUids) against a QEMU its guest has taken over. Two VMs with persistent
# VARS and TPM state run, each QEMU and swtpm as a uid of its own; a process running as VM A's
# uid (what a compromised QEMU of A is) cannot connect to B's QMP, agent or console socket,
# list B's run dir, or read B's VARS or TPM state, while it can reach A's own; B runs on,
# its files unchanged. A uid a process still runs with is not handed out: with the range
# full but for a uid a stray process holds, a third VM's start is refused (409) and starts
# once that process is gone; a VM whose own uid a stray process holds is not started beside
# it. A second qmd whose qemuUids overlap the first's does not start. The uid survives a
# restart of qmd (the VM is adopted) and a stop. Needs root.
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (a uid per VM is for a root qmd)"
  exit 0
fi
e2e_dir
# A small private range, away from the start of the default one that other tests' qmds use.
FIRST=$((1879048192 + 40000 + ($$ % 5000) * 4))
printf 'qemuUids: {first: %s, count: 3}\n' "$FIRST" >"$T/qmd.yaml"
QMD_ARGS=(--config "$T/qmd.yaml")
QMD_UIDS=  # qemuUids from the file
e2e_setup

vm_spec() {  # vm_spec NAME: EFI with persistent VARS, a persistent TPM
  cat >"$T/$1.yaml" <<EOS
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $1
spec:
  runStrategy: Manual
  template:
    spec:
      terminationGracePeriodSeconds: 5
      domain:
        cpu: {cores: 1}
        memory: {guest: 128Mi}
        firmware:
          bootloader:
            efi: {secureBoot: false, persistent: true}
          kernelBoot:
            kernelPath: $S/guest/vmlinuz
            initrdPath: $S/guest/initramfs.img
            kernelArgs: "console=ttyS0 panic=-1 quiet mitigations=off"
        devices:
          autoattachGraphicsDevice: false
          interfaces: []
          tpm: {persistent: true}
      networks: []
EOS
  qm create -f "$T/$1.yaml" >/dev/null || fail "create $1"
}

uids_of() { proc_status "$1" Uid | tr -s '\t' ' '; }
gids_of() { proc_status "$1" Gid | tr -s '\t' ' '; }
runs_as() {  # runs_as PID UID: all four uids and gids are UID
  [[ "$(uids_of "$1")" == "$2 $2 $2 $2" && "$(gids_of "$1")" == "$2 $2 $2 $2" ]] ||
    fail "pid $1 runs as uids $(uids_of "$1"), gids $(gids_of "$1"); want $2"
}
# connect_as NAME SOCKET: connects to SOCKET as VM NAME's uid; prints ok or the errno name.
connect_as() {
  as_vm_uid "$1" /usr/bin/python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' "$2"
}
# A process running as UID until killed (a stray the test owns).
stray() {
  setpriv --reuid "$1" --regid "$1" --clear-groups sleep 600 &
  STRAY=$!
  EXTRA_PIDS+=("$STRAY")
  wait_for 10 "the stray process to run as $1" runs_sleep_as "$STRAY" "$1"
}
runs_sleep_as() {  # setpriv has changed uid and become sleep
  [[ "$(proc_status "$1" Uid 2>/dev/null | cut -f1)" == "$2" && "$(cat "/proc/$1/comm")" == sleep ]]
}
end_stray() {
  kill "$STRAY"
  wait "$STRAY" 2>/dev/null || true
}
# What an attempt to write b's files would change (the guest itself may rewrite their bytes).
state_of() { stat -c '%n %u:%g %a %s' "$T/state/vms/$1/OVMF_VARS.fd" "$T/state/vms/$1/tpm"; }

scenario_two_vms() {
  log "two VMs, each QEMU and swtpm with a uid of its own from qemuUids"
  vm_spec a
  vm_spec b
  qm start a >/dev/null || fail "start a: $(qm show a 2>&1 | tail -n 3)"
  qm start b >/dev/null || fail "start b: $(qm show b 2>&1 | tail -n 3)"
  wait_state a running 60
  wait_state b running 60
  UA=$(vm_uid a) UB=$(vm_uid b)
  [[ -n "$UA" && -n "$UB" && "$UA" != "$UB" ]] || fail "a and b share uid $UA/$UB"
  ((UA >= FIRST && UA < FIRST + 3 && UB >= FIRST && UB < FIRST + 3)) ||
    fail "uids $UA, $UB are outside qemuUids $FIRST+3"
  runs_as "$(vm_pid a)" "$UA"
  runs_as "$(vm_pid b)" "$UB"
  # The API and qmctl show name the uid the record keeps.
  api GET /v1/vms/a
  [[ "$STATUS" == 200 && "$(json_get 'd["qemuUid"]' <<<"$BODY")" == "$UA" ]] ||
    fail "GET /v1/vms/a: $STATUS, qemuUid not $UA: $BODY"
  qm show b | grep -qx "qemuUid: $UB" || fail "qmctl show b has no line 'qemuUid: $UB'"
  runs_as "$(cat "$T/run/vms/a/swtpm.pid")" "$UA"
  runs_as "$(cat "$T/run/vms/b/swtpm.pid")" "$UB"
  local dir
  for dir in "$T/run/vms/b" "$T/state/vms/b/OVMF_VARS.fd" "$T/state/vms/b/tpm"; do
    [[ "$(stat -c %u:%g "$dir")" == "$UB:$UB" ]] || fail "$dir is $(stat -c %u:%g "$dir"), not b's"
  done
  log "PASS two_vms"
}

scenario_a_cannot_reach_b() {
  log "as a's uid: b's QMP, agent and console sockets, run dir, VARS and TPM state are shut"
  local before sock got
  before=$(state_of b)
  # The control: a's uid reaches a's own agent socket (QEMU's; it accepts and waits for its
  # turn). QMP's socket is qmd's own, shut even to a's uid.
  got=$(connect_as a "$T/run/vms/a/qga.sock")
  [[ "$got" == ok ]] || fail "a's uid cannot reach a's own agent socket ($got): the test proves nothing"
  got=$(connect_as a "$T/run/vms/a/qmp.sock")
  [[ "$got" == EACCES ]] || fail "a's uid connecting to its own QMP socket (qmd's): $got, not EACCES"
  for sock in qmp.sock qga.sock console.sock swtpm.sock; do
    [[ -S "$T/run/vms/b/$sock" ]] || continue
    got=$(connect_as a "$T/run/vms/b/$sock")
    [[ "$got" == EACCES ]] || fail "a's uid connecting to b's $sock: $got, not EACCES"
  done
  as_vm_uid a ls "$T/run/vms/b" >/dev/null 2>&1 && fail "a's uid lists b's run dir"
  as_vm_uid a cat "$T/state/vms/b/OVMF_VARS.fd" >/dev/null 2>&1 && fail "a's uid reads b's VARS"
  as_vm_uid a ls "$T/state/vms/b/tpm" >/dev/null 2>&1 && fail "a's uid lists b's TPM state"
  as_vm_uid a sh -c "echo x >>'$T/state/vms/b/OVMF_VARS.fd'" 2>/dev/null && fail "a's uid writes b's VARS"
  as_vm_uid a kill -0 "$(vm_pid b)" 2>/dev/null && fail "a's uid may signal b's QEMU"
  # a's uid does reach its own files: the refusals above are b's uid's doing, not setpriv's.
  as_vm_uid a cat "$T/state/vms/a/OVMF_VARS.fd" >/dev/null || fail "a's uid cannot read its own VARS"
  [[ "$(state_of b)" == "$before" ]] || fail "b's VARS or TPM state changed: $(state_of b)"
  state_is b running || fail "b is $(vm_state b) after the attempts"
  log "PASS a_cannot_reach_b"
}

scenario_uid_in_use_not_handed_out() {
  log "the range's last uid held by a stray process: c's start is refused, then goes"
  local last=-1 u
  for u in "$FIRST" $((FIRST + 1)) $((FIRST + 2)); do
    [[ "$u" == "$UA" || "$u" == "$UB" ]] || last=$u
  done
  stray "$last"
  vm_spec c
  expect_status 409 POST /v1/vms/c/start
  grep_q "every uid of qemuUids ($FIRST–$((FIRST + 2))) is held by a VM or used by a process" <<<"$BODY" ||
    fail "c's refusal does not say why: $BODY"
  [[ -z "$(vm_uid c)" ]] || fail "c got uid $(vm_uid c) while a process runs with it"
  [[ "$(vm_state c)" == stopped ]] || fail "c is $(vm_state c)"
  end_stray
  qm start c >/dev/null || fail "start c once the stray is gone: $(qm show c 2>&1 | tail -n 3)"
  wait_state c running 60
  [[ "$(vm_uid c)" == "$last" ]] || fail "c has uid $(vm_uid c), not $last"
  runs_as "$(vm_pid c)" "$last"
  log "PASS uid_in_use_not_handed_out"
}

scenario_own_uid_with_a_stray() {
  log "a process left running with c's own uid: c is not started beside it"
  local uc
  uc=$(vm_uid c)
  qm kill c >/dev/null || fail "kill c"
  wait_state c stopped 30
  stray "$uc"
  expect_status 409 POST /v1/vms/c/start
  grep_q "pid $STRAY (sleep) still runs with uid $uc, this VM's QEMU uid" <<<"$BODY" ||
    fail "c's refusal does not name the process: $BODY"
  [[ "$(vm_state c)" == stopped ]] || fail "c is $(vm_state c)"
  end_stray
  qm start c >/dev/null || fail "start c once the stray is gone"
  wait_state c running 60
  [[ "$(vm_uid c)" == "$uc" ]] || fail "c changed uid across a stop: $(vm_uid c), was $uc"
  log "PASS own_uid_with_a_stray"
}

scenario_restart_keeps_uids() {
  log "a restart of qmd: the VMs are adopted with their uids; a stop and start keeps them"
  kill_qmd
  start_qmd
  wait_state a running 30
  wait_state b running 30
  [[ "$(vm_uid a)" == "$UA" && "$(vm_uid b)" == "$UB" ]] || fail "uids changed across the restart"
  qm kill b >/dev/null || fail "kill b"
  wait_state b stopped 30
  qm start b >/dev/null || fail "start b again"
  wait_state b running 60
  [[ "$(vm_uid b)" == "$UB" ]] || fail "b's uid changed across a stop: $(vm_uid b)"
  runs_as "$(vm_pid b)" "$UB"
  log "PASS restart_keeps_uids"
}

scenario_second_qmd_same_range() {
  log "a second qmd on this host with an overlapping qemuUids is refused; fuser finds the first"
  local other=$T/other out status
  mkdir -p "$other/state" "$other/run"
  set +e
  out=$(timeout 30 "$QMD_BIN" --state-dir "$other/state" --run-dir "$other/run" --storage-root "$S" \
    --emulation --qemu-user "$QEMU_USER" --qemu-uids "$((FIRST + 2)):3" --masquerade user 2>&1)
  status=$?
  set -e
  ((status != 0 && status != 124)) || fail "the second qmd did not refuse (exit $status): $out"
  grep_q "overlap" <<<"$out" || fail "the refusal does not say why: $out"
  grep_q "fuser -v /run/qmd-uids.lock" <<<"$out" || fail "the refusal does not say how to find the other qmd: $out"
  if command -v fuser >/dev/null; then  # psmisc
    fuser /run/qmd-uids.lock 2>/dev/null | grep_q -w "$QMD_PID" || fail "fuser does not name qmd $QMD_PID"
  fi
  [[ ! -e "$other/run/qmd.sock" ]] || fail "the refused qmd made its API socket"
  log "control: a range of its own starts"
  "$QMD_BIN" --state-dir "$other/state" --run-dir "$other/run" --storage-root "$S" --emulation \
    --qemu-user "$QEMU_USER" --qemu-uids "$((FIRST + 3)):3" --masquerade user \
    >>"$other/qmd.log" 2>&1 &
  local pid=$!
  echo "$pid" >>"$T/qmd.pids"
  wait_for 30 "the second qmd's API" test -S "$other/run/qmd.sock" ||
    fail "the second qmd with its own range did not start: $(tail -5 "$other/qmd.log")"
  kill "$pid"
  wait "$pid" || true
  log "PASS second_qmd_same_range"
}

scenario_two_vms
scenario_a_cannot_reach_b
scenario_second_qmd_same_range
scenario_uid_in_use_not_handed_out
scenario_own_uid_with_a_stray
scenario_restart_keeps_uids
log "PASS"
