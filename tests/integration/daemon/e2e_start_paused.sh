#!/usr/bin/env bash
# startStrategy: Paused through the API: start answers paused; QEMU itself agrees (a qmd
# started again adopts the VM from QMP's query-status, which is still prelaunch: the vCPUs
# never ran); qmctl resume runs it and the guest boots to its agent; the next start is paused
# again. A bad startStrategy is a 400 naming the field and its position.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=sp1
file=$(spec "$vm" Manual)
sed -i 's/^      terminationGracePeriodSeconds: 30$/      startStrategy: Paused\n&/' "$file"
grep_q '^      startStrategy: Paused$' "$file" || fail "spec without startStrategy: $(cat "$file")"
state_of() { json_get 'd["state"]' <<<"$BODY"; }

bad=$T/bad.yaml
sed 's/startStrategy: Paused/startStrategy: Running/' "$file" >"$bad"
expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$bad"
json_get 'd["error"]["message"]' <<<"$BODY" | grep_q -F \
  'spec.template.spec.startStrategy: "Running" is not a start strategy' ||
  fail "bad startStrategy: $BODY"
expect_status 404 GET "/v1/vms/$vm"

expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
expect_status 200 POST "/v1/vms/$vm/start"
[[ "$(state_of)" == paused ]] || fail "start answered state $(state_of): $BODY"
pid=$(json_get 'd["pid"]' <<<"$BODY")
alive "$pid" || fail "no QEMU $pid"
[[ "$(vm_state $vm)" == paused ]] || fail "qmctl show says $(vm_state $vm)"

log "SIGKILL qmd; the next one asks QEMU"
kill_qmd
start_qmd
expect_status 200 GET "/v1/vms/$vm"
[[ "$(state_of)" == paused && "$(json_get 'd["pid"]' <<<"$BODY")" == "$pid" ]] ||
  fail "after restart: $BODY"
curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=$vm" |
  grep_q -F "adopted QEMU pid $pid (prelaunch)" || fail "QMP did not report prelaunch"

qm resume "$vm" >/dev/null || fail "qmctl resume"
wait_state "$vm" running 30
wait_agent "$vm" 120  # the guest really runs: it booted to its agent

qm kill "$vm" >/dev/null || fail "kill $vm"
wait_state "$vm" stopped 60
expect_status 200 POST "/v1/vms/$vm/start"
[[ "$(state_of)" == paused ]] || fail "second start answered $(state_of)"
expect_status 200 DELETE "/v1/vms/$vm?force=true"
log "PASS start paused"
