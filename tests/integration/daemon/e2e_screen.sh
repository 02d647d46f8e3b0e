#!/usr/bin/env bash
# The VM's screen through qmd: qmctl vnc relays a real RFB session (TCP, a Unix socket and
# WebSocket) whose ServerInit has the display's size and whose framebuffer has pixels; a
# PNG screenshot decodes with the same size and changes when the guest writes to its screen;
# send-keys types into the guest's tty. Attacks: a user outside qmd's group gets 403 from
# the relay route and no RFB from qmctl's listener; viewers beyond the cap are refused and
# every session's sockets go when either end does; malformed and oversized send-keys are
# 400 and send nothing. One scenario per function; each prints PASS or FAIL.
source "$(dirname "$0")/lib.sh"

CLIENT=$QMD_SOURCE_DIR/tests/integration/daemon/vnc_client.py
ROOT=0
[[ $(id -u) -eq 0 ]] && ROOT=1
GROUP=qmde2e
OUTSIDER=qmde2e-outsider
if ((ROOT)); then
  groupadd -f "$GROUP"
  groupadd -f qmde2e-other
  id "$OUTSIDER" >/dev/null 2>&1 || useradd -r -g qmde2e-other -M -s /usr/sbin/nologin "$OUTSIDER"
  QMD_ARGS=(--group "$GROUP")
fi
e2e_setup
install -m 0755 "$CLIENT" "$T/vnc_client.py"  # the checkout may be closed to other users
CLIENT=$T/vnc_client.py

# A VM booting the test guest with a VGA display.
screen_spec() {
  local file
  file=$(spec "$1")
  sed -i 's/autoattachGraphicsDevice: false/autoattachGraphicsDevice: true/' "$file"
  echo "$file"
}

# png_info FILE: "WIDTHxHEIGHT DISTINCT" (the number of distinct pixel rows), or fails.
png_info() {
  python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, color = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and color == 2, f"depth {depth} color {color}"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = 1 + 3 * width
assert len(raw) == stride * height, "short image data"
rows = {raw[i * stride + 1:(i + 1) * stride] for i in range(height)}
print(f"{width}x{height} {len(rows)}")
PY
}

# Starts `qmctl vnc VM ARGS... -o json --once` in the background; sets RELAY_PID and RELAY
# (its JSON line).
RELAY_PID=
RELAY=
start_relay() {
  local out=$T/relay.$RANDOM
  "$QMCTL_BIN" -s "$SOCK" -o json vnc "$@" --once >"$out" 2>"$out.err" &
  RELAY_PID=$!
  EXTRA_PIDS+=("$RELAY_PID")
  wait_for 10 "qmctl vnc to listen" test -s "$out"
  RELAY=$(head -n 1 "$out")
}
relay_field() { json_get "d[\"$1\"]" <<<"$RELAY"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
outsider() { setpriv --reuid "$OUTSIDER" --regid qmde2e-other --clear-groups "$@"; }
qmd_fds() { ls "/proc/$QMD_PID/fd" | wc -l; }
fds_at_most() { (($(qmd_fds) <= $1)); }

scenario_screenshot_and_vnc_agree() {
  qm create -f "$(screen_spec scr1)" >/dev/null || fail "create scr1"
  qm start scr1 >/dev/null || fail "start scr1"
  wait_agent scr1
  qm screenshot scr1 "$T/a.png" >/dev/null || fail "screenshot"
  local png
  png=$(png_info "$T/a.png") || fail "the screenshot is no 8-bit RGB PNG"
  log "screenshot: $png"
  start_relay scr1
  local port init
  port=$(relay_field port)
  [[ "$(relay_field address)" == 127.0.0.1 ]] || fail "relay address: $RELAY"
  init=$(python3 "$CLIENT" tcp 127.0.0.1 "$port" --update) || fail "RFB over qmctl vnc failed"
  log "vnc: $init"
  [[ "${init%% *}" == "${png%% *}" ]] || fail "VNC says ${init%% *}, the PNG ${png%% *}"
  [[ "$init" == *" QEMU (scr1) "* ]] || fail "the desktop name is not the VM's: $init"
  local nonblack=${init#*nonblack=}
  nonblack=${nonblack%% *}
  ((nonblack > 0)) || fail "the framebuffer is all black: $init"
  wait_for 10 "qmctl vnc --once to end with its session" gone "$RELAY_PID"
  wait "$RELAY_PID" || fail "qmctl vnc exited with an error: $(cat "$T"/relay.*.err)"
}

scenario_screen_changes_with_the_guest() {
  qm exec scr1 -- sh -c 'test -c /dev/tty1' || fail "the guest has no /dev/tty1"
  qm screenshot scr1 "$T/before.png" >/dev/null || fail "screenshot before"
  qm exec scr1 -- sh -c 'printf "\033[2J\033[HQMD-SCREEN-MARKER %s\n" 1 2 3 4 5 6 7 8 >/dev/tty1' \
    >/dev/null || fail "writing to tty1"
  qm screenshot scr1 "$T/after.png" >/dev/null || fail "screenshot after"
  cmp -s "$T/before.png" "$T/after.png" && fail "the screen did not change"
  local after
  after=$(png_info "$T/after.png")
  ((${after##* } > 2)) || fail "the screen after the write is blank: $after"
  qm screenshot scr1 - >"$T/stdout.png" || fail "screenshot to stdout"
  png_info "$T/stdout.png" >/dev/null || fail "the screenshot on stdout is no PNG"
}

scenario_send_keys_reach_the_guest_tty() {
  # tty1 held open (so it echoes what is typed) and cleared; the guest's screen text
  # (/dev/vcs1) then shows the keys as the VT's keyboard handler took them.
  qm exec scr1 -- sh -c '(sleep 600 </dev/tty1 >/dev/null 2>&1 &); printf "\033[2J\033[H" >/dev/tty1' \
    >/dev/null || fail "holding tty1 open"
  qm send-keys scr1 q shift-m d >/dev/null || fail "send-keys"
  keys_shown() { [[ "$(qm exec scr1 -- head -c 3 /dev/vcs1 2>/dev/null)" == "qMd" ]]; }
  wait_for 30 "the guest's screen to show qMd" keys_shown
  expect_status 200 POST /v1/vms/scr1/send-keys -H 'Content-Type: application/json' \
    -d '{"keys":["ctrl-alt-f2"],"holdMs":50}'
  api GET '/v1/events?vm=scr1'
  grep_q '"keys sent: q shift-m d"' <<<"$BODY" || fail "no KeysSent event: $BODY"
}

scenario_bad_send_keys_are_400_and_send_nothing() {
  api GET '/v1/events?vm=scr1'
  local before
  before=$(grep -c KeysSent <<<"$BODY")
  local many
  many=$(python3 -c 'import json; print(json.dumps({"keys": ["a"] * 65}))')
  local body
  for body in '{"keys":["ctrl-alt-dleete"]}' '{"keys":["a-b-c-d-e-f-g-h-i"]}' "$many" \
    '{"keys":[]}' '{"keys":"ctrl"}' '{"keys":["ret"],"holdMs":0}' \
    '{"keys":["ret"],"holdMs":999999}' '{"keys":["ret"],"extra":1}' '{"keys":["ctrl--x"]}' \
    "{\"keys\":[\"$(head -c 4000 /dev/zero | tr '\0' a)\"]}" 'not json'; do
    expect_status 400 POST /v1/vms/scr1/send-keys -H 'Content-Type: application/json' \
      -d "$body"
  done
  api POST /v1/vms/scr1/send-keys -H 'Content-Type: application/json' \
    -d '{"keys":["ctrl-alt-dleete"]}'
  grep_q '"dleete\\" is not a key' <<<"$BODY" || fail "the 400 does not name the key: $BODY"
  expect_status 413 POST /v1/vms/scr1/send-keys -H 'Content-Type: application/json' \
    --data-binary @<(python3 -c 'print("{\"keys\":[" + ",".join(["\"a\""] * 20000) + "]}")')
  qm send-keys scr1 ctrl-alt-dleete 2>"$T/err" && fail "qmctl send-keys took a bad key"
  grep_q 'dleete' "$T/err" || fail "qmctl does not name the bad key: $(cat "$T/err")"
  api GET '/v1/events?vm=scr1'
  [[ "$(grep -c KeysSent <<<"$BODY")" == "$before" ]] || fail "a refused send-keys sent keys"
}

scenario_unix_and_websocket_relays() {
  start_relay scr1 --unix "$T/scr1-vnc.sock"
  [[ "$(stat -c %a "$T/scr1-vnc.sock")" == 600 ]] || fail "the relay socket is not 0600"
  local init
  init=$(python3 "$CLIENT" unix "$T/scr1-vnc.sock") || fail "RFB over the unix relay"
  wait_for 10 "the unix relay to end" gone "$RELAY_PID"
  [[ -e "$T/scr1-vnc.sock" ]] && fail "the relay left its socket behind"
  start_relay scr1 --websocket
  local port path
  port=$(relay_field port)
  path=$(relay_field path)
  python3 "$CLIENT" ws 127.0.0.1 "$port" /wrong-path 2>"$T/err" &&
    fail "a WebSocket on a guessed path was accepted"
  grep_q '403' "$T/err" || fail "a wrong path was not refused with 403: $(cat "$T/err")"
  local ws
  ws=$(python3 "$CLIENT" ws 127.0.0.1 "$port" "$path" --update) || fail "RFB over WebSocket"
  [[ "${ws%% *}" == "${init%% *}" ]] || fail "WebSocket says ${ws%% *}, unix ${init%% *}"
  wait_for 10 "the WebSocket relay to end" gone "$RELAY_PID"
}

scenario_viewers_capped_and_nothing_left() {
  local idle
  idle=$(qmd_fds)
  local holders=() i
  for i in 1 2 3 4; do
    python3 - "$SOCK" "$T/held.$i" <<'PY' &
import socket, sys, os, time
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])
s.sendall(b"GET /v1/vms/scr1/vnc HTTP/1.1\r\nHost: qmd\r\nConnection: Upgrade\r\nUpgrade: qmd-vnc\r\n\r\n")
data = b""
while b"RFB 003" not in data:
    chunk = s.recv(4096)
    if not chunk: sys.exit(1)
    data += chunk
open(sys.argv[2], "w").write("held")
while os.path.exists(sys.argv[2]): time.sleep(0.1)
PY
    holders+=($!)
    EXTRA_PIDS+=($!)
  done
  for i in 1 2 3 4; do wait_for 20 "viewer $i" test -s "$T/held.$i"; done
  api GET /v1/vms/scr1/vnc -H 'Connection: Upgrade' -H 'Upgrade: qmd-vnc'
  [[ "$STATUS" == 409 ]] || fail "a fifth viewer got $STATUS: $BODY"
  grep_q '4 VNC viewers already' <<<"$BODY" || fail "the 409 does not say why: $BODY"
  rm -f "$T"/held.*
  for i in "${holders[@]}"; do wait "$i" || true; done
  wait_for 10 "qmd's fds back to $idle" fds_at_most "$idle"
  python3 "$CLIENT" qmd "$SOCK" scr1 >/dev/null || fail "no viewer after the others went"
  # The VM ends while a viewer is attached: the viewer is closed and qmd keeps no socket.
  python3 - "$SOCK" "$T/viewer.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(60); s.connect(sys.argv[1])
s.sendall(b"GET /v1/vms/scr1/vnc HTTP/1.1\r\nHost: qmd\r\nConnection: Upgrade\r\nUpgrade: qmd-vnc\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
    if b"RFB 003" in data: open(sys.argv[2], "w").write("rfb")
open(sys.argv[2], "a").write(" closed")
PY
  local viewer=$!
  EXTRA_PIDS+=("$viewer")
  wait_for 20 "the viewer's RFB greeting" test -s "$T/viewer.out"
  qm kill scr1 >/dev/null || fail "kill scr1"
  wait_for 20 "the viewer to be closed" grep_q closed "$T/viewer.out"
  wait_for 10 "qmd's fds back to $idle" fds_at_most "$idle"
  api GET /v1/vms/scr1/vnc -H 'Connection: Upgrade' -H 'Upgrade: qmd-vnc'
  [[ "$STATUS" == 409 ]] || fail "VNC of a stopped VM: $STATUS $BODY"
  expect_status 409 GET /v1/vms/scr1/screenshot
}

scenario_no_screen_no_relay() {
  qm create -f "$(spec plain)" >/dev/null || fail "create plain"
  qm start plain >/dev/null || fail "start plain"
  api GET /v1/vms/plain/vnc -H 'Connection: Upgrade' -H 'Upgrade: qmd-vnc'
  [[ "$STATUS" == 409 ]] && grep_q 'autoattachGraphicsDevice: false' <<<"$BODY" ||
    fail "VNC of a VM without graphics: $STATUS $BODY"
  qm screenshot plain "$T/none.png" 2>"$T/err" && fail "a screenshot without a screen"
  grep_q 'has no screen' "$T/err" || fail "qmctl screenshot: $(cat "$T/err")"
  expect_status 400 GET /v1/vms/plain/vnc
  expect_status 404 GET /v1/vms/nope/screenshot
  qm kill plain >/dev/null
}

scenario_outsiders_get_nothing() {
  ((ROOT)) || { log "not root: no outsider to try"; return 0; }
  qm start scr1 >/dev/null || fail "start scr1 again"
  # The socket's mode keeps an outsider out; were it open to all, qmd's peer check would
  # (it answers 403 and closes at once, so a client that is still writing may see a reset).
  local out
  out=$(outsider curl -s --max-time 10 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' \
    -H 'Connection: Upgrade' -H 'Upgrade: qmd-vnc' http://qmd/v1/vms/scr1/vnc) || true
  [[ "$out" == 000 ]] || fail "an outsider reached the API socket: $out"
  local mode
  mode=$(stat -c %a "$SOCK")
  chmod 0777 "$SOCK"
  outsider_refused() {
    local code
    code=$(outsider curl -s --max-time 10 --unix-socket "$SOCK" -o /dev/null \
      -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: qmd-vnc' \
      http://qmd/v1/vms/scr1/vnc) || true
    [[ "$code" != 101 ]] || fail "an outsider's VNC upgrade got 101"
    [[ "$code" == 403 ]]
  }
  wait_for 10 "a 403 for the outsider" outsider_refused
  outsider /usr/bin/python3 "$CLIENT" qmd "$SOCK" scr1 2>"$T/err" && fail "an outsider got RFB from qmd"
  chmod "$mode" "$SOCK"
  # qmctl vnc's TCP listener: another user's connection gets no RFB, the owner's does.
  start_relay scr1
  local port
  port=$(relay_field port)
  outsider /usr/bin/python3 "$CLIENT" tcp 127.0.0.1 "$port" 2>"$T/err" && fail "an outsider used the relay"
  grep_q 'closed' "$T/err" || fail "the outsider was not cut off: $(cat "$T/err")"
  python3 "$CLIENT" tcp 127.0.0.1 "$port" >/dev/null || fail "the owner could not use it"
  wait_for 10 "the relay to end" gone "$RELAY_PID"
  qm kill scr1 >/dev/null
}

run_scenarios screen scenario_screenshot_and_vnc_agree scenario_screen_changes_with_the_guest \
  scenario_send_keys_reach_the_guest_tty scenario_bad_send_keys_are_400_and_send_nothing \
  scenario_unix_and_websocket_relays scenario_viewers_capped_and_nothing_left \
  scenario_no_screen_no_relay scenario_outsiders_get_nothing
