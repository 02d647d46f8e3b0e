#!/usr/bin/env bash
# A hostile guest agent against a root-run qmd, from inside the real test guest: through
# guest-exec the guest stops qemu-ga and runs a shell script that speaks the agent protocol on
# /dev/virtio-ports/org.qemu.guest_agent.0 (it answers qmd's guest-sync-delimited with the
# right id, so qmd talks to it as to qemu-ga). It sends, in turn:
#   1. a guest-info version of 900 KB (under the 1 MiB cap) holding ESC, a newline and a bidi
#      override: the AgentConnected event carries 64 printable characters;
#   2. a guest-info version of 8 MiB: over the cap, the channel is closed, one warning names
#      the VM and the limit (AgentMisbehaved event);
#   3. a 70 MiB message right after its sync sentinel: closed again, no second warning.
# Then: qmd's peak RSS stayed bounded, GET /v1/vms/NAME answers, and kill works.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=hostile1
file=$(spec "$vm" Manual)

# events_of TYPE: the messages of the VM's TYPE events, one per line (JSON-encoded).
events_of() {
  qm -o json events "$vm" | python3 -c '
import json, sys
for e in map(json.loads, filter(str.strip, sys.stdin)):
    if e["type"] == sys.argv[1]:
        print(json.dumps(e["message"]))' "$1"
}
has_event() { [[ -n "$(events_of "$1" | grep -F -- "${2:-}" || true)" ]]; }
qmd_kib() { proc_status "$QMD_PID" "$1" | tr -dc 0-9; }

# The hostile agent (busybox sh in the guest). The id of each sync comes from qmd's request.
read -r -d '' hostile <<'SCRIPT' || true
port=/dev/virtio-ports/org.qemu.guest_agent.0
sleep 2  # let qemu-ga deliver the guest-exec-status of the exec that started this
kill $(pidof qemu-ga)
while pidof qemu-ga >/dev/null; do sleep 0.1; done
exec 3<>"$port"
v() { head -c "$1" /dev/zero | tr '\0' v; }
infos=0
pings=0
while IFS= read -r line <&3; do
  case "$line" in
    *guest-sync-delimited*)
      id=$(echo "$line" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p')
      if [ "$infos" -ge 2 ]; then
        printf '\377{"return": "' >&3; v 73400320 >&3  # 70 MiB, never ends
        continue
      fi
      printf '\377{"return": %s}\n' "$id" >&3 ;;
    *guest-ping*)
      pings=$((pings + 1))
      # Silent at first, and once after the first guest-info: qmd marks the agent gone and
      # asks for guest-info when it answers again (a seamless takeover would go unnoticed).
      [ "$pings" -eq 1 ] && continue
      [ "$infos" -eq 1 ] && [ "$pings" -eq 3 ] && continue
      printf '{"return": {}}\n' >&3 ;;
    *guest-info*)
      infos=$((infos + 1))
      if [ "$infos" -eq 1 ]; then
        printf '{"return": {"version": "evil\\u001b[31m\\nfake log line\\u202e' >&3
        v 921600 >&3
      else
        printf '{"return": {"version": "' >&3
        v 8388608 >&3
      fi
      printf '", "supported_commands": []}}\n' >&3 ;;
    *)
      printf '{"error": {"class": "CommandNotFound", "desc": "hostile"}}\n' >&3 ;;
  esac
done
SCRIPT

log "create + start, wait for qemu-ga"
qm create -f "$file" >/dev/null || fail "qmctl create"
qm start "$vm" >/dev/null || fail "qmctl start"
wait_agent "$vm" 120
base_rss=$(qmd_kib VmRSS)
log "qmd RSS with the VM up: ${base_rss} KiB"

log "the guest replaces qemu-ga with the hostile agent"
b64=$(base64 -w0 <<<"$hostile")
qm exec "$vm" -- /bin/sh -c "echo $b64 | base64 -d >/tmp/hostile.sh" >/dev/null ||
  fail "writing the hostile script into the guest"
qm exec "$vm" -- /bin/sh -c \
  'touch /run/qga.disabled; setsid sh /tmp/hostile.sh </dev/null >/tmp/hostile.log 2>&1 & exit 0' \
  >/dev/null || fail "starting the hostile script in the guest"

log "1. a 900 KB version with control characters: 64 printable characters in the event"
want='"guest agent evil?[31m?fake log line?'$(printf 'v%.0s' $(seq 39))'\u2026 answers"'
wait_for 120 "AgentConnected with the sanitised version" has_event AgentConnected "$want"
version=$(show_field "$vm" 'd["agent"]["version"]')
[[ "$(python3 -c 'import sys; print(len(sys.argv[1]))' "$version")" == 64 ]] ||
  fail "qmctl show agent.version is not 64 characters: $version"

log "2. an 8 MiB version: over the 1 MiB cap, the channel closed, one warning"
wait_for 120 "AgentMisbehaved" has_event AgentMisbehaved "over the 1048576 byte limit"
log "3. a 70 MiB message after the sync sentinel: closed again, logged at debug level only"
wait_for 120 "the second over-size message (debug log)" \
  grep_q "over-size message 2 of this run" "$T/qmd.log"
warnings=$(grep -c "\[warning\].*VM $vm: agent on .* sent a message over the 1048576 byte limit" \
  "$T/qmd.log" || true)
[[ "$warnings" == 1 ]] || fail "expected one over-size warning, got $warnings: $(grep -F 'byte limit' "$T/qmd.log" | cut -c1-300)"
[[ "$(events_of AgentMisbehaved | wc -l)" == 1 ]] || fail "more than one AgentMisbehaved event"
# No event and no log line carries the guest's megabytes.
longest=$(qm -o json events "$vm" | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }')
((longest < 4096)) || fail "an event line of $longest bytes"
log_bytes=$(stat -c %s "$T/qmd.log")
((log_bytes < 1048576)) || fail "qmd.log grew to $log_bytes bytes"

peak=$(qmd_kib VmHWM)
log "qmd peak RSS ${peak} KiB (${base_rss} KiB before the attack)"
((peak - base_rss < 65536)) || fail "qmd's peak RSS rose by $((peak - base_rss)) KiB (> 64 MiB)"

log "the VM stays manageable"
expect_status 200 GET "/v1/vms/$vm"
[[ "$(json_get 'd["state"]' <<<"$BODY")" == running ]] || fail "state: $BODY"
qm kill "$vm" >/dev/null || fail "qmctl kill"
wait_state "$vm" stopped 60
log "PASS"
