# Sourced by the migration tests after lib.sh and e2e_setup: a second qmd ("B") beside
# lib.sh's ("A") on this machine, with its own state and run dirs and socket under $T. The
# EXIT trap kills B's QEMUs with A's; B itself goes by a hook, and on a failure its log and
# its VMs' QEMU logs are shown too.
SOCK_A=$SOCK
SOCK_B=$T/b-run/qmd.sock
QMD_B_PID=
QMD_B_ARGS=()  # extra qmd flags for B (e.g. --config) a test sets before start_qmd_b
EXIT_HOOKS+=('[[ -n "$QMD_B_PID" ]] && kill -KILL "$QMD_B_PID" 2>/dev/null')
# rc is e2e_cleanup's exit status.
EXIT_HOOKS+=('[[ "${rc:-0}" != 0 && -f "$T/qmd-b.log" ]] && { echo "--- qmd B log (last 40 lines) ---";
  tail -n 40 "$T/qmd-b.log"; tail -n 15 "$T"/b-state/vms/*/qemu.log 2>/dev/null; } >&2')

# Starts B (again, after a test killed it) and waits until it answers.
start_qmd_b() {
  local args=(--state-dir "$T/b-state" --run-dir "$T/b-run" --storage-root "$S" --emulation
    --log-level debug)
  [[ $(id -u) -eq 0 ]] && args+=(--qemu-user "$QEMU_USER" --qemu-uids "$(qmd_uids 1)")
  # As on A: user-mode networking, never a NAT bridge on the host's own network.
  args+=(--masquerade "${QMD_MASQUERADE:-user}")
  "$QMD_BIN" "${args[@]}" "${QMD_B_ARGS[@]}" >>"$T/qmd-b.log" 2>&1 &
  QMD_B_PID=$!
  wait_for 20 "qmd B to answer" curl -sf --max-time 2 --unix-socket "$SOCK_B" \
    http://qmd/v1/host -o /dev/null
}
on_b() { SOCK=$SOCK_B "$@"; }            # on_b FUNCTION ARGS: lib.sh's helpers against B
qm_b() { "$QMCTL_BIN" -s "$SOCK_B" "$@"; }
# guest_exec SOCKET CMD: the stdout of CMD in $vm's guest, through that qmd's agent.
guest_exec() { "$QMCTL_BIN" -s "$1" exec "$vm" -- /bin/sh -c "$2"; }

# migrate DEST [',"option":value...']: POST migrate for $vm on $SOCK (A; `on_b migrate` for
# B); sets OP, and OP_SOCK (the socket that has OP; else $SOCK) for the helpers below.
migrate() {
  local dest=$1 extra=${2:-}
  OP_SOCK=$SOCK
  expect_status 202 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
    -d "{\"destination\":\"$dest\"$extra}"
  OP=$(json_get 'd["id"]' <<<"$BODY")
}
op_field() { SOCK=${OP_SOCK:-$SOCK} api GET "/v1/operations/$OP"; json_get "$1" <<<"$BODY"; }
op_done() { [[ "$(op_field 'd["status"]')" != running ]]; }
# The migration runs and has sent its first bytes: mid-way, where a test breaks it.
op_sending() {
  [[ "$(op_field '[d["status"], d.get("progress", {}).get("bytesSent", 0) > 0]')" == \
    '["running", true]' ]]
}
wait_sending() { wait_for "$1" "operation $OP to send its first bytes" op_sending; }
wait_op() {  # wait_op SECONDS WANT: BODY is then the finished operation
  wait_for "$1" "operation $OP to end" op_done
  SOCK=${OP_SOCK:-$SOCK} api GET "/v1/operations/$OP"
  [[ "$(json_get 'd["status"]' <<<"$BODY")" == "$2" ]] || fail "operation $OP: expected $2: $BODY"
}
procs_of_vm_b() {  # QEMU and swtpm of $vm under B's run dir
  local pid cmd
  for pid in $(procs_of_tmp); do
    cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
    [[ "$cmd" == *"$T/b-run/vms/$vm/"* ]] && echo "$pid"
  done
  return 0
}
nothing_on_b() {  # B has neither a definition nor a process of $vm
  on_b api GET "/v1/vms/$vm"
  [[ "$STATUS" == 404 && -z "$(procs_of_vm_b)" ]]
}

# boot_vm [IMAGE SIZE]: defines $vm from lib.sh's spec (into $file) and starts it on A until
# its agent answers; with IMAGE, the VM also gets a raw virtio disk "data" on that local file
# of SIZE (truncate's units).
boot_vm() {
  file=$(spec "$vm" Manual)
  if [[ $# -ge 2 ]]; then
    truncate -s "$2" "$1"
    chmod 0666 "$1"  # the QEMU user (nobody when root) opens it itself
    sed -i \
      -e 's/^          interfaces: \[\]/&\n          disks: [{name: data, disk: {bus: virtio}}]/' \
      -e "s|^      networks: \[\]|&\n      volumes: [{name: data, file: {path: $1, format: raw}}]|" \
      "$file"
    grep_q "$1" "$file" || fail "spec edit did not apply"
  fi
  qm create -f "$file" >/dev/null || fail "qmctl create"
  qm start "$vm" >/dev/null || fail "qmctl start"
  wait_agent "$vm" 120
}
uptime_s() { guest_exec "$1" 'cut -d. -f1 /proc/uptime'; }  # uptime_s SOCKET: whole seconds

# A plain member of qmd's API group (tests of what the group may not do): MEMBER runs a
# command as it. B must run with --group "$MEMBER_GROUP" to let it in at all.
MEMBER_GROUP=qmde2e
MEMBER_USER=qmde2e-member
make_member() {
  groupadd -f "$MEMBER_GROUP"
  id "$MEMBER_USER" >/dev/null 2>&1 ||
    useradd -r -g "$MEMBER_GROUP" -M -s /usr/sbin/nologin "$MEMBER_USER"
}
as_member() { setpriv --reuid "$MEMBER_USER" --regid "$MEMBER_GROUP" --clear-groups "$@"; }

# fake_listener SOCKET LOG [USER]: a Unix socket that is not a qmd (as USER, default root):
# every connection's bytes go to LOG, each answered with a 200 that is not qmd's host
# document. FAKE_PID is its pid; the EXIT trap ends it.
fake_listener() {
  local sock=$1 out=$2 user=${3:-root}
  : >"$out"
  chown "$user" "$out"
  setpriv --reuid "$user" --regid "$(id -g "$user")" --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk: break
            data += chunk
    except OSError:
        pass
    with open(sys.argv[2], "ab") as f: f.write(b"<<connection>>" + data)
    try: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"hello\":\"me\"}\n")
    except OSError: pass
    c.close()
' "$sock" "$out" &
  FAKE_PID=$!
  EXIT_HOOKS+=("kill -KILL $FAKE_PID 2>/dev/null")
  wait_for 10 "the fake listener on $sock" test -S "$sock"
}
