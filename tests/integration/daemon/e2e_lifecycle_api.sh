#!/usr/bin/env bash
# The same lifecycle through the HTTP API alone (curl --unix-socket), checking each status:
# 201 create, 200 for every action, 409 for an action the state forbids and for deleting a
# running VM without ?force, 404 for an unknown VM; the event stream in order; nothing left
# after DELETE ?force=true.
source "$(dirname "$0")/lib.sh"
e2e_setup

vm=api1
file=$(spec "$vm" Manual)
run_dir=$T/run/vms/$vm
state_of() { json_get 'd["state"]' <<<"$BODY"; }

# The live stream over plain HTTP.
curl -sS -N --max-time 600 --unix-socket "$SOCK" "http://qmd/v1/events?vm=$vm&follow=true" \
  >"$T/follow.ndjson" 2>/dev/null &
EXTRA_PIDS+=("$!")

expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
[[ "$(state_of)" == stopped ]] || fail "created VM is $(state_of)"
expect_status 409 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
[[ "$(json_get 'd["error"]["code"]' <<<"$BODY")" == Conflict ]] || fail "duplicate: $BODY"
expect_status 409 POST "/v1/vms/$vm/pause"
[[ "$(json_get 'd["error"]["code"]' <<<"$BODY")" == Conflict ]] || fail "pause stopped: $BODY"
expect_status 409 POST "/v1/vms/$vm/resume"
expect_status 404 POST /v1/vms/nosuchvm/start
[[ "$(json_get 'd["error"]["code"]' <<<"$BODY")" == NotFound ]] || fail "unknown: $BODY"
expect_status 404 GET /v1/vms/nosuchvm
expect_status 404 DELETE /v1/vms/nosuchvm

expect_status 200 POST "/v1/vms/$vm/start"
[[ "$(state_of)" == running ]] || fail "start answered state $(state_of)"
pid=$(json_get 'd["pid"]' <<<"$BODY")
alive $pid || fail "no QEMU $pid"
[[ "$(proc_status "$pid" Seccomp)" == 2 && "$(proc_status "$pid" NoNewPrivs)" == 1 ]] ||
  fail "QEMU $pid not under seccomp + no_new_privs"
expect_status 409 POST "/v1/vms/$vm/start"

agent_up_api() {
  api GET "/v1/vms/$vm"
  [[ "$STATUS" == 200 && "$(json_get 'd["agent"]["connected"]' <<<"$BODY")" == true ]]
}
wait_for 90 "the guest agent" agent_up_api

expect_status 200 GET /v1/vms
[[ "$(json_get '[v["name"] + ":" + v["state"] for v in d["vms"]]' <<<"$BODY")" == \
  '["api1:running"]' ]] || fail "list: $BODY"
expect_status 200 GET /v1/host
expect_status 200 GET "/v1/vms/$vm/argv"
json_get 'd["argv"]' <<<"$BODY" | grep_q '"-sandbox"' || fail "argv without -sandbox"

expect_status 200 POST "/v1/vms/$vm/pause"
[[ "$(state_of)" == paused ]] || fail "pause answered $(state_of)"
expect_status 200 POST "/v1/vms/$vm/resume"
[[ "$(state_of)" == running ]] || fail "resume answered $(state_of)"
reset_at=$(utc_now)
expect_status 200 POST "/v1/vms/$vm/reset"
[[ "$(state_of)" == running ]] || fail "reset answered $(state_of)"
# After a hard reset the guest boots again; its agent answers before the graceful stop.
expect_status 409 DELETE "/v1/vms/$vm"
[[ "$(json_get 'd["error"]["code"]' <<<"$BODY")" == Conflict ]] || fail "delete running: $BODY"
expect_status 400 POST "/v1/vms/$vm/stop?grace=soon"

log "graceful stop"
# The rebooted guest's agent: a ping answered after the reset, not the flag from before it.
agent_back_api() {
  agent_up_api && [[ "$(json_get 'd["agent"].get("lastSeen", "")' <<<"$BODY")" > "$reset_at" ]]
}
wait_for 90 "the guest agent after reset" agent_back_api
expect_status 200 POST "/v1/vms/$vm/stop?grace=60"
[[ "$(state_of)" == stopped ]] || fail "stop answered $(state_of)"
! alive $pid || fail "QEMU alive after stop"
curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=$vm" >"$T/history.ndjson"
grep -q '"type":"StopEscalated"' "$T/history.ndjson" && fail "stop had to escalate"

expect_status 200 POST "/v1/vms/$vm/start"
pid2=$(json_get 'd["pid"]' <<<"$BODY")
[[ "$pid2" != "$pid" ]] && alive $pid2 || fail "restart: pid $pid2"
expect_status 200 POST "/v1/vms/$vm/kill"
[[ "$(state_of)" == stopped ]] || fail "kill answered $(state_of)"
expect_status 200 POST "/v1/vms/$vm/start"
pid3=$(json_get 'd["pid"]' <<<"$BODY")

expect_status 200 GET "/v1/vms/$vm/logs"
grep -q -- "--- qmd: start $vm" <<<"$BODY" || fail "logs without the start header"

log "delete ?force=true of a running VM"
expect_status 200 DELETE "/v1/vms/$vm?force=true"
[[ "$(json_get 'd["deleted"]' <<<"$BODY")" == "$vm" ]] || fail "delete answered $BODY"
! alive $pid3 || fail "QEMU $pid3 alive after forced delete"
expect_status 404 GET "/v1/vms/$vm"
[[ -z "$(procs_of_vm $vm)" ]] || fail "processes left: $(procs_of_vm $vm)"
if [[ -d "$run_dir" ]]; then
  [[ -z "$(find "$run_dir" -type s)" ]] || fail "sockets left in $run_dir"
fi

want=$'starting\nrunning\npaused\nrunning\nshuttingdown\nstopped\nstarting\nrunning\nstopped\nstarting\nrunning\nstopped'
changes() {
  python3 -c '
import json, sys
for e in map(json.loads, filter(str.strip, open(sys.argv[1]))):
    if e["type"] == "StateChanged": print(e["state"])' "$1"
}
deleted_seen() { grep -q '"type":"Deleted"' "$T/follow.ndjson"; }
wait_for 10 "Deleted on the live stream" deleted_seen
got=$(changes "$T/follow.ndjson")
[[ "$got" == "$want" ]] || fail "live StateChanged:"$'\n'"$got"$'\n'"expected:"$'\n'"$want"
grep -q '"type":"Reset"' "$T/follow.ndjson" || fail "no Reset event"
echo "PASS lifecycle-api"
