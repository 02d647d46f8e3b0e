#!/usr/bin/env bash
# readinessProbe and livenessProbe through the real guest agent: the VM is not ready until its
# exec probe passes, becomes not ready when it fails again; a liveness probe that fails
# failureThreshold times kills QEMU, runStrategy Always starts it again (a new QEMU, the
# guest back to its agent) and Manual leaves it crashed; lastError and the events say why.
# A probe qmd cannot run here (httpGet) is a 400 naming the field.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=pr1
file=$(spec "$vm" Always)
probes='      readinessProbe:
        exec: {command: [/bin/sh, -c, "test -e /run/ready"]}
        periodSeconds: 1
        timeoutSeconds: 20
        failureThreshold: 1
      livenessProbe:
        exec: {command: [/bin/sh, -c, "test ! -e /run/dead"]}
        periodSeconds: 2
        timeoutSeconds: 20
        failureThreshold: 2'
python3 - "$file" "$probes" <<'PY'
import sys
path, probes = sys.argv[1], sys.argv[2]
text = open(path).read()
anchor = "      terminationGracePeriodSeconds: 30\n"
assert anchor in text
open(path, "w").write(text.replace(anchor, anchor + probes + "\n", 1))
PY
events() { curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=$vm"; }
event_count() {  # event_count TYPE: how many events of TYPE the VM has had
  local all
  all=$(events)
  grep -c "\"type\":\"$1\"" <<<"$all" || true
}
ready_is() { [[ "$(show_field "$vm" 'd["ready"]')" == "$1" ]]; }
probe_field() { show_field "$vm" "d[\"probes\"][\"$1\"][\"$2\"]"; }
readiness_ran() { (($(probe_field readiness runs) >= 1)); }

log "a probe that needs the guest's network is refused"
bad=$T/bad.yaml
sed 's#exec: {command: \[/bin/sh, -c, "test -e /run/ready"\]}#httpGet: {port: 80}#' \
  "$file" >"$bad"
expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$bad"
grep_q -F 'spec.template.spec.readinessProbe.httpGet: needs the guest reachable' <<<"$BODY" ||
  fail "httpGet probe: $BODY"
expect_status 404 GET "/v1/vms/$vm"

log "not ready until the readiness command passes"
expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
expect_status 200 POST "/v1/vms/$vm/start"
wait_agent "$vm" 180
wait_for 120 "a readiness probe run" readiness_ran
ready_is false || fail "ready before its probe passed: $(qm -o json show $vm)"
probe_field readiness lastResult | grep_q -F '/bin/sh exited with 1' ||
  fail "readiness result: $(probe_field readiness lastResult)"
qm exec "$vm" -- /bin/touch /run/ready >/dev/null || fail "touch /run/ready"
wait_for 120 "$vm to be ready" ready_is true
ready_events=$(event_count Ready)
((ready_events == 1)) || fail "Ready events: $ready_events"
qm exec "$vm" -- /bin/rm /run/ready >/dev/null || fail "rm /run/ready"
wait_for 120 "$vm to be not ready" ready_is false
events | grep_q -F 'the readiness probe failed 1 times in a row: /bin/sh exited with 1' ||
  fail "no NotReady event: $(events)"

log "liveness fails: killed, and runStrategy Always starts it again"
pid=$(vm_pid "$vm")
qm exec "$vm" -- /bin/touch /run/dead >/dev/null || fail "touch /run/dead"
restarted() { [[ "$(vm_state $vm)" == running && "$(vm_pid $vm)" != "$pid" ]]; }
wait_for 180 "$vm restarted after its liveness probe failed" restarted
all=$(events)
grep_q -F 'the liveness probe failed 2 times in a row (every 2 s): /bin/sh exited with 1; killing QEMU (runStrategy Always' <<<"$all" ||
  fail "no LivenessProbeFailed event: $all"
grep_q -F '"type":"Restarting"' <<<"$all" || fail "no Restarting event: $all"
alive "$pid" && fail "the old QEMU $pid still runs"
wait_agent "$vm" 180  # the new guest booted; /run is a fresh tmpfs, so it is alive

log "runStrategy Manual: a failed liveness probe leaves it crashed"
sed -i 's/^  runStrategy: Always$/  runStrategy: Manual/' "$file"
expect_status 200 PUT "/v1/vms/$vm" -H 'Content-Type: application/yaml' --data-binary "@$file"
restarts=$(event_count Restarting)
qm exec "$vm" -- /bin/touch /run/dead >/dev/null || fail "touch /run/dead (second run)"
wait_state "$vm" crashed 180
show_field "$vm" 'd["lastError"]' | grep_q -F \
  'the liveness probe failed 2 times in a row (every 2 s): /bin/sh exited with 1: QEMU' ||
  fail "lastError: $(show_field $vm 'd["lastError"]')"
# The restart decision is made as the state changes, before anything can wait.
(($(event_count Restarting) == restarts)) || fail "Manual restarted: $(events)"
ready_is false || fail "a crashed VM reads ready"
expect_status 200 DELETE "/v1/vms/$vm?force=true"
log "PASS probes"
