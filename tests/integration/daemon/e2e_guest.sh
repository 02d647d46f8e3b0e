#!/usr/bin/env bash
# The guest agent through qmd and qmctl, against a real qmd, QEMU (TCG) and the test guest:
# `qmctl guest` shows what qemu-ga in the guest really reports; exec hands on the guest's
# output and exit code; set-password changes /etc/shadow and the password shows up in neither
# qmd's log nor the events; freeze/thaw and the automatic thaw; a resume puts a wrong guest clock
# right; a hung (SIGSTOPped) agent is a timeout error while the VM stays controllable.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=guest1
# The test guest plus its data disk, mounted at /mnt (qmd.mount): a file system to freeze.
install -m 0666 "$QMD_GUEST_DIR/disk.img" "$S/guest/disk.img"
file=$(spec "$vm" Manual)
sed -i -e 's|mitigations=off"|mitigations=off qmd.mount=/dev/vda"|' \
  -e 's|^\( *\)autoattachGraphicsDevice: false|&\n\1disks: [{name: data, disk: {bus: virtio}}]|' \
  "$file"
echo "      volumes: [{name: data, hostDisk: {path: $S/guest/disk.img, type: Disk}}]" >>"$file"

# event_since TYPE SINCE [TEXT]: an event of TYPE at or after SINCE (utc_now) whose message
# holds TEXT.
event_since() {
  qm -o json events "$vm" | python3 -c '
import json, sys
kind, since, text = sys.argv[1], sys.argv[2], sys.argv[3]
hits = [e for e in map(json.loads, filter(str.strip, sys.stdin))
        if e["type"] == kind and e["time"] >= since and text in e["message"]]
sys.exit(0 if hits else 1)' "$1" "$2" "${3:-}"
}
guest_field() { qm -o json guest "$vm" | json_get "$1"; }

log "create + start, wait for the agent"
qm create -f "$file" >/dev/null || fail "qmctl create"
qm start "$vm" >/dev/null || fail "qmctl start"
wait_agent "$vm" 90

log "qmctl guest: real values from the test guest"
info=$(qm -o json guest "$vm") || fail "qmctl guest -o json: $info"
get() { json_get "$1" <<<"$info"; }
[[ "$(get 'd["os"]["kernelRelease"]')" == *-cloud-amd64 ]] ||
  fail "os.kernelRelease is not the Debian cloud kernel: $(get 'd["os"]')"
[[ "$(get 'd["os"]["machine"]')" == x86_64 ]] || fail "os.machine: $(get 'd["os"]')"
[[ "$(get 'd["hostname"]')" == qmd-guest ]] || fail "hostname: $(get 'd["hostname"]')"
[[ "$(get 'd["timezone"]["zone"]')" == UTC && "$(get 'd["timezone"]["offsetSeconds"]')" == 0 ]] ||
  fail "timezone: $(get 'd["timezone"]')"
[[ "$(get 'd["users"]')" == "[]" ]] || fail "users (the console writes no utmp): $(get 'd["users"]')"
[[ "$(get '[(f["mountpoint"], f["type"]) for f in d["filesystems"]]')" == '[["/mnt", "ext4"]]' ]] ||
  fail "filesystems (the data disk at /mnt): $(get 'd["filesystems"]')"
[[ "$(get '[a["address"] for i in d["interfaces"] if i["name"] == "lo" for a in i["ipAddresses"] if a["type"] == "ipv4"]')" == '["127.0.0.1"]' ]] ||
  fail "lo has no 127.0.0.1: $(get 'd["interfaces"]')"
[[ "$(get 'd["fsfreeze"]')" == thawed ]] || fail "fsfreeze: $(get 'd["fsfreeze"]')"
agent_version=$(get 'd["agent"]["version"]')
[[ -n "$agent_version" && "$agent_version" == "$(show_field "$vm" 'd["agent"]["version"]')" ]] ||
  fail "agent.version '$agent_version' is not show's"
[[ "$(get '"guest-exec" in d["agent"]["supportedCommands"]')" == true ]] ||
  fail "guest-exec not among the supported commands"
human=$(qm guest "$vm") || fail "qmctl guest: $human"
grep_q '^hostname: qmd-guest$' <<<"$human" || fail "qmctl guest (text) lacks the hostname: $human"
grep_q '^interface lo: .*127\.0\.0\.1/8' <<<"$human" || fail "qmctl guest (text) lacks lo: $human"
grep_q '^os: .*cloud-amd64' <<<"$human" || fail "qmctl guest (text) lacks the kernel: $human"
qm show "$vm" | grep_q "^agent: connected, version $agent_version" || fail "qmctl show lacks the agent"

log "exec: output and exit code"
set +e
out=$(qm exec "$vm" -- /bin/sh -c 'echo out; echo err >&2; exit 3' 2>"$T/exec.err")
rc=$?
set -e
[[ $rc == 3 ]] || fail "qmctl exec exited $rc, not the guest's 3 (stderr: $(cat "$T/exec.err"))"
[[ "$out" == out && "$(cat "$T/exec.err")" == err ]] ||
  fail "exec output: stdout '$out', stderr '$(cat "$T/exec.err")'"
[[ "$(qm exec "$vm" -- /bin/cat /proc/sys/kernel/hostname)" == qmd-guest ]] || fail "exec cat"
# Output that is not UTF-8 arrives byte for byte.
[[ "$(qm exec "$vm" -- /bin/sh -c 'printf "\377ok"' | od -An -tx1 | tr -d ' \n')" == ff6f6b ]] ||
  fail "exec of non-UTF-8 output: $(qm exec "$vm" -- /bin/sh -c 'printf "\377ok"' | od -An -tx1)"
set +e
missing=$(qm exec "$vm" -- /no/such/program 2>&1)
rc=$?
set -e
[[ $rc != 0 ]] || fail "exec of a missing program succeeded: $missing"
expect_status 400 POST "/v1/vms/$vm/guest/exec" -d '{"path":"/bin/true","bogus":1}'
expect_status 404 POST "/v1/vms/nosuchvm/guest/exec" -d '{"path":"/bin/true"}'

log "guest-ping"
[[ "$(qm guest-ping "$vm")" == "$vm: the guest agent answers" ]] || fail "qmctl guest-ping"

log "set-password: /etc/shadow changes, the password is nowhere in qmd's log or events"
pw='qmd-Secret-4711-xyzzy'
since=$(utc_now)
printf '%s\n' "$pw" | qm set-password "$vm" root >/dev/null || fail "qmctl set-password"
hash=$(qm exec "$vm" -- /bin/grep '^root:' /etc/shadow | cut -d: -f2)
[[ "$hash" == '$6$'* ]] || fail "root's shadow entry is not a sha512 hash: '$hash'"
if python3 -c 'import crypt' 2>/dev/null; then
  salt=$(cut -d'$' -f3 <<<"$hash")
  [[ "$(python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], "$6$" + sys.argv[2]))' "$pw" "$salt")" == "$hash" ]] ||
    fail "root's hash is not of the password given"
fi
crypted='$6$qmdtest$storedasgiven'
printf '%s\n' "$crypted" | qm set-password "$vm" root --crypted >/dev/null ||
  fail "qmctl set-password --crypted"
[[ "$(qm exec "$vm" -- /bin/grep '^root:' /etc/shadow | cut -d: -f2)" == "$crypted" ]] ||
  fail "a crypted password is not stored as given"
set +e
err=$(printf '%s\n' "$pw" | qm set-password "$vm" nosuchuser 2>&1)
rc=$?
set -e
[[ $rc == 1 ]] || fail "set-password for an unknown user exited $rc: $err"
grep_q -F "$pw" <<<"$err" && fail "the password appears in qmctl's error: $err"
event_since GuestPasswordSet "$since" "root" || fail "no GuestPasswordSet event"
grep_q -F "$pw" "$T/qmd.log" && fail "the password appears in qmd's log"
qm -o json events "$vm" | grep_q -F "$pw" && fail "the password appears in the events"
grep_q -F "$crypted" "$T/qmd.log" && fail "the crypted password appears in qmd's log"

log "freeze / thaw: the data disk's file system"
frozen=$(qm -o json freeze "$vm" --timeout 60) || fail "qmctl freeze: $frozen"
[[ "$(json_get 'd["frozen"]' <<<"$frozen")" == 1 ]] || fail "freeze: $frozen"
[[ "$(guest_field 'd["fsfreeze"]')" == frozen ]] || fail "not frozen after freeze"
# Frozen, qemu-ga disables most commands: per-field errors, not a failed request.
[[ -n "$(guest_field 'd["hostname"]["error"]')" ]] || fail "hostname while frozen has no error"
[[ "$(qm thaw "$vm")" == "$vm: 1 file system(s) thawed" ]] || fail "qmctl thaw"
[[ "$(guest_field 'd["fsfreeze"]')" == thawed ]] || fail "not thawed after thaw"

log "automatic thaw after 2 s"
since=$(utc_now)
qm freeze "$vm" --timeout 2 >/dev/null || fail "qmctl freeze --timeout 2"
[[ "$(guest_field 'd["fsfreeze"]')" == frozen ]] || fail "not frozen"
auto_thawed() { event_since GuestThawed "$since" "automatically"; }
wait_for 20 "the automatic thaw" auto_thawed
[[ "$(guest_field 'd["fsfreeze"]')" == thawed ]] || fail "not thawed after the automatic thaw"
expect_status 400 POST "/v1/vms/$vm/guest/freeze" -d '{"timeoutSeconds":601}'

log "resume resyncs a wrong guest clock"
qm exec "$vm" -- /bin/date -s '2001-01-01 00:00:00' >/dev/null || fail "exec date -s"
skew() { echo $(($(date +%s) - $(qm exec "$vm" -- /bin/date +%s))); }
(($(skew) > 100000000)) || fail "the guest clock did not move back: skew $(skew) s"
since=$(utc_now)
qm pause "$vm" >/dev/null || fail "pause"
qm resume "$vm" >/dev/null || fail "resume"
synced() { event_since GuestTimeSynced "$since"; }
wait_for 30 "GuestTimeSynced after resume" synced
s=$(skew)
((s > -5 && s < 5)) || fail "guest clock off by $s s after resume"
qm sync-time "$vm" | grep_q "guest clock synced" || fail "qmctl sync-time"

log "a hung agent: a timeout error, the VM stays controllable"
qm exec "$vm" -- /bin/sh -c '(sleep 1; kill -STOP $(pidof qemu-ga)) </dev/null >/dev/null 2>&1 &' ||
  fail "exec of the delayed kill -STOP"
hung() { ! qm guest-ping "$vm" >/dev/null 2>&1; }
wait_for 20 "the agent to stop answering" hung
t0=$(now_ms)
set +e
err=$(qm guest "$vm" 2>&1)
rc=$?
set -e
took=$(($(now_ms) - t0))
[[ $rc == 1 ]] || fail "qmctl guest on a hung agent exited $rc: $err"
grep_q "did not answer" <<<"$err" || fail "not a timeout error: $err"
((took < 15000)) || fail "qmctl guest took $took ms on a hung agent"
log "hung agent: '$err' after $took ms"
expect_status 504 GET "/v1/vms/$vm/guest"
qm pause "$vm" >/dev/null || fail "pause with a hung agent"
[[ "$(vm_state $vm)" == paused ]] || fail "not paused"
qm resume "$vm" >/dev/null || fail "resume with a hung agent"
[[ "$(vm_state $vm)" == running ]] || fail "not running"
qm show "$vm" >/dev/null || fail "show with a hung agent"
qm kill "$vm" >/dev/null || fail "kill with a hung agent"
[[ "$(vm_state $vm)" == stopped ]] || fail "not stopped after kill"
err=$(qm guest "$vm" 2>&1) && fail "qmctl guest on a stopped VM succeeded"
grep_q "needs a running VM" <<<"$err" || fail "stopped VM: $err"
echo "PASS guest"
