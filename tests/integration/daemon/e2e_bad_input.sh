#!/usr/bin/env bash
# Bad input gets the right 4xx with a clear error body, the daemon keeps serving, and no
# definition changes: malformed YAML and JSON, unknown fields (400 BadSpec with line:column),
# a rename through PUT, unknown VMs (404), actions the state forbids (409), an unknown method
# (405), an oversized body (413) and header (431), a malformed request line (400), and a
# connection that sends half a request and stalls (closed after the read timeout while other
# requests are served).
source "$(dirname "$0")/lib.sh"
e2e_setup

error_code() { json_get 'd["error"]["code"]' <<<"$BODY"; }
error_message() { json_get 'd["error"]["message"]' <<<"$BODY"; }
# expect_error STATUS CODE METHOD PATH [curl args]
expect_error() {
  local status=$1 code=$2
  shift 2
  expect_status "$status" "$@"
  [[ "$(error_code)" == "$code" ]] || fail "$1 $2: error code '$(error_code)', expected $code: $BODY"
  [[ -n "$(error_message)" ]] || fail "$1 $2: no error message: $BODY"
}
yaml=(-H 'Content-Type: application/yaml')
json=(-H 'Content-Type: application/json')

# Two definitions that must come out of all this unchanged; one of them running.
qm create -f "$(spec keep1 Manual firmware)" >/dev/null || fail "create keep1"
qm create -f "$(spec keep2 Manual firmware)" >/dev/null || fail "create keep2"
qm start keep2 >/dev/null || fail "start keep2"
keep2_pid=$(vm_pid keep2)

# The stalled connection runs through everything below: qmd must serve the rest meanwhile.
python3 - "$SOCK" "$T/stall.sent" >"$T/stall.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /v1/vms HTTP/1.1\r\nHost: x\r\n")  # no blank line: the request never ends
open(sys.argv[2], "w").close()
t0 = time.monotonic()
s.settimeout(60)
got = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
except socket.timeout:
    print("STILL-OPEN after 60 s")
    sys.exit(1)
print("closed after %.1f s" % (time.monotonic() - t0))
print(got.decode(errors="replace").split("\r\n")[0])
EOF
stall_pid=$!
t_stall=$(now_ms)
# It must not hold anything up: requests are served at once while it hangs.
wait_for 10 "the stalled request's first bytes to be sent" test -e "$T/stall.sent"
for i in 1 2 3; do
  expect_status 200 GET /v1/vms
  expect_status 200 GET /v1/vms/keep2
done
kill -0 "$stall_pid" 2>/dev/null || fail "the stalled connection ended at once: $(cat "$T/stall.out")"

log "malformed YAML and JSON"
expect_error 400 BadSpec POST /v1/vms "${yaml[@]}" --data-binary $'metadata: {name: x\nspec: [\n'
expect_error 400 BadSpec POST /v1/vms "${json[@]}" --data-binary '{"apiVersion": "kubevirt.io/v1", "kind": '
expect_error 400 BadSpec POST /v1/vms "${json[@]}" --data-binary '{"metadata": {"name": "j1"},,}'
expect_error 400 BadSpec POST /v1/vms "${yaml[@]}" --data-binary ''
expect_error 400 BadSpec POST /v1/vms "${yaml[@]}" --data-binary '42'

log "unknown field: named, with line:column"
sed 's/cores: 1/cores: 1, coers: 2/' "$T/keep1.yaml" | sed 's/name: keep1/name: new1/' >"$T/typo.yaml"
expect_error 400 BadSpec POST /v1/vms "${yaml[@]}" --data-binary "@$T/typo.yaml"
msg=$(error_message)
[[ "$msg" == *coers* ]] || fail "the message does not name the field: $msg"
[[ "$msg" =~ [0-9]+:[0-9]+ ]] || fail "the message has no line:column: $msg"
line=$(grep -n coers "$T/typo.yaml" | cut -d: -f1)
[[ "$msg" == *":$line:"* && "$(json_get 'd["error"]["details"][0]["line"]' <<<"$BODY")" == "$line" ]] ||
  fail "the unknown field is on line $line: $BODY"
python3 - "$T/typo.yaml" >"$T/typo.json" <<'EOF'
import sys
# The same spec as JSON, with the unknown field: JSON input gets the same check.
print('{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "new2"},'
      ' "spec": {"runStrategy": "Manual", "template": {"spec": {"domain": {"cpu": {"cores": 1},'
      ' "memory": {"guest": "64Mi"}, "devices": {"bogus": true}}}}}}')
EOF
expect_error 400 BadSpec POST /v1/vms "${json[@]}" --data-binary "@$T/typo.json"
[[ "$(error_message)" == *bogus* ]] || fail "JSON unknown field not named: $BODY"

log "PUT of a bad spec, of a rename: refused, nothing changes"
expect_error 400 BadSpec PUT /v1/vms/keep1 "${yaml[@]}" --data-binary "@$T/typo.yaml"
expect_error 400 BadSpec PUT /v1/vms/keep1 "${yaml[@]}" --data-binary $'spec: [\n'
sed 's/name: keep1/name: renamed/' "$T/keep1.yaml" >"$T/rename.yaml"
expect_error 400 BadRequest PUT /v1/vms/keep1 "${yaml[@]}" --data-binary "@$T/rename.yaml"
expect_error 409 Conflict POST /v1/vms "${yaml[@]}" --data-binary "@$T/keep1.yaml"

log "unknown VM"
for req in "GET /v1/vms/nope" "DELETE /v1/vms/nope" "POST /v1/vms/nope/start" \
  "POST /v1/vms/nope/stop" "POST /v1/vms/nope/kill" "POST /v1/vms/nope/pause" \
  "GET /v1/vms/nope/argv" "GET /v1/vms/nope/logs" "GET /v1/vms/nope/console"; do
  expect_error 404 NotFound $req
done
expect_error 404 NotFound PUT /v1/vms/nope "${yaml[@]}" --data-binary "@$T/keep1.yaml"
api GET /v1/nothing-here
[[ "$STATUS" == 404 ]] || fail "unknown path: $STATUS"

log "wrong state"
for action in pause resume reset reboot; do
  expect_error 409 Conflict POST "/v1/vms/keep1/$action"
done
expect_error 409 Conflict POST /v1/vms/keep2/start
expect_error 409 Conflict DELETE /v1/vms/keep2
expect_error 400 BadRequest POST "/v1/vms/keep2/stop?grace=-1"

log "method, sizes, malformed HTTP"
api PATCH /v1/vms/keep1
[[ "$STATUS" == 405 ]] || fail "PATCH: $STATUS $BODY"
api DELETE /v1/vms
[[ "$STATUS" == 405 ]] || fail "DELETE /v1/vms: $STATUS $BODY"
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big.yaml"
expect_error 413 TooLarge POST /v1/vms "${yaml[@]}" --data-binary "@$T/big.yaml"
expect_error 413 TooLarge PUT /v1/vms/keep1 "${yaml[@]}" --data-binary "@$T/big.yaml"
expect_error 431 TooLarge GET /v1/vms -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'b')"
raw=$(python3 - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
EOF
)
[[ "$raw" == "HTTP/1.1 400"* ]] || fail "a malformed request line got: $raw"

log "the stalled connection"
stall_done() { ! kill -0 "$stall_pid" 2>/dev/null; }
wait_for 40 "qmd to close the stalled connection" stall_done
wait "$stall_pid" || fail "stalled connection: $(cat "$T/stall.out")"
log "stalled connection: $(tr '\n' ' ' <"$T/stall.out")"
grep -q '^HTTP/1.1 408' "$T/stall.out" || fail "the stalled connection got no 408: $(cat "$T/stall.out")"
(($(now_ms) - t_stall >= 5000)) || fail "the stalled connection was closed before any read timeout"

log "nothing changed"
expect_status 200 GET /v1/vms
[[ "$(json_get 'sorted(v["name"] for v in d["vms"])' <<<"$BODY")" == '["keep1", "keep2"]' ]] ||
  fail "the VMs are now: $BODY"
for vm in keep1 keep2; do
  expect_status 200 GET "/v1/vms/$vm"
  python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["specText"] != open(sys.argv[1]).read())' \
    "$T/$vm.yaml" <<<"$BODY" || fail "the spec of $vm changed: $BODY"
  cmp -s "$T/$vm.yaml" "$T/state/vms/$vm/spec.yaml" || fail "the stored spec of $vm changed"
done
[[ "$(vm_state keep2)" == running && "$(vm_pid keep2)" == "$keep2_pid" ]] || fail "keep2 disturbed"
[[ "$(vm_state keep1)" == stopped ]] || fail "keep1 is $(vm_state keep1)"
[[ ! -e "$T/state/vms/new1" && ! -e "$T/state/vms/renamed" ]] || fail "a refused VM was stored"
qm kill keep2 >/dev/null || fail "kill keep2"
echo "PASS bad-input"
